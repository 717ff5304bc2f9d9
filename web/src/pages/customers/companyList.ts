// The company list's query and its variables, beside contactList.ts: outside the page, so that a
// prefetch (router `meta.prefetch`, boot.ts) can send it before the page's code has loaded.
import type { LocationQuery } from 'vue-router'
import { graphql } from '@/gql'
import type { CustomerSort } from '@/gql/graphql'
import { prefetch } from '@/api/prefetch'
import { readParams } from '@/routeParams'
import { LIST_DEFAULTS, customerFilter, type ListParams } from './listing'

export const CompanyListDocument = graphql(`
  query CompanyList($first: Int!, $after: String, $filter: CustomerFilter, $sort: CustomerSort!) {
    companies(first: $first, after: $after, filter: $filter, sort: $sort) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id name email phone industry domain createdAt updatedAt deletedAt
        owner { id name }
        phones { formatted primary }
        address { province city district }
      }
    }
  }
`)

export const COMPANY_LIST_DEFAULTS: ListParams = { ...LIST_DEFAULTS }

export function companyListVariables(p: ListParams) {
  return {
    first: Number(p.size),
    after: p.after || null,
    sort: p.sort as CustomerSort,
    filter: customerFilter(p),
  }
}

export function prefetchCompanyList(query: LocationQuery): void {
  prefetch(CompanyListDocument, companyListVariables(readParams(query, COMPANY_LIST_DEFAULTS)))
}
