// A list page's state (search, filters, sort, page) lives in the URL, so reload, back and a
// shared link all show the same list. Values equal to their default are left out of the URL.
import { computed } from 'vue'
import { useRoute, useRouter } from 'vue-router'
import { readParams } from '@/routeParams'

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
