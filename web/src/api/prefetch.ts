// A page's first query, sent before the page's code has loaded: by boot.ts on the first load, by
// the router on a navigation (router.ts, `meta.prefetch`). useQuery takes the answer instead of
// asking again, and when it has already arrived, takes it at once, so the page's first render
// already shows the data. Only the first read of exactly the same document and variables takes it.
import type { TypedDocumentString } from '@/gql/graphql'
import { request } from './client'

export interface Prefetched<R> {
  promise: Promise<R>
  answer?: { data: R } // once it has arrived
}

const pending = new Map<string, Prefetched<unknown>>()
const keyOf = (document: { toString(): string }, variables: unknown) =>
  `${document.toString()}\n${JSON.stringify(variables)}`

export function prefetch<R, V>(document: TypedDocumentString<R, V>, variables: V): void {
  const key = keyOf(document, variables)
  if (pending.has(key)) return // already on its way (boot.ts, then the router)
  const sent = (request as (d: TypedDocumentString<R, V>, v: V) => Promise<R>)(document, variables)
  const entry: Prefetched<R> = { promise: sent }
  sent.then((data) => (entry.answer = { data }), () => {}) // the page that takes it reports errors
  pending.clear() // one page at a time
  pending.set(key, entry as Prefetched<unknown>)
}

export function takePrefetched<R, V>(document: TypedDocumentString<R, V>, variables: V): Prefetched<R> | undefined {
  const key = keyOf(document, variables)
  const found = pending.get(key) as Prefetched<R> | undefined
  pending.delete(key)
  return found
}
