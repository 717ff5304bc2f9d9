// A customer's phones and emails as a form edits them (rows of plain strings) and as the API
// takes them (`phones: [{number, label, primary}]`): rows left blank are not sent, so the API's
// errors (`phones.2.number`) name the sent index, which `sentIndex` maps back to the row.
import type { PointLabel } from '@/gql/graphql'

export type PointKind = 'phones' | 'emails'
export const LABELS: PointLabel[] = ['MOBILE', 'WORK', 'HOME', 'FAX', 'OTHER'] as PointLabel[]

export interface PointRow {
  value: string
  label: PointLabel | ''
  primary: boolean
}

interface PhoneLike { number: string; formatted?: string; label: PointLabel; primary: boolean }
interface EmailLike { email: string; label: PointLabel; primary: boolean }

/** The rows of a record's points; one blank row to type into when it has none. */
export function toPointRows(points: (PhoneLike | EmailLike)[] | null | undefined): PointRow[] {
  if (!points?.length) return [{ value: '', label: '', primary: true }]
  return points.map((p) => ({
    value: 'number' in p ? (p.formatted ?? p.number) : p.email, // as people read it; the API reads it back
    label: p.label,
    primary: p.primary,
  }))
}

const filled = (rows: PointRow[]) => rows.filter((r) => r.value.trim())

export function toPhonesInput(rows: PointRow[]) {
  return filled(rows).map((r) => ({ number: r.value.trim(), label: r.label || null, primary: r.primary }))
}

export function toEmailsInput(rows: PointRow[]) {
  return filled(rows).map((r) => ({ email: r.value.trim(), label: r.label || null, primary: r.primary }))
}

/** The index a row was sent at, or -1 for a blank row (not sent). */
export function sentIndex(rows: PointRow[], row: number): number {
  if (!rows[row]?.value.trim()) return -1
  return rows.slice(0, row).filter((r) => r.value.trim()).length
}

/** Points as a record's page lists them. */
export function phonesShown(points: (PhoneLike & { formatted: string })[]) {
  return points.map((p) => ({ shown: p.formatted, value: p.number, label: p.label, primary: p.primary }))
}

export function emailsShown(points: EmailLike[]) {
  return points.map((p) => ({ shown: p.email, value: p.email, label: p.label, primary: p.primary }))
}
