// The app itself, loaded by main.ts once the first requests have left (see boot.ts).
import { createApp } from 'vue'
import type { RouteLocationNormalized } from 'vue-router'
import '@fontsource/noto-sans-sc/400.css'
import '@fontsource/noto-sans-sc/500.css'
// Element Plus's variables and the looks the shell and the light pages draw in plain HTML
// (deferred.ts): CSS @imports, so that no module of Element Plus's is in the app's module graph.
import './elementLooks.css'
import './styles.css'
import App from './App.vue'
import { i18n } from './i18n'
import { router } from './router'
import { onSessionLost } from './session'
import { afterFirstPaint, loadElementPlus, setApp } from './deferred'
import { rememberAllForServer } from './cookies'

// Where the user is going: a page's first query leaves during the navigation (`meta.prefetch`),
// so a session found gone by it must send them back to that page after sign-in, not the last one.
let heading: RouteLocationNormalized | null = null
router.beforeEach((to) => {
  heading = to
})
router.afterEach(() => {
  heading = null
})

// The session ended under us (expired, signed out elsewhere): sign in again, with a full load so
// nothing of it stays in memory.
onSessionLost(() => {
  const here = heading ?? router.currentRoute.value
  if (here.name !== 'sign-in') window.location.assign(`/sign-in?redirect=${encodeURIComponent(here.fullPath)}`)
})

// Every page but the light ones (the shell's lists) renders with Element Plus: load it before.
router.beforeResolve(async (to) => {
  if (!to.meta.light) await loadElementPlus()
})

const app = createApp(App)
setApp(app)
app.use(i18n).use(router)
// The entry is an async script (vite.config.ts): in the unlikely case it ran before the parser
// reached the app's element, mount once it has.
if (document.getElementById('app')) app.mount('#app')
else document.addEventListener('DOMContentLoaded', () => app.mount('#app'), { once: true })

// For the server's first frames (infra/ssr.py): this browser's time zone and the user's choices.
void afterFirstPaint().then(() => setTimeout(rememberAllForServer, 1000))
