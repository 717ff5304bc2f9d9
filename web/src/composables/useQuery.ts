// Runs a typed query whenever its variables change; answers that arrive out of order are dropped.
// The pattern every page uses to read: `const { data, loading, error } = useQuery(Doc, () => vars)`.
import { ref, shallowRef, watch, type Ref, type ShallowRef } from 'vue'
import type { TypedDocumentString } from '@/gql/graphql'
import { ApiError, request } from '@/api/client'
import { takePrefetched } from '@/api/prefetch'

export interface QueryState<R> {
  data: ShallowRef<R | null>
  loading: Ref<boolean>
  error: ShallowRef<ApiError | null>
  reload: () => Promise<void>
}

export function useQuery<R, V>(
  document: TypedDocumentString<R, V>,
  variables: () => V | null, // null: nothing to ask yet
): QueryState<R> {
  const data = shallowRef<R | null>(null)
  const loading = ref(false)
  const error = shallowRef<ApiError | null>(null)
  let sequence = 0

  async function run(vars: V | null) {
    if (vars === null) return
    const mine = ++sequence
    const prefetched = takePrefetched(document, vars)
    if (prefetched?.answer) {
      // Already here: set before the first render, which then shows it (no empty render first).
      data.value = prefetched.answer.data
      error.value = null
      loading.value = false
      return
    }
    loading.value = true
    try {
      const result = await (prefetched?.promise ??
        (request as (d: TypedDocumentString<R, V>, v: V) => Promise<R>)(document, vars))
      if (mine !== sequence) return
      data.value = result
      error.value = null
    } catch (e) {
      if (mine !== sequence) return
      error.value = e instanceof ApiError ? e : new ApiError([{ message: String(e) }], 0)
    } finally {
      if (mine === sequence) loading.value = false
    }
  }

  watch(() => JSON.stringify(variables()), () => run(variables()), { immediate: true })
  return { data, loading, error, reload: () => run(variables()) }
}
