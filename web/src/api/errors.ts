// GraphQL errors shown by their `extensions.code`, in the user's language. Pages call
// `showError(e)` for a failed action; forms call `fieldMessages(e)` to put VALIDATION errors
// beside their fields. UNAUTHENTICATED never gets here as a message: the client sends the user
// to sign-in (see session.ts).
import { loadElementPlus } from '@/deferred'
import { i18n } from '@/i18n'
import { ApiError } from './client'

const t = i18n.global.t
const te = i18n.global.te

export function errorMessage(error: unknown): string {
  if (!(error instanceof ApiError)) return t('errors.INTERNAL', { requestId: '—' })
  const ext = error.extensions
  switch (error.code) {
    case 'FORBIDDEN':
      return ext.permission
        ? t('errors.FORBIDDEN_PERMISSION', { permission: ext.permission })
        : t('errors.FORBIDDEN')
    case 'RATE_LIMITED':
      return t('errors.RATE_LIMITED', { seconds: ext.retryAfter ?? 60 })
    case 'INTERNAL':
      return t('errors.INTERNAL', { requestId: ext.requestId ?? '—' })
    case 'GRAPHQL_PARSE_FAILED':
    case 'GRAPHQL_VALIDATION_FAILED':
      return t('errors.OUTDATED') // the app's documents no longer fit the server's schema
    case 'NOT_FOUND':
    case 'UNAUTHENTICATED':
    case 'VALIDATION':
    case 'CONFLICT':
    case 'BAD_REQUEST':
    case 'NETWORK':
    case 'QUERY_TOO_COMPLEX':
    case 'PAYLOAD_TOO_LARGE':
    case 'NOT_A_MEMBER':
      return t(`errors.${error.code}`)
    default:
      return t('errors.INTERNAL', { requestId: ext.requestId ?? '—' })
  }
}

export function showError(error: unknown): void {
  if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') return
  if (!(error instanceof ApiError)) console.error(error)
  const message = errorMessage(error)
  void loadElementPlus().then(({ ElMessage }) => ElMessage({ type: 'error', message, showClose: true, duration: 6000 }))
}

/** The API names fields in snake case, nested with dots (`address.city`, `owner_id`); forms
 *  name them in camel case (`address.city`, `ownerId`). */
function formField(apiField: string): string {
  return apiField.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
}

/** Field → message for every input error of a VALIDATION failure, by the error's code. */
export function fieldMessages(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {}
  const out: Record<string, string> = {}
  for (const item of error.fieldErrors) {
    const key = `validation.${item.code}`
    out[formField(item.field)] = te(key) ? t(key) : t('validation.invalid')
  }
  return out
}
