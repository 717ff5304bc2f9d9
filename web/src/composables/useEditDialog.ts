// The create/edit dialog of a settings page, and the confirmed row actions around it (delete,
// restore, revoke, …): one shape for tags, interaction types, custom fields, departments and the
// pages after them. A page says what its form holds, how it is sent and what it is called when
// saved; errors land where the user looks: the API's VALIDATION fields and a CONFLICT on a field
// (a name taken) beside their fields, anything else as a message by its code (api/errors.ts).
import { reactive, ref, type Ref } from 'vue'
import { ElMessage, ElMessageBox } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import 'element-plus/es/components/message-box/style/css'
import { i18n } from '@/i18n'
import { ApiError } from '@/api/client'
import { fieldMessages, showError } from '@/api/errors'

/** Asks before something that destroys or takes away; true when the user confirmed. */
export async function confirmDanger(message: string, title: string, button: string = title): Promise<boolean> {
  const t = i18n.global.t
  try {
    await ElMessageBox.confirm(message, title, {
      type: 'warning',
      confirmButtonText: button,
      cancelButtonText: t('common.cancel'),
      confirmButtonClass: 'el-button--danger',
    })
    return true
  } catch {
    return false // cancelled
  }
}

export interface Confirmation {
  message: string
  title: string
  button?: string
}

/** Runs a row's action after its confirmation (if any), then `done` (a reload); an error is
 * shown by its code. True when the action ran. */
export async function rowAction(action: () => Promise<unknown>, done: () => unknown, confirm?: Confirmation): Promise<boolean> {
  if (confirm && !(await confirmDanger(confirm.message, confirm.title, confirm.button))) return false
  try {
    await action()
  } catch (error) {
    showError(error)
    return false
  }
  await done()
  return true
}

/** A failed save's errors by field (VALIDATION; CONFLICT on a field named in `conflicts`, with
 * the message given there), or null when the error is not about the input. */
export function inputErrors(error: unknown, conflicts: Record<string, string> = {}): Record<string, string> | null {
  if (!(error instanceof ApiError)) return null
  if (error.code === 'VALIDATION') return fieldMessages(error)
  const field = error.extensions.field
  if (error.code === 'CONFLICT' && field && conflicts[field]) return { [field]: conflicts[field] }
  return null
}

export interface EditDialogOptions<Row, Form extends object> {
  /** The form's values: for a new record (no row), or for editing this one. */
  values: (row: Row | null) => Form
  /** Sends the form: create when there is no row, else update it. */
  submit: (form: Form, row: Row | null) => Promise<unknown>
  /** The success message. */
  saved: (form: Form) => string
  /** Messages for a CONFLICT on a field (e.g. `{ name: 'That name is taken' }`). */
  conflicts?: () => Record<string, string>
  /** After a save: reload the list. */
  done: () => unknown
}

export function useEditDialog<Row, Form extends object>(options: EditDialogOptions<Row, Form>) {
  const open = ref(false)
  const row = ref(null) as Ref<Row | null>
  const form = reactive(options.values(null)) as Form
  const errors = ref<Record<string, string>>({})
  const busy = ref(false)

  function edit(which?: Row) {
    row.value = which ?? null
    Object.assign(form, options.values(row.value))
    errors.value = {}
    open.value = true
  }

  async function save() {
    busy.value = true
    errors.value = {}
    try {
      await options.submit(form, row.value)
      open.value = false
      ElMessage({ type: 'success', message: options.saved(form) })
      await options.done()
    } catch (error) {
      const found = inputErrors(error, options.conflicts?.())
      if (found) errors.value = found
      else showError(error)
    } finally {
      busy.value = false
    }
  }

  return { open, row, form, errors, busy, edit, save }
}
