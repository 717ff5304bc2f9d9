// Segments and saved views: their GraphQL documents, and the translation between a list's URL
// parameters and the filter a segment or view saves (the list's own CustomerFilter input, as
// JSON: the API checks it against that input on save and reads it again on every use).
import { graphql } from '@/gql'
import type { CustomerFilter } from '@/gql/graphql'
import { customerFilter, type ListParams } from '@/pages/customers/listing'

export const SavedListDocument = graphql(`
  query SavedList($first: Int!, $after: String, $filter: SegmentFilter) {
    segments(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id kind entity name filter sort columns shared isDefault updatedAt author { id name } }
    }
  }
`)
export const SegmentCountsDocument = graphql(`
  query SegmentCounts($first: Int!, $after: String, $filter: SegmentFilter) {
    segments(first: $first, after: $after, filter: $filter) {
      nodes { id memberCount }
    }
  }
`)
export const SegmentNameDocument = graphql(`
  query SegmentName($id: ID!) { segment(id: $id) { id name kind } }
`)
export const CreateSegmentDocument = graphql(`
  mutation CreateSegment($input: SegmentInput!) { createSegment(input: $input) { id name } }
`)
export const UpdateSegmentDocument = graphql(`
  mutation UpdateSegment($id: ID!, $input: SegmentInput!) { updateSegment(id: $id, input: $input) { id name shared isDefault } }
`)
export const DeleteSegmentDocument = graphql(`
  mutation DeleteSegment($id: ID!) { deleteSegment(id: $id) { id deletedAt } }
`)
export const ExportSegmentDocument = graphql(`
  mutation ExportSegment($id: ID!) { exportSegment(id: $id) { filename rows csv } }
`)

/** The list's current conditions as a filter to save: only those set (no paging, no sort). */
export function savedFilter(p: ListParams): Record<string, unknown> {
  const all = customerFilter({ ...p, segment: '' }) as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(all)) {
    if (value === null || value === false || key === 'segment') continue
    out[key] = value
  }
  return out
}

function day(iso: unknown, minusDays = 0): string {
  if (typeof iso !== 'string') return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  d.setDate(d.getDate() - minusDays)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

/** A saved view's filter as the list's URL parameters (what the list's controls can show). */
export function viewParams(filter: CustomerFilter | Record<string, unknown>): Partial<ListParams> {
  const f = filter as Record<string, unknown>
  const first = <T>(v: unknown): T | undefined => (Array.isArray(v) ? (v[0] as T) : undefined)
  const condition = first<{ key?: string; equals?: unknown }>(f.customFields)
  return {
    q: typeof f.search === 'string' ? f.search : '',
    owner: typeof f.ownerId === 'string' ? f.ownerId : '',
    tag: first<string>(f.tagIds) ?? '',
    level: first<string>(f.levels) ?? '',
    cf: condition?.key ?? '',
    cv: condition && condition.equals !== undefined ? JSON.stringify(condition.equals) : '',
    from: day(f.createdAfter),
    to: day(f.createdBefore, 1),
    status: f.deletedOnly ? 'deleted' : f.includeDeleted ? 'all' : 'active',
  }
}

/** Saves the CSV the API made as a file (it starts with a BOM: Excel reads Chinese right). */
export function download(filename: string, csv: string): void {
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }))
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}
