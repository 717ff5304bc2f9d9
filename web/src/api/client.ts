// The one way the app talks to the server: POST /graphql with the session cookie, the typed
// documents generated from the schema (src/gql), and the CSRF header the server requires of
// every cookie-authenticated request (graphql_api/csrf.py).
import type { TypedDocumentString } from '@/gql/graphql'

export const CSRF_HEADER = 'X-Requested-By'

export interface FieldError {
  field: string
  message: string
  code: string
}

export interface GraphQLErrorItem {
  message: string
  path?: (string | number)[]
  extensions?: {
    code?: string
    field?: string
    fields?: FieldError[]
    permission?: string
    retryAfter?: number
    requestId?: string
  }
}

/** A request that failed: a GraphQL error (by `extensions.code`), an HTTP error or no network. */
export class ApiError extends Error {
  readonly errors: GraphQLErrorItem[]
  readonly status: number

  constructor(errors: GraphQLErrorItem[], status: number) {
    super(errors[0]?.message ?? `HTTP ${status}`)
    this.errors = errors
    this.status = status
  }

  get code(): string {
    return this.errors[0]?.extensions?.code ?? (this.status === 0 ? 'NETWORK' : 'INTERNAL')
  }

  get extensions(): NonNullable<GraphQLErrorItem['extensions']> {
    return this.errors[0]?.extensions ?? {}
  }

  /** Every input error of a VALIDATION failure, with the field as the API names it. */
  get fieldErrors(): FieldError[] {
    return this.errors.flatMap((e) =>
      e.extensions?.code === 'VALIDATION'
        ? (e.extensions.fields ?? [{ field: e.extensions.field ?? '', message: e.message, code: 'invalid' }])
        : [],
    )
  }
}

type Unauthenticated = () => void
let onUnauthenticated: Unauthenticated = () => {}

/** Called when the session is gone (expired, signed out elsewhere): the app goes to sign-in. */
export function setUnauthenticatedHandler(handler: Unauthenticated): void {
  onUnauthenticated = handler
}

type Variables<V> = V extends Record<string, never> ? [variables?: V] : [variables: V]

export async function request<R, V>(
  document: TypedDocumentString<R, V>,
  ...[variables]: Variables<V>
): Promise<R> {
  let response: Response
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', [CSRF_HEADER]: 'crm-web' },
      body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
    })
  } catch {
    throw new ApiError([{ message: 'network error', extensions: { code: 'NETWORK' } }], 0)
  }
  let body: { data?: R | null; errors?: GraphQLErrorItem[] }
  try {
    body = await response.json()
  } catch {
    throw new ApiError([{ message: `HTTP ${response.status}` }], response.status)
  }
  if (body.errors?.length) {
    const error = new ApiError(body.errors, response.status)
    // The session is gone, unless this was a sign-in whose credentials were refused.
    const signingIn = body.errors[0]?.path?.[0] === 'login'
    if ((error.code === 'UNAUTHENTICATED' || response.status === 401) && !signingIn) onUnauthenticated()
    throw error
  }
  if (!response.ok || body.data == null) {
    throw new ApiError([{ message: `HTTP ${response.status}` }], response.status)
  }
  return body.data
}
