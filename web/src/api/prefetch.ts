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
  const sent = firstAnswer(document, variables).then((answered) =>
    answered ? answered.data : (request as (d: TypedDocumentString<R, V>, v: V) => Promise<R>)(document, variables),
  )
  const entry: Prefetched<R> = { promise: sent }
  sent.then((data) => (entry.answer = { data }), () => {}) // the page that takes it reports errors
  pending.clear() // one page at a time
  pending.set(key, entry as Prefetched<unknown>)
}

// The first answers the server sends at the end of a light page's HTML (infra/first_load.py):
// the same documents the app sends, answered for the signed-in user while the app's code loads.
// The page's head says they are coming; the entry script runs before they arrive (it is async),
// so they are read once the HTML is parsed. Each is taken once, and only by the same document
// with the same variables; anything not answered there is asked for as usual.
interface FirstAnswer {
  query: string
  variables: unknown
  data: unknown
}
let firstAnswers: Promise<FirstAnswer[]> | null = null

function readFirstAnswers(): Promise<FirstAnswer[]> {
  if (!document.querySelector('meta[name="first-answers"]')) return Promise.resolve([])
  const parsed = new Promise<void>((resolve) => {
    if (document.readyState !== 'loading') resolve()
    else document.addEventListener('DOMContentLoaded', () => resolve(), { once: true })
  })
  return parsed.then(() => {
    const block = document.getElementById('first-answers')
    block?.remove()
    try {
      const answers: unknown = JSON.parse(block?.textContent || '[]')
      return Array.isArray(answers) ? (answers as FirstAnswer[]) : []
    } catch {
      return []
    }
  })
}

/** Equal as GraphQL reads two variable sets: a null value and an absent one alike. */
function same(a: unknown, b: unknown): boolean {
  if (a === b || (a == null && b == null)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]))
  }
  const ra = a as Record<string, unknown>
  const rb = b as Record<string, unknown>
  return [...new Set([...Object.keys(ra), ...Object.keys(rb)])].every((k) => same(ra[k], rb[k]))
}

/** The server's answer to this document and variables in the page's HTML (taken once), or
 * undefined: then ask. */
export async function firstAnswer<R, V>(document: TypedDocumentString<R, V>, variables: V): Promise<{ data: R } | undefined> {
  firstAnswers ??= readFirstAnswers()
  const answers = await firstAnswers
  const text = document.toString()
  const index = answers.findIndex((a) => a.query === text && same(a.variables ?? {}, variables ?? {}))
  const [found] = index < 0 ? [] : answers.splice(index, 1)
  return found && { data: found.data as R }
}

/** Once every query sent ahead has been answered or has failed: whether all were answered. The
 *  server's first frame (src/ssr.ts) is drawn only with every answer in. */
export async function settled(): Promise<boolean> {
  const entries = [...pending.values()]
  await Promise.allSettled(entries.map((entry) => entry.promise))
  return entries.every((entry) => entry.answer !== undefined)
}

export function takePrefetched<R, V>(document: TypedDocumentString<R, V>, variables: V): Prefetched<R> | undefined {
  const key = keyOf(document, variables)
  const found = pending.get(key) as Prefetched<R> | undefined
  pending.delete(key)
  return found
}
