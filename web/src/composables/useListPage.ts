// What every list page does with its URL state (useRouteQuery): a search box that updates the URL
// a moment after typing stops, a date range, keyset paging forwards and back, and the table's
// sortable columns mapped to the API's sort values. A new list (deals, orders…) takes it whole,
// before its useQuery (whose variables read `params`), as ContactList.vue does:
// `useListPage(DEFAULTS, (): Paged | undefined => data.value?.deals, { name: 'NAME' })`.
import { computed, onBeforeUnmount, ref, watch, type ComputedRef } from 'vue'
import { useRouteQuery } from './useRouteQuery'

/** The parameters every list keeps in the URL (pages add their own filters). */
export interface ListUrlParams extends Record<string, string> {
  q: string
  from: string
  to: string
  sort: string
  size: string
  after: string
  page: string
}

export interface Paged {
  pageInfo: { endCursor?: string | null }
}

type TableOrder = 'ascending' | 'descending'

/**
 * @param defaults   the URL parameters and their defaults (left out of the URL when equal)
 * @param current    the page of the list as the API answered it, for the next page's cursor
 * @param sortable   the table's sortable columns (`prop`) and the API sort key each stands for
 *                   (`NAME` for `NAME_ASC` / `NAME_DESC`)
 */
export function useListPage<P extends ListUrlParams>(
  defaults: P,
  current: () => Paged | null | undefined,
  sortable: Record<string, string>,
) {
  const { params, update } = useRouteQuery<P>(defaults)

  const search = ref(params.value.q)
  let timer: ReturnType<typeof setTimeout> | undefined
  watch(search, (text) => {
    clearTimeout(timer)
    timer = setTimeout(() => update({ q: text.trim() } as Partial<P>), 300)
  })
  // Typed, then left within the moment: the search must not follow the user to the next page's URL.
  onBeforeUnmount(() => clearTimeout(timer))
  watch(() => params.value.q, (q) => { if (q !== search.value.trim()) search.value = q })

  const range = computed<string[] | null>({
    get: () => (params.value.from && params.value.to ? [params.value.from, params.value.to] : null),
    set: (value: string[] | null) => update({ from: value?.[0] ?? '', to: value?.[1] ?? '' } as Partial<P>),
  })

  // The cursors of the pages before this one, to go back (keyset paging has no "page 3").
  const cursors: string[] = []
  function next() {
    const end = current()?.pageInfo.endCursor
    if (!end) return
    cursors.push(params.value.after)
    update({ after: end, page: String(Number(params.value.page) + 1) } as Partial<P>, { paging: true })
  }
  function previous() {
    const page = Number(params.value.page) - 1
    update({ after: cursors.pop() ?? '', page: String(cursors.length ? page : 1) } as Partial<P>, { paging: true })
  }

  const keys = Object.entries(sortable)
  function onSort({ prop, order }: { prop: string | null; order: TableOrder | null }) {
    const key = keys.find(([column]) => column === prop)?.[1]
    update({ sort: key && order ? `${key}_${order === 'ascending' ? 'ASC' : 'DESC'}` : defaults.sort } as Partial<P>)
  }
  const tableSort: ComputedRef<{ prop: string; order: TableOrder } | undefined> = computed(() => {
    const sort = params.value.sort
    const order: TableOrder = sort.endsWith('_ASC') ? 'ascending' : 'descending'
    const column = keys.find(([, key]) => sort.replace(/_(ASC|DESC)$/, '') === key)?.[0]
    return column ? { prop: column, order } : undefined
  })

  return { params, update, search, range, next, previous, onSort, tableSort }
}
