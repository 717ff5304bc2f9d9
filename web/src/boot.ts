// Evaluated first (main.ts imports it before anything else, and nothing heavy with it): asks who
// is signed in, and for the first page's data when the page has a first query, while the app's
// code is still on its way. session.ts takes the viewer from here the first time; the page takes
// its data from api/prefetch.ts, as after a prefetching navigation.
import type { LocationQuery } from 'vue-router'
import { MeDocument, type MeQuery } from '@/gql/graphql'
import { request } from '@/api/client'
import { firstAnswer } from '@/api/prefetch'
import { prefetchContactList } from '@/pages/customers/contactList'
import { prefetchCompanyList } from '@/pages/customers/companyList'

// The server may have answered it in the page already (infra/first_load.py).
let early: Promise<MeQuery> | null = firstAnswer(MeDocument, {}).then((answered) => answered?.data ?? request(MeDocument))
early.catch(() => {}) // handled by whoever takes it

// Pages whose first query (and code) is asked for here, by path, on the first load. The router
// asks again on an in-app navigation; a query already on its way is not sent twice, and the same
// import() is the same module.
interface FirstLoad {
  query: (query: LocationQuery) => void
  page: () => Promise<unknown>
}
const FIRST_LOADS: Record<string, FirstLoad> = {
  '/contacts': { query: prefetchContactList, page: () => import('@/pages/customers/ContactList.vue') },
  '/companies': { query: prefetchCompanyList, page: () => import('@/pages/customers/CompanyList.vue') },
}
const first = FIRST_LOADS[window.location.pathname]
first?.query(Object.fromEntries(new URLSearchParams(window.location.search)))

/** Starts fetching the first page's code beside the app's (main.ts). */
export function loadFirstPage(): void {
  first?.page().catch(() => {}) // the router reports a page that fails to load
}

export function takeEarlyViewer(): Promise<MeQuery> | null {
  const taken = early
  early = null
  return taken
}
