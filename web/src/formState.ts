// Between a record as the API returns it and a form's plain strings, and back to an input that
// carries only what changed (the API leaves out fields not sent and clears fields sent as null).
import type { AddressModel } from '@/components/AddressFields.vue'

interface AddressLike {
  country?: string | null
  provinceCode?: string | null
  cityCode?: string | null
  districtCode?: string | null
  province?: string | null
  city?: string | null
  district?: string | null
  street?: string | null
  postalCode?: string | null
}

export function toAddressModel(a: AddressLike | null | undefined): AddressModel {
  return {
    country: a?.country ?? 'CN',
    provinceCode: a?.provinceCode ?? '',
    cityCode: a?.cityCode ?? '',
    districtCode: a?.districtCode ?? '',
    province: a?.province ?? '',
    city: a?.city ?? '',
    district: a?.district ?? '',
    street: a?.street ?? '',
    postalCode: a?.postalCode ?? '',
  }
}

/** Every field of the address (null for the empty ones: an update merges what it is sent over
 *  what is stored), or null when nothing but the country is filled. In mainland China the codes
 *  go and the API names them; an address saved with names only keeps its names. */
export function toAddressInput(m: AddressModel): AddressLike | null {
  const v = (s: string) => s.trim() || null
  const inChina = !m.country.trim() || m.country.trim().toUpperCase() === 'CN'
  const coded = inChina && Boolean(m.provinceCode)
  const out: AddressLike = {
    country: v(m.country),
    provinceCode: inChina ? v(m.provinceCode) : null,
    cityCode: inChina ? v(m.cityCode) : null,
    districtCode: inChina ? v(m.districtCode) : null,
    province: coded ? null : v(m.province),
    city: coded ? null : v(m.city),
    district: coded ? null : v(m.district),
    street: v(m.street),
    postalCode: v(m.postalCode),
  }
  return Object.entries(out).some(([k, value]) => k !== 'country' && value !== null) ? out : null
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
