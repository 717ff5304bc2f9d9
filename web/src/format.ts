// Dates, addresses and names shown the way the user's language writes them.
import { i18n } from '@/i18n'

const pad = (n: number) => String(n).padStart(2, '0')

/** A date (and time) as Intl.DateTimeFormat writes the app's `short` and `long` formats in its two
 *  languages (2026/11/30 15:36; 11/30/2026, 03:36 PM), written out: a page's first
 *  Intl.DateTimeFormat costs 30–120 ms on this machine while ICU loads its pattern data, and a
 *  list's dates are in its first frame. Other languages, if added, go through Intl. */
function written(iso: string, withTime: boolean): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const locale = i18n.global.locale.value
  if (locale !== 'zh-CN' && locale !== 'en') return i18n.global.d(d, withTime ? 'long' : 'short')
  const [y, m, day] = [d.getFullYear(), pad(d.getMonth() + 1), pad(d.getDate())]
  const hours = d.getHours()
  if (locale === 'zh-CN') return withTime ? `${y}/${m}/${day} ${pad(hours)}:${pad(d.getMinutes())}` : `${y}/${m}/${day}`
  const clock = `${pad(hours % 12 || 12)}:${pad(d.getMinutes())} ${hours < 12 ? 'AM' : 'PM'}`
  return withTime ? `${m}/${day}/${y}, ${clock}` : `${m}/${day}/${y}`
}

/** A whole number with thousands grouped (12,345) as both languages write it, written out for
 *  the same reason as dates: the first Intl.NumberFormat, for a list's total, cost 10–25 ms of
 *  the rows' frame. Other languages, if added, go through Intl. */
export function integer(value: number): string {
  const locale = i18n.global.locale.value
  if ((locale !== 'zh-CN' && locale !== 'en') || !Number.isSafeInteger(value)) return i18n.global.n(value, 'integer')
  return String(Math.abs(value)).replace(/\B(?=(\d{3})+$)/g, ',').replace(/^/, value < 0 ? '-' : '')
}

export function dateTime(iso: string | null | undefined): string {
  return iso ? written(iso, true) : i18n.global.t('common.none')
}

export function date(iso: string | null | undefined): string {
  return iso ? written(iso, false) : i18n.global.t('common.none')
}

export interface AddressParts {
  country?: string | null
  province?: string | null
  city?: string | null
  district?: string | null
  street?: string | null
  postalCode?: string | null
}

/** 上海市浦东新区世纪大道100号 in Chinese; "Street, District, City, Province" in English. */
export function address(a: AddressParts | null | undefined): string {
  if (!a) return ''
  const city = a.city && a.city !== a.province ? a.city : null // 上海市 上海市 → once
  if (i18n.global.locale.value === 'zh-CN') {
    return [a.province, city, a.district, a.street].filter(Boolean).join('') + (a.postalCode ? ` ${a.postalCode}` : '')
  }
  return [a.street, a.district, city, a.province, a.postalCode, a.country && a.country !== 'CN' ? a.country : null]
    .filter(Boolean)
    .join(', ')
}

export function region(a: AddressParts | null | undefined): string {
  if (!a) return ''
  const city = a.city && a.city !== a.province ? a.city : null
  return [a.province, city, a.district].filter(Boolean).join(i18n.global.locale.value === 'zh-CN' ? '' : ' ')
}
