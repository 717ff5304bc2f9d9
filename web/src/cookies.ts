// What the server needs to draw a light page's first frame as the app will (infra/ssr.py): the
// language and the list columns the user chose, their time zone, the window's width. Kept in this browser's storage
// by the app, and in cookies of the same names for the server: nothing secret, readable by the
// page (not HttpOnly), sent only to this site.
export function rememberForServer(name: string, value: string): void {
  const secure = window.location.protocol === 'https:' ? '; Secure' : ''
  document.cookie = `${name}=${encodeURIComponent(value)}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`
}

/** Once the page has nothing else to do (Intl's first use costs tens of ms): the browser's time
 *  zone, for the dates of the server's first frames, and any choice kept in this browser's
 *  storage from before the server drew frames, so that its next frame already shows it. */
export function rememberAllForServer(): void {
  const cookies = new Set(document.cookie.split('; '))
  const keep = (name: string, value: string | null) => {
    if (value && !cookies.has(`${name}=${encodeURIComponent(value)}`)) rememberForServer(name, value)
  }
  keep('crm.tz', Intl.DateTimeFormat().resolvedOptions().timeZone)
  keep('crm.width', String(Math.round(window.innerWidth)))
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i)
      if (key === 'crm.locale' || key?.startsWith('crm.columns.')) keep(key, localStorage.getItem(key))
    }
  } catch {
    /* no storage: nothing was chosen */
  }
}
