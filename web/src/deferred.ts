// Element Plus comes after the first paint. The shell and the list pages (routes with
// `meta.light`) render their first frame in plain HTML styled with Element Plus's own CSS classes,
// so neither Element Plus's code (~620 kB) nor its rendering stands between the user and their
// rows; its widgets (filters, menus, pickers) take their places a frame later, each behind a
// stand-in of its size. Every other page awaits `loadElementPlus()` before it renders (the
// router's guard), and so does anything that shows a message.
//
//   const Filters = deferred(() => import('./CustomerFilters.vue'))   // in a light page
//   <Suspense><Filters …/><template #fallback><span class="stand-in" …/></template></Suspense>
import { defineAsyncComponent, onMounted, watch, type App, type Component } from 'vue'

type ElementPlusModule = typeof import('./elementPlus')

let app: App | null = null
let loading: Promise<ElementPlusModule> | null = null
let painted: Promise<void> | null = null
let markPainted: () => void = () => {}

/** The app Element Plus's settings (language, sizes) are given to, once it is loaded. */
export function setApp(instance: App): void {
  app = instance
}

/** Element Plus, loaded once and set up for this app (its language follows the user's). */
export function loadElementPlus(): Promise<ElementPlusModule> {
  loading ??= import('./elementPlus').then((module) => {
    if (app) module.install(app)
    return module
  })
  return loading
}

/** Resolves once the first frame of a page has been drawn (see `pagePainted`). */
export function afterFirstPaint(): Promise<void> {
  painted ??= new Promise<void>((resolve) => (markPainted = resolve))
  return painted
}

/** Called when the first page has been drawn with its content: the frame after next is the one
 *  that drew it. The shell calls it on mounting for every page but the light ones, which call it
 *  through `useLightPage` once their data is in. */
export function pageMounted(): void {
  void afterFirstPaint()
  requestAnimationFrame(() => setTimeout(markPainted))
}

/** For a light page: Element Plus waits until `ready()` (the page's first answer is in, rows or
 *  error), so that its ~100 ms of evaluation never comes between the answer and the rows' frame;
 *  at most `patience` ms, should the answer be slow. */
export function useLightPage(ready: () => boolean, patience = 2000): void {
  onMounted(() => {
    const timer = setTimeout(pageMounted, patience)
    watch(ready, (now) => {
      if (!now) return
      clearTimeout(timer)
      pageMounted()
    }, { immediate: true })
  })
}

/** A component that needs Element Plus, loaded after the first paint; shown in a <Suspense>
 *  whose fallback stands in for it until then. */
export function deferred<T extends Component>(loader: () => Promise<{ default: T }>): T {
  return defineAsyncComponent(() => afterFirstPaint().then(loadElementPlus).then(loader)) as unknown as T
}
