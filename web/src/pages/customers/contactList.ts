// The contact list's query and its variables, outside the page so the router can send it while
// the page's code loads (`meta.prefetch`), and the page then takes that answer (useQuery).
import type { LocationQuery } from 'vue-router'
import { graphql } from '@/gql'
import type { CustomerSort } from '@/gql/graphql'
import { prefetch } from '@/api/prefetch'
import { readParams } from '@/routeParams'
import { LIST_DEFAULTS, customerFilter, type ListParams } from './listing'

export const ContactListDocument = graphql(`
  query ContactList($first: Int!, $after: String, $filter: CustomerFilter, $sort: CustomerSort!) {
    contacts(first: $first, after: $after, filter: $filter, sort: $sort) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id name email phone title createdAt updatedAt deletedAt
        company { id name }
        owner { id name }
        phones { formatted primary }
        address { province city district }
      }
    }
  }
`)

export const CONTACT_LIST_DEFAULTS = { ...LIST_DEFAULTS, company: '' }
export type ContactListParams = ListParams & { company: string }

export function contactListVariables(p: ContactListParams) {
  return {
    first: Number(p.size),
    after: p.after || null,
    sort: p.sort as CustomerSort,
    filter: { ...customerFilter(p), companyId: p.company || null },
  }
}

export function prefetchContactList(query: LocationQuery): void {
  prefetch(ContactListDocument, contactListVariables(readParams(query, CONTACT_LIST_DEFAULTS)))
}
