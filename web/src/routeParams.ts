// Reading a list page's parameters from a URL's query, with no Vue in sight: the entry (boot.ts)
// uses it to ask for the first page's data before the app's code has arrived.
import type { LocationQuery } from 'vue-router'

/** The parameters a URL's query gives, defaults filled in (also used before a page mounts). */
export function readParams<T extends Record<string, string>>(query: LocationQuery, defaults: T): T {
  const out = { ...defaults }
  for (const key of Object.keys(defaults) as (keyof T)[]) {
    const value = query[key as string]
    if (typeof value === 'string') out[key] = value as T[keyof T]
  }
  return out
}
