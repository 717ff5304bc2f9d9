// The fields an audit entry changed, as text, with the API's snake_case names made the app's.
export interface Change {
  field: string
  before: string
  after: string
  reference: boolean // an id: its values mean nothing to a reader, only that it changed
}

// Bookkeeping columns, named either way (the API may give the snapshot's keys in camel case).
const HIDDEN = new Set(['id', 'tenantId', 'createdAt', 'updatedAt', 'deletedAt', 'searchText'])

/** A recorded value as text: an object's values, a list of phones or emails by their values. */
export function text(value: unknown): string {
  if (value == null) return ''
  if (Array.isArray(value)) {
    // A customer's phones or emails: their values, the primary first (so switching it shows).
    const items = [...value].sort((x, y) => Number(Boolean(y?.primary)) - Number(Boolean(x?.primary)))
    return items.map((v) => (v && typeof v === 'object' && ('number' in v || 'email' in v) ? String(v.number ?? v.email) : text(v))).join(', ')
  }
  if (typeof value === 'object') {
    return Object.values(value as Record<string, unknown>).filter((v) => v != null && v !== '').join(' ')
  }
  return String(value)
}

const camel = (field: string) => field.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())

export function changedFields(before: unknown, after: unknown): Change[] {
  const b = (before ?? {}) as Record<string, unknown>
  const a = (after ?? {}) as Record<string, unknown>
  const out: Change[] = []
  for (const key of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (HIDDEN.has(camel(key))) continue
    const was = text(b[key])
    const now = text(a[key])
    if (was === now) continue
    const reference = /(_id|Id)$/.test(key)
    out.push({ field: camel(key.replace(/(_id|Id)$/, '')), before: reference ? '' : was, after: reference ? '' : now, reference })
  }
  return out
}
