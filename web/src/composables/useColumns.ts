// Which columns a list shows, chosen by the user and kept in this browser.
import { ref, watch } from 'vue'
import { rememberForServer } from '@/cookies'

export function useColumns(key: string, all: readonly string[], defaults: readonly string[]) {
  const storageKey = `crm.columns.${key}`
  let initial = [...defaults]
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) ?? 'null') as unknown
    if (Array.isArray(saved)) initial = saved.filter((c): c is string => typeof c === 'string' && (all.includes(c) || c.startsWith('cf:')))
  } catch {
    /* defaults */
  }
  const visible = ref<(string | number)[]>(initial)
  watch(visible, (value) => {
    rememberForServer(storageKey, JSON.stringify(value))
    try {
      localStorage.setItem(storageKey, JSON.stringify(value))
    } catch {
      /* this page only */
    }
  })
  const shows = (column: string) => visible.value.includes(column)
  return { visible, shows }
}
