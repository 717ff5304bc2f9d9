// What the interaction pages share: each kind's icon and colour, a type's name in the reader's
// language (built-in types by their key, the tenant's own by their name), durations and times
// relative to now ("3 hours ago", "3 小时前").
import type { Component } from 'vue'
import { Calendar, ChatDotRound, Document, EditPen, Location, Message, Phone, Star, Tickets } from '@element-plus/icons-vue'
import { i18n } from '@/i18n'

const BUILT_IN: Record<string, { icon: Component; color: string }> = {
  CALL: { icon: Phone, color: '#1e88e5' },
  EMAIL: { icon: Message, color: '#8e24aa' },
  MEETING: { icon: Calendar, color: '#00897b' },
  CHAT: { icon: ChatDotRound, color: '#43a047' },
  VISIT: { icon: Location, color: '#fb8c00' },
  NOTE: { icon: Document, color: '#6d4c41' },
}

export interface TypeLike {
  key?: string | null
  name: string
  color?: string | null
}

export function typeIcon(type: TypeLike | null | undefined): Component {
  return (type?.key && BUILT_IN[type.key]?.icon) || Tickets
}

export function typeColor(type: TypeLike | null | undefined): string {
  return type?.color || (type?.key && BUILT_IN[type.key]?.color) || '#546e7a'
}

export function typeName(type: TypeLike | null | undefined): string {
  const t = i18n.global.t
  if (!type) return t('interactions.unknownType')
  return type.key ? t(`interactions.builtIn.${type.key}`) : type.name
}

export const SURVEY_ICON = Star
export const CHANGE_ICON = EditPen

export function duration(seconds: number | null | undefined): string {
  if (seconds == null) return ''
  const t = i18n.global.t
  const minutes = Math.round(seconds / 60)
  if (minutes < 60) return t('interactions.minutes', { n: minutes })
  return t('interactions.hoursMinutes', { h: Math.floor(minutes / 60), m: minutes % 60 })
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600], ['month', 30 * 24 * 3600], ['week', 7 * 24 * 3600],
  ['day', 24 * 3600], ['hour', 3600], ['minute', 60],
]

/** "3 hours ago" / "in 2 days" in the reader's language. */
export function relative(iso: string, now: number = Date.now()): string {
  const seconds = (new Date(iso).getTime() - now) / 1000
  const format = new Intl.RelativeTimeFormat(i18n.global.locale.value, { numeric: 'auto' })
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit)
  }
  return format.format(0, 'minute')
}
