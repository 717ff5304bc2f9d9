// Between a record as the API returns it and a form's plain strings, and back to an input that
// carries only what changed (the API leaves out fields not sent and clears fields sent as null).
import type { AddressModel } from '@/components/AddressFields.vue'

interface AddressLike {
  country?: string | null
  province?: string | null
  city?: string | null
  district?: string | null
  street?: string | null
  postalCode?: string | null
}

export function toAddressModel(a: AddressLike | null | undefined): AddressModel {
  return {
    country: a?.country ?? 'CN',
    province: a?.province ?? '',
    city: a?.city ?? '',
    district: a?.district ?? '',
    street: a?.street ?? '',
    postalCode: a?.postalCode ?? '',
  }
}

export function toAddressInput(m: AddressModel): AddressLike | null {
  const out: AddressLike = {}
  for (const [key, value] of Object.entries(m) as [keyof AddressModel, string][]) {
    if (value.trim()) out[key] = value.trim()
  }
  return Object.keys(out).some((k) => k !== 'country') ? out : null
}

type Plain = Record<string, unknown>

/** Fields of `current` that differ from `original` ('' counts as null); everything on create. */
export function changes<T extends Plain>(current: T, original: T | null): Partial<T> {
  const out: Plain = {}
  for (const [key, value] of Object.entries(current)) {
    const now = value === '' ? null : value
    if (original === null) {
      if (now !== null) out[key] = now
      continue
    }
    const before = original[key] === '' ? null : original[key]
    if (JSON.stringify(now) !== JSON.stringify(before)) out[key] = now
  }
  return out as Partial<T>
}

/** Moves focus to the first field the API refused, so keyboard and screen-reader users land there. */
export function focusFirstError(): void {
  requestAnimationFrame(() => {
    const field = document.querySelector<HTMLElement>('.el-form-item.is-error input, .el-form-item.is-error textarea')
    field?.focus()
  })
}
