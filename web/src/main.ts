// The entry, kept small and free of Vue and Element Plus so that it runs as soon as it arrives:
// boot.ts sends the session check and the page's first query, then the app's code and the first
// page's are fetched while they are answered (instead of the requests waiting for all of it to
// arrive and run). index.html preloads the app's chunks (vite.config.ts, preloadApp).
//
// When the server has drawn the page's first frame (a light page: `#app[data-drawn]`, see
// infra/ssr.py), the app waits until that frame is on screen: its code evaluating and mounting
// (over the same frame, with the same answers) would otherwise hold up the paint, or on a
// machine with few cores starve the threads that put it on screen; so would compiling its
// chunks, which are preloaded only then.
import { loadFirstPage } from './boot'

function start() {
  // On a page the server drew, the app's chunks are preloaded only now (infra/web.py).
  for (const link of document.querySelectorAll<HTMLLinkElement>('link[data-rel]')) link.rel = link.dataset.rel!
  void import('./app')
  loadFirstPage()
}

function onScreen(): Promise<void> {
  return new Promise((resolve) => {
    if (!PerformanceObserver.supportedEntryTypes?.includes('paint')) {
      requestAnimationFrame(() => setTimeout(resolve))
      return
    }
    let timer = 0
    const observer = new PerformanceObserver((list) => {
      if (list.getEntriesByName('first-contentful-paint').length) done()
    })
    const done = () => {
      observer.disconnect()
      clearTimeout(timer)
      resolve()
    }
    observer.observe({ type: 'paint', buffered: true })
    timer = window.setTimeout(done, 1500) // a page in a background tab is not painted
  })
}

// (A module script runs once the page is parsed: by then the frame is there, or the server
// could not draw it in time and the app draws the page, at once.)
if (document.querySelector('#app[data-drawn]')) void onScreen().then(start)
else start()
