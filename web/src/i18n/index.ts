// Messages, dates and numbers in the user's language. The language is, in order: the one the
// user picked (kept in this browser), the tenant's (`me.tenant.locale`), the browser's.
import { computed, ref, watch } from 'vue'
import { createI18n } from 'vue-i18n'
import en from './en'
import zhCN from './zh-CN'
import { rememberForServer } from '@/cookies'

export type Messages = typeof en
// The two languages have the same keys: each is assignable to the other (a key missing on
// either side fails the type check).
const enFromZh: Messages = zhCN
const zhFromEn: typeof zhCN = en
void [enFromZh, zhFromEn]

export const LOCALES = ['zh-CN', 'en'] as const
export type Locale = (typeof LOCALES)[number]
const CHOSEN_KEY = 'crm.locale'

/** Keys asked for that no locale has; the browser tests fail on any (see tests/web). */
const missing: string[] = []
declare global {
  interface Window {
    __crmI18n?: { missing: string[]; namespaces: string[] }
  }
}
window.__crmI18n = { missing, namespaces: Object.keys(en) }

export function toLocale(tag: string | null | undefined): Locale | null {
  if (!tag) return null
  const lower = tag.toLowerCase()
  if (lower.startsWith('zh')) return 'zh-CN'
  if (lower.startsWith('en')) return 'en'
  return null
}

function chosenLocale(): Locale | null {
  try {
    return toLocale(localStorage.getItem(CHOSEN_KEY))
  } catch {
    return null
  }
}

function browserLocale(): Locale {
  for (const tag of navigator.languages ?? [navigator.language]) {
    const locale = toLocale(tag)
    if (locale) return locale
  }
  return 'zh-CN'
}

const dateTimeFormat = {
  short: { year: 'numeric', month: '2-digit', day: '2-digit' },
  long: { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' },
} as const
const numberFormat = {
  integer: { maximumFractionDigits: 0 },
  currency: { style: 'currency', currency: 'CNY' },
} as const

export const i18n = createI18n<[Messages], Locale, false>({
  legacy: false,
  locale: chosenLocale() ?? browserLocale(),
  fallbackLocale: 'en',
  messages: { 'zh-CN': zhCN, en },
  datetimeFormats: { 'zh-CN': dateTimeFormat, en: dateTimeFormat },
  numberFormats: { 'zh-CN': numberFormat, en: numberFormat },
  missingWarn: false,
  fallbackWarn: false,
  missing: (_locale, key) => {
    if (!missing.includes(key)) missing.push(key)
    return key
  },
})

// A message without placeholders, plurals or links is a fixed string: the build compiles it to
// `{ t: 0, b: { t: 2, s: '…' } }` (@intlify/message-compiler's AST, `s` being its static text).
// vue-i18n's `t` still resolves and evaluates it in full each time, ~0.3 ms per call before the
// page's code is warm: a third of a list page's first render (its labels, nav, a row's checkbox).
// `t(key)` with no arguments reads such a message from a table instead; anything else (arguments,
// a message that is not static, a key the locale lacks) goes to vue-i18n as before.
const vueT = i18n.global.t
const fixed: Partial<Record<Locale, Map<string, string | null>>> = {}
function fixedMessage(locale: Locale, key: string): string | null {
  let node: unknown = (locale === 'en' ? en : zhCN) as unknown
  for (const part of key.split('.')) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part] : undefined
  const body = (node as { t?: number; b?: { s?: unknown } } | undefined)?.b
  return (node as { t?: number } | undefined)?.t === 0 && typeof body?.s === 'string' ? body.s : null
}
i18n.global.t = ((...args: unknown[]) => {
  if (args.length === 1 && typeof args[0] === 'string') {
    const locale = i18n.global.locale.value // a component reading it renders again when it changes
    const table = (fixed[locale] ??= new Map())
    let text = table.get(args[0])
    if (text === undefined) table.set(args[0], (text = fixedMessage(locale, args[0])))
    if (text !== null) return text
  }
  return (vueT as (...a: unknown[]) => string)(...args)
}) as typeof vueT

const current = ref<Locale>(i18n.global.locale.value)
watch(current, (locale) => {
  i18n.global.locale.value = locale
  document.documentElement.lang = locale
})
document.documentElement.lang = current.value

export const locale = computed(() => current.value)

/** The user's own choice: remembered in this browser, above the tenant's default. */
export function chooseLocale(next: Locale): void {
  current.value = next
  rememberForServer(CHOSEN_KEY, next)
  try {
    localStorage.setItem(CHOSEN_KEY, next)
  } catch {
    /* private mode: the choice lasts for this page only */
  }
}

/** The tenant's language, unless the user picked one. */
export function applyTenantLocale(tag: string | null | undefined): void {
  const tenant = toLocale(tag)
  if (!chosenLocale() && tenant) current.value = tenant
}
