// The entry, kept small and free of Vue and Element Plus so that it runs as soon as it arrives:
// boot.ts sends the session check and the page's first query, then the app's code and the first
// page's are fetched while they are answered (instead of the requests waiting for all of it to
// arrive and run). index.html preloads the app's chunks (vite.config.ts, preloadApp).
import { loadFirstPage } from './boot'

void import('./app')
loadFirstPage()
