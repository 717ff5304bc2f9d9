// A list page's state (search, filters, sort, page) lives in the URL, so reload, back and a
// shared link all show the same list. Values equal to their default are left out of the URL.
import { computed } from 'vue'
import { useRoute, useRouter, type LocationQuery } from 'vue-router'

/** The parameters a URL's query gives, defaults filled in (also used before a page mounts). */
export function readParams<T extends Record<string, string>>(query: LocationQuery, defaults: T): T {
  const out = { ...defaults }
  for (const key of Object.keys(defaults) as (keyof T)[]) {
    const value = query[key as string]
    if (typeof value === 'string') out[key] = value as T[keyof T]
  }
  return out
}

export function useRouteQuery<T extends Record<string, string>>(defaults: T) {
  const route = useRoute()
  const router = useRouter()

  const params = computed(() => readParams(route.query, defaults))

  /** Changes some values; any change but paging starts again from the first page. */
  function update(patch: Partial<T>, { paging = false } = {}) {
    const next: Record<string, string> = { ...params.value, ...patch }
    if (!paging) {
      next.after = ''
      next.page = '1'
    }
    const query: Record<string, string> = {}
    for (const [key, value] of Object.entries(next)) {
      if (value !== '' && value !== defaults[key]) query[key] = value
    }
    void router.replace({ query })
  }

  return { params, update }
}
