// Draws light pages' first frames for the server (infra/ssr.py), with the app's own components:
// the SSR build of web/src/ssr.ts (`dist/server/ssr.cjs`), evaluated in a new realm for every
// render so that nothing of one render (a viewer, their data, a language) can reach the next.
//
//   node web/ssr/renderer.cjs web/dist/server/ssr.cjs
//   stdin, one JSON object a line:  {"id": 1, "url": "/contacts", "answers": [...],
//                                     "storage": {"crm.locale": "en"}, "languages": ["en"],
//                                     "timeZone": "Asia/Shanghai", "width": 390}
//   stdout, one a line:             {"id": 1, "html": "<div …>"}  (null: not a page it draws)
//                                 | {"id": 1, "error": "…"}
//   A request may come before its answers ("answers": "later"): the realm is made and the app
//   starts while the server still runs the page's queries, as a browser's would while the HTML
//   streams in; {"id": 1, "answers": [...]} then ends its "parsing" (null: nothing to draw).
//
// Renders run side by side (each waits on its answers and the app's promises), except that a
// realm's clock reads the process's time zone: renders for another zone wait until those under
// way have finished (`zones`).
'use strict'
const fs = require('node:fs')
const readline = require('node:readline')
const vm = require('node:vm')

const bundle = process.argv[2]
const code = fs.readFileSync(bundle, 'utf8')
// Compiled once; each realm runs it afresh (the compiled code is shared, the state is not).
const script = new vm.Script(`(function (exports, require, module) {${code}\n})`, { filename: bundle })

// What the bundle requires besides itself: Element Plus and ECharts, which the server never
// draws (their components load after the first paint), as empty modules.
const absent = new Proxy({}, { get: (_, key) => (key === '__esModule' ? true : undefined) })
const requireStub = () => absent

/** Whether a media query of width conditions holds at `width` (CSS pixels; none: false). */
function matches(query, width) {
  if (typeof width !== 'number') return false
  const conditions = String(query).match(/\((?:min|max)-width:\s*\d+px\)/g)
  if (!conditions || String(query).replace(/\((?:min|max)-width:\s*\d+px\)|\s|and/g, '') !== '') return false
  return conditions.every((condition) => {
    const [, kind, px] = condition.match(/\((min|max)-width:\s*(\d+)px\)/)
    return kind === 'min' ? width >= Number(px) : width <= Number(px)
  })
}

function realm(request, answered) {
  let answers = '[]'
  const storage = new Map(Object.entries(request.storage ?? {}))
  const url = new URL(request.url, 'http://localhost')
  const inert = () => {}
  const parsed = []
  const document = {
    title: '',
    readyState: 'loading',
    documentElement: { lang: '' },
    // The page's first answers, as the browser finds them in the HTML (src/api/prefetch.ts).
    getElementById: (id) => (id === 'first-answers' ? { textContent: answers, remove: inert } : null),
    querySelector: (selector) => (selector === 'meta[name="first-answers"]' ? {} : null),
    querySelectorAll: () => [],
    createElement: () => ({ style: {}, setAttribute: inert, appendChild: inert }), // Vue's DOM runtime, loaded with it
    addEventListener: (type, listener) => type === 'DOMContentLoaded' && parsed.push(listener),
    removeEventListener: inert,
  }
  void answered.then((block) => {
    answers = JSON.stringify(block ?? [])
    document.readyState = 'complete'
    for (const listener of parsed.splice(0)) listener()
  })
  const globals = {
    console,
    setTimeout,
    clearTimeout,
    queueMicrotask,
    URL,
    URLSearchParams,
    TextEncoder,
    TextDecoder,
    structuredClone,
    Buffer,
    process: { env: { NODE_ENV: 'production' } },
    document,
    localStorage: { getItem: (key) => storage.get(key) ?? null, setItem: inert, removeItem: inert },
    navigator: { language: request.languages?.[0] ?? 'zh-CN', languages: request.languages ?? ['zh-CN'], userAgent: 'crm-ssr' },
    location: { pathname: url.pathname, search: url.search, hash: '', href: url.href, origin: url.origin, assign: inert, replace: inert },
    history: { state: null, pushState: inert, replaceState: inert },
    // The browser's width as the app last left it (a cookie), for the layouts CSS cannot say
    // (useNarrow); without it, a desktop's.
    matchMedia: (query) => ({ matches: matches(query, request.width), addEventListener: inert, removeEventListener: inert }),
    requestAnimationFrame: () => 0,
    cancelAnimationFrame: inert,
    addEventListener: inert,
    removeEventListener: inert,
    // Nothing is asked for here: a query the page's answers do not cover fails at once, and a
    // page that needed one is not drawn (src/ssr.ts); the browser asks.
    fetch: () => Promise.reject(new Error('no requests from the server renderer')),
  }
  const context = vm.createContext(globals)
  context.window = context
  context.self = context
  context.global = context
  const module = { exports: {} }
  script.runInContext(context)(module.exports, requireStub, module)
  return module.exports
}

const PATIENCE = 2000 // ms: a render still running then is given up, and the next one starts

// Answers by request id: delivered (a promise's resolver waiting) or arrived first.
const waiting = new Map()
function answersFor(request) {
  if (request.answers !== 'later') return Promise.resolve(request.answers)
  const early = waiting.get(request.id)
  if (early && early.arrived) {
    waiting.delete(request.id)
    return Promise.resolve(early.answers)
  }
  return new Promise((resolve) => waiting.set(request.id, { resolve }))
}

// The process's time zone, held by the renders under way; renders for another zone queue.
const zones = { zone: undefined, holders: 0, queue: [] }

function holdZone(zone) {
  const take = () => {
    zones.zone = zone
    zones.holders += 1
    if (zone) process.env.TZ = zone
    else delete process.env.TZ
  }
  if (zones.holders === 0 || zones.zone === zone) {
    take()
    return Promise.resolve()
  }
  return new Promise((resolve) => zones.queue.push({ zone, start: () => (take(), resolve()) }))
}

function releaseZone() {
  zones.holders -= 1
  if (zones.holders > 0 || !zones.queue.length) return
  const next = zones.queue[0].zone // the longest waiting, and every other render of its zone
  for (const waiter of zones.queue.filter((w) => w.zone === next)) waiter.start()
  zones.queue = zones.queue.filter((w) => w.zone !== next)
}

async function render(request) {
  const answers = answersFor(request)
  await holdZone(request.timeZone || undefined)
  let timer
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`render took over ${PATIENCE} ms`)), PATIENCE)
  })
  try {
    const app = realm(request, answers)
    if ((await Promise.race([answers, late])) == null) return null
    return await Promise.race([app.render(request.url), late])
  } finally {
    clearTimeout(timer)
    waiting.delete(request.id)
    releaseZone()
  }
}

let running = 0
const lines = readline.createInterface({ input: process.stdin })
lines.on('line', (line) => {
  let request
  try {
    request = JSON.parse(line)
  } catch {
    return
  }
  if (request.url === undefined) {
    // The answers of a request sent before them: to its realm, or kept until it is made.
    const pending = waiting.get(request.id)
    if (pending?.resolve) pending.resolve(request.answers)
    else waiting.set(request.id, { arrived: true, answers: request.answers })
    return
  }
  running += 1
  void render(request).then(
    (html) => ({ id: request.id, html }),
    (error) => ({ id: request.id, error: String(error && error.stack ? error.stack : error).slice(0, 2000) }),
  ).then((reply) => {
    process.stdout.write(JSON.stringify(reply) + '\n')
    running -= 1
    if (closed && !running) process.exit(0)
  })
})
let closed = false
lines.on('close', () => {
  closed = true
  if (!running) process.exit(0)
})
