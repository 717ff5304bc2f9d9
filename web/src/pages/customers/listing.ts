// What the contact and company lists share: URL parameters, sorts, and the API filter they make.
import type { CustomerFilter, CustomerSort } from '@/gql/graphql'

export const SORTS: CustomerSort[] = ['CREATED_AT_DESC', 'CREATED_AT_ASC', 'UPDATED_AT_DESC', 'NAME_ASC', 'NAME_DESC']

// The table's sortable columns and the API sort each stands for (useListPage).
export const SORTABLE = { name: 'NAME', createdAt: 'CREATED_AT' }

export const LIST_DEFAULTS = {
  q: '',
  owner: '',
  tag: '',
  cf: '', // a custom field's key, and the value it must hold (JSON): CustomFieldFilter
  cv: '',
  segment: '', // a segment's (or saved view's) id: its saved filter applies (pages/segments)
  level: '', // a customer level (A): classification
  status: 'active',
  from: '',
  to: '',
  sort: 'CREATED_AT_DESC',
  size: '20',
  after: '',
  page: '1',
}
export type ListParams = typeof LIST_DEFAULTS

/** Dates in the URL are the user's calendar days; the API takes instants. */
function startOfDay(day: string, plusDays = 0): string {
  const d = new Date(`${day}T00:00:00`)
  d.setDate(d.getDate() + plusDays)
  return d.toISOString()
}

function customValue(json: string): unknown {
  try {
    return JSON.parse(json)
  } catch {
    return json
  }
}

export function customerFilter(p: ListParams): CustomerFilter {
  return {
    search: p.q || null,
    ownerId: p.owner || null,
    tagIds: p.tag ? [p.tag] : null,
    customFields: p.cf && p.cv ? [{ key: p.cf, equals: customValue(p.cv) }] : null,
    levels: p.level ? [p.level] : null,
    segment: p.segment || null,
    createdAfter: p.from ? startOfDay(p.from) : null,
    createdBefore: p.to ? startOfDay(p.to, 1) : null,
    includeDeleted: p.status === 'all',
    deletedOnly: p.status === 'deleted',
  }
}
