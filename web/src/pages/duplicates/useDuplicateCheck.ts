// The duplicate check (查重) of a contact or company form: asked while the user types (debounced)
// and once more just before saving (`flush`), so the warning is current when it matters. What
// it shows comes from the API, which answers only the category of a record the user may not see.
import { ref, shallowRef, watch } from 'vue'
import { ElMessageBox } from 'element-plus'
import 'element-plus/es/components/message-box/style/css'
import { i18n } from '@/i18n'
import { graphql } from '@/gql'
import type { CustomerDuplicatesInput, DuplicateAttribute } from '@/gql/graphql'
import { request } from '@/api/client'

const CustomerDuplicatesDocument = graphql(`
  query CustomerDuplicates($input: CustomerDuplicatesInput!) {
    customerDuplicates(input: $input) {
      matchedOn category kind
      record { __typename id name }
    }
  }
`)

export type DuplicateMatches = Awaited<ReturnType<typeof check>>
export type DuplicateMatch = DuplicateMatches[number]

async function check(input: CustomerDuplicatesInput) {
  return (await request(CustomerDuplicatesDocument, { input })).customerDuplicates
}

const DEBOUNCE_MS = 400

/** The values typed into a form's phone or email rows (blank rows left out). */
export function typed(rows: { value: string }[]): string[] {
  return rows.map((r) => r.value.trim()).filter(Boolean)
}

export function useDuplicateCheck(probe: () => CustomerDuplicatesInput | null) {
  const matches = shallowRef<DuplicateMatches>([])
  const checking = ref(false)
  let timer: ReturnType<typeof setTimeout> | undefined
  let sequence = 0

  async function run(): Promise<DuplicateMatches> {
    clearTimeout(timer)
    const input = probe()
    const mine = ++sequence
    if (!input) {
      matches.value = []
      return []
    }
    checking.value = true
    try {
      const found = await check(input)
      if (mine === sequence) matches.value = found
      return found
    } catch {
      return matches.value // a failed check never blocks the form: saving says what is wrong
    } finally {
      if (mine === sequence) checking.value = false
    }
  }

  watch(() => JSON.stringify(probe()), () => {
    clearTimeout(timer)
    timer = setTimeout(() => void run(), DEBOUNCE_MS)
  })

  /** The matches under one field. */
  function on(...attributes: DuplicateAttribute[]): DuplicateMatches {
    return matches.value.filter((m) => attributes.includes(m.matchedOn))
  }

  /** Before saving: the check once more, and if it finds anything, the user's go-ahead. */
  async function confirmSave(): Promise<boolean> {
    const found = await run()
    if (!found.length) return true
    const t = i18n.global.t
    try {
      await ElMessageBox.confirm(t('duplicates.confirmSave', { n: found.length }), t('duplicates.confirmTitle'), {
        confirmButtonText: t('duplicates.saveAnyway'),
        cancelButtonText: t('common.cancel'),
        type: 'warning',
      })
      return true
    } catch {
      return false
    }
  }

  return { matches, checking, flush: run, on, confirmSave }
}
