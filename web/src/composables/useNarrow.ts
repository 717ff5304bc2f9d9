// True on a phone-sized screen, for layouts that change more than CSS can say.
import { onBeforeUnmount, ref } from 'vue'

export function useNarrow(query = '(max-width: 768px)') {
  const media = window.matchMedia(query)
  const narrow = ref(media.matches)
  const update = (e: MediaQueryListEvent) => (narrow.value = e.matches)
  media.addEventListener('change', update)
  onBeforeUnmount(() => media.removeEventListener('change', update))
  return narrow
}
