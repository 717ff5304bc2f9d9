// A page's first query, sent by the router while the page's code is still loading (see
// router.ts, `meta.prefetch`); useQuery takes the answer instead of asking again. Only the
// first read of exactly the same document and variables takes it.
import type { TypedDocumentString } from '@/gql/graphql'
import { request } from './client'

const pending = new Map<string, Promise<unknown>>()
const keyOf = (document: { toString(): string }, variables: unknown) =>
  `${document.toString()}\n${JSON.stringify(variables)}`

export function prefetch<R, V>(document: TypedDocumentString<R, V>, variables: V): void {
  const sent = (request as (d: TypedDocumentString<R, V>, v: V) => Promise<R>)(document, variables)
  sent.catch(() => {}) // the page that takes it reports the error
  pending.clear() // one page at a time
  pending.set(keyOf(document, variables), sent)
}

export function takePrefetched<R, V>(document: TypedDocumentString<R, V>, variables: V): Promise<R> | undefined {
  const key = keyOf(document, variables)
  const found = pending.get(key) as Promise<R> | undefined
  pending.delete(key)
  return found
}
