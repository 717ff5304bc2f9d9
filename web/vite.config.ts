// Vite builds the app into dist/ (the Python side, infra/web_build.py, drives it and serves the
// result). `npx vite` runs a hot-reloading dev server that sends /graphql to `make dev`'s server.
import { fileURLToPath } from 'node:url'
import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'
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

export default defineConfig({
  plugins: [
    woff2Only(),
    vue(),
    // Element Plus components and their styles are imported where a template uses them, so each
    // page's chunk carries only its own widgets.
    Components({
      dirs: [],
      resolvers: [ElementPlusResolver({ importStyle: 'css' })],
      dts: 'src/components.d.ts',
    }),
  ],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 800,
    reportCompressedSize: false,
    rollupOptions: {
      output: {
        // Element Plus's components (and their CSS) in one chunk, Vue's runtime in another: a page
        // then needs two or three files instead of twenty, which on HTTP/1.1's six connections
        // queued the page's GraphQL query behind them (the list painted ~500 ms later).
        manualChunks(id) {
          if (/node_modules\/(element-plus|@element-plus|@floating-ui|@vueuse|lodash-es|lodash-unified|async-validator|dayjs|@ctrl|normalize-wheel-es|memoize-one|escape-html)\//.test(id)) return 'element-plus'
          if (/node_modules\/(@vue|vue|vue-router|vue-i18n|@intlify)\//.test(id)) return 'vue'
          return undefined
        },
      },
    },
  },
  server: {
    proxy: { '/graphql': process.env.CRM_API ?? 'http://127.0.0.1:8000' },
  },
})
