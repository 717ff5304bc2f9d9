// Words shared by the webhook pages: statuses, reasons, and form errors by their codes.
import { i18n } from '@/i18n'
import { ApiError } from '@/api/client'

const t = i18n.global.t
const te = i18n.global.te

export type TagType = 'success' | 'warning' | 'danger' | 'info' | 'primary'

export const SUBSCRIPTION_TAG: Record<string, TagType> = { ACTIVE: 'success', PAUSED: 'warning', DISABLED: 'danger' }
export const DELIVERY_TAG: Record<string, TagType> = {
  PENDING: 'info',
  RETRYING: 'warning',
  SUCCEEDED: 'success',
  FAILED: 'danger',
  SKIPPED: 'info',
}

/** VALIDATION errors of the subscription form, by field, in the user's language. */
export function webhookFieldMessages(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {}
  const out: Record<string, string> = {}
  for (const item of error.fieldErrors) {
    const own = `webhooks.validation.${item.code}`
    const shared = `validation.${item.code}`
    out[item.field] = te(own) ? t(own) : te(shared) ? t(shared) : t('validation.invalid')
  }
  return out
}
