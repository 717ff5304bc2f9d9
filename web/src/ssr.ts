// The first frame of a light page, rendered by the server with the app's own components (the
// SSR build of this module, run by web/ssr/renderer.cjs for infra/ssr.py). Each render runs in a
// realm of its own, evaluated afresh from this bundle, so no state of one render (the viewer,
// their answers, the language) can reach another; the realm's `window`, `document` and
// `localStorage` are the renderer's stand-ins, carrying the request's path, answers and language.
import { createSSRApp } from 'vue'
import { renderToString } from 'vue/server-renderer'
import App from './App.vue'
import { i18n } from './i18n'
import { router } from './router'
import { settled } from './api/prefetch'

/** The HTML of the app at `url` as its first frame shows it, or null when the page is not one
 *  the server draws (not a light page, nobody signed in, a query its answers do not cover). */
export async function render(url: string): Promise<string | null> {
  const app = createSSRApp(App)
  app.use(i18n).use(router)
  await router.push(url)
  await router.isReady()
  const route = router.currentRoute.value
  if (!route.meta.light || !(await settled())) return null
  return renderToString(app)
}
