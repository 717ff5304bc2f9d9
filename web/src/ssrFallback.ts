// The server's <Suspense> (vite.config.ts, suspenseFallbacks): its fallback, else nothing.
export function ssrRenderFallback(push: (html: string) => void, slots: { fallback?: () => void }): void {
  if (slots.fallback) slots.fallback()
  else push('<!---->')
}
