// True once the page has been painted: for widgets that are costly to render and not needed for
// the first look (the date range picker renders its hidden two-month calendar, a third of the
// contact list's DOM, and measures the layout, at mount). They render one frame later.
import { onMounted, ref } from 'vue'

export function useAfterFirstPaint() {
  const painted = ref(false)
  onMounted(() => requestAnimationFrame(() => setTimeout(() => (painted.value = true))))
  return painted
}
