// Dates, addresses and names shown the way the user's language writes them.
import { i18n } from '@/i18n'

export function dateTime(iso: string | null | undefined): string {
  return iso ? i18n.global.d(new Date(iso), 'long') : i18n.global.t('common.none')
}

export function date(iso: string | null | undefined): string {
  return iso ? i18n.global.d(new Date(iso), 'short') : i18n.global.t('common.none')
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
