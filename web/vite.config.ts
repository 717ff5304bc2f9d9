// Vite builds the app into dist/ (the Python side, infra/web_build.py, drives it and serves the
// result). `npx vite` runs a hot-reloading dev server that sends /graphql to `make dev`'s server.
import { fileURLToPath } from 'node:url'
import { defineConfig, type Plugin, type Rollup } from 'vite'
import vue from '@vitejs/plugin-vue'
import VueI18nPlugin from '@intlify/unplugin-vue-i18n/vite'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// @fontsource lists a .woff fallback beside each .woff2 slice; every browser we support takes
// woff2, so dropping the fallback halves what the build copies without changing what loads.
function woff2Only(): Plugin {
  return {
    name: 'crm:woff2-only',
    enforce: 'pre',
    transform(code, id) {
      if (!id.includes('@fontsource') || !id.endsWith('.css')) return null
      return code.replace(/,\s*url\([^)]+\.woff\) format\('woff'\)/g, '')
    },
  }
}

// Pages that draw their first frame without Element Plus (router `meta.light`, deferred.ts).
const LIGHT_PAGES = ['/src/pages/customers/ContactList.vue', '/src/pages/customers/CompanyList.vue']
// What they share (and other pages use too): one chunk rather than ten requests of a few kB
// each, which HTTP/1.1's six connections would queue. None of it imports Element Plus.
const LIST_KIT = /\/src\/(composables\/(useQuery|useListPage|useColumns|useRouteQuery|useNarrow)\.ts|components\/record\/(DataTable|ListFilters|ColumnChooser|StandIn)\.vue|components\/(CursorPager|ErrorAlert)\.vue|pages\/customers\/CustomerFiltersStandIn\.vue|format\.ts|api\/errors\.ts)/

// The entry (src/main.ts) is small and loads the app with import(), so that its first requests
// leave before the app's code has arrived. That code is still wanted at once: preload the app's
// chunk and the chunks it imports from index.html, as Vite does for an entry's static imports.
function preloadApp(): Plugin {
  return {
    name: 'crm:preload-app',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        const bundle = ctx.bundle
        if (!bundle) return []
        const chunks = new Map<string, Rollup.OutputChunk>()
        for (const item of Object.values(bundle)) if (item.type === 'chunk') chunks.set(item.fileName, item)
        const app = [...chunks.values()].find((c) => c.facadeModuleId?.endsWith('/src/app.ts'))
        if (!app) throw new Error('crm:preload-app: no chunk for src/app.ts')
        // The light pages too (deferred.ts): small, and a first load of one then fetches nothing
        // after the app's code has run but the answer to its query.
        const light = LIGHT_PAGES.map((page) => [...chunks.values()].find((c) => c.facadeModuleId?.endsWith(page)))
        if (light.some((c) => !c)) throw new Error('crm:preload-app: a light page has no chunk')
        const files = new Set<string>()
        const css = new Set<string>()
        const visit = (name: string) => {
          const chunk = chunks.get(name)
          if (!chunk || files.has(name)) return
          files.add(name)
          chunk.viteMetadata?.importedCss.forEach((file) => css.add(file))
          chunk.imports.forEach(visit)
        }
        visit(app.fileName)
        light.forEach((chunk) => visit(chunk!.fileName))
        // Vite already preloads the entry's own imports.
        for (const file of files) if (html.includes(`/${file}"`)) files.delete(file)
        for (const file of css) if (html.includes(`/${file}"`)) css.delete(file)
        // The entry runs as soon as it has loaded, not when the HTML ends: a light page's HTML
        // ends with the server's answers to its first queries (infra/first_load.py), and the
        // app's code runs while the server works on them.
        const entry = /<script type="module" crossorigin src=/
        if (!entry.test(html)) throw new Error('crm:preload-app: no entry script in index.html')
        html = html.replace(entry, '<script type="module" async crossorigin src=')
        const tags = [
          ...[...files].map((file) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: `/${file}` }, injectTo: 'head' as const })),
          ...[...css].map((file) => ({ tag: 'link', attrs: { rel: 'preload', as: 'style', crossorigin: true, href: `/${file}` }, injectTo: 'head' as const })),
        ]
        return { html, tags }
      },
    },
  }
}

// The server's build (`vite build --ssr`, infra/web_build.py): src/ssr.ts and what it imports, as
// one CommonJS file that web/ssr/renderer.cjs evaluates in a fresh realm for each render.
// Element Plus and ECharts stay out: nothing the server draws uses them (see suspenseFallbacks).
const SERVER_BUILD = {
  target: 'node22',
  ssr: 'src/ssr.ts',
  emptyOutDir: false,
  minify: false,
  copyPublicDir: false,
  rolldownOptions: {
    external: [/^element-plus/, /^echarts/, /^@element-plus\/icons-vue\/global/],
    output: { format: 'cjs' as const, entryFileNames: 'ssr.cjs', codeSplitting: false },
  },
}

const NO_COMPILER = fileURLToPath(new URL('./ssr/no-compiler.js', import.meta.url))

// On the server a <Suspense> draws its fallback, which is what the browser's first frame shows:
// every Suspense of the app stands in for Element Plus widgets that load after the first paint
// (deferred.ts); without a fallback it draws nothing, as the browser does. (Vue's own server
// renderer would draw the default slot, awaiting the widgets.)
function suspenseFallbacks(): Plugin {
  return {
    name: 'crm:ssr-suspense-fallbacks',
    enforce: 'post',
    apply: 'build',
    transform(code, id, options) {
      if (!options?.ssr || !/\.vue(\?|$)/.test(id) || !code.includes('ssrRenderSuspense as _ssrRenderSuspense')) return null
      return code
        .replace(/ssrRenderSuspense as _ssrRenderSuspense,?\s*/, '')
        .replace(/^/, "import { ssrRenderFallback as _ssrRenderSuspense } from '@/ssrFallback'\n")
    },
  }
}

export default defineConfig(({ isSsrBuild }) => ({
  plugins: [
    woff2Only(),
    preloadApp(),
    suspenseFallbacks(),
    vue(),
    // The messages compiled at build time, so the app ships vue-i18n's runtime without its message
    // compiler and no message is parsed in the browser (it was, at first use: in the first frame).
    VueI18nPlugin({
      include: [fileURLToPath(new URL('./src/i18n/{en,zh-CN}.ts', import.meta.url))],
      runtimeOnly: true,
      compositionOnly: true,
      fullInstall: false,
      strictMessage: false,
    }),
    // Element Plus components and their styles are imported where a template uses them, so each
    // page's chunk carries only its own widgets.
    Components({
      dirs: [],
      resolvers: [ElementPlusResolver({ importStyle: 'css' })],
      dts: 'src/components.d.ts',
    }),
  ],
  resolve: {
    alias: {
      '@': fileURLToPath(new URL('./src', import.meta.url)),
      // The server renders compiled components only: Vue's template compiler stays out of its
      // bundle (each render evaluates the bundle afresh, web/ssr/renderer.cjs).
      ...(isSsrBuild ? { '@vue/compiler-dom': NO_COMPILER, '@vue/compiler-ssr': NO_COMPILER } : {}),
    },
  },
  ssr: { noExternal: true },
  build: isSsrBuild ? SERVER_BUILD : {
    target: 'es2022',
    chunkSizeWarningLimit: 800,
    reportCompressedSize: false,
    rolldownOptions: {
      output: {
        // Vue's runtime in one chunk, Element Plus's components (and their CSS) in another: a page
        // then needs two or three files instead of twenty, which on HTTP/1.1's six connections
        // queued the page's GraphQL query behind them (the list painted ~500 ms later). Element
        // Plus's icons apart: plain SVG components the shell and the light pages draw at once,
        // without the rest of Element Plus (deferred.ts). A group also takes the modules its own
        // import, unless a group of higher priority took them first: hence the order.
        codeSplitting: {
          groups: [
            { name: 'vue', test: /node_modules[\\/](@vue|vue|vue-router|vue-i18n|@intlify)[\\/]/, priority: 30 },
            { name: 'icons', test: /node_modules[\\/]@element-plus[\\/]icons-vue[\\/]/, priority: 20 },
            { name: 'list-kit', test: LIST_KIT, priority: 15, includeDependenciesRecursively: false },
            {
              name: 'element-plus',
              test: /node_modules[\\/](element-plus|@floating-ui|@vueuse|lodash-es|lodash-unified|async-validator|dayjs|@ctrl|normalize-wheel-es|memoize-one|escape-html)[\\/]/,
              priority: 10,
            },
          ],
        },
      },
    },
  },
  server: {
    proxy: { '/graphql': process.env.CRM_API ?? 'http://127.0.0.1:8000' },
  },
}))
