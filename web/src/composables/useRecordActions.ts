// Delete (soft) and restore a record, with a confirmation and a message (RecordPage uses it).
import { ref } from 'vue'
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { confirmDanger } from './useEditDialog'
import { i18n } from '@/i18n'
import { showError } from '@/api/errors'

export function useRecordActions(remove: () => Promise<unknown>, restore: () => Promise<unknown>, done: () => void) {
  const t = i18n.global.t
  const busy = ref(false)

  async function confirmDelete(name: string) {
    if (!(await confirmDanger(t('customers.deleteConfirm', { name }), t('common.delete')))) return
    busy.value = true
    try {
      await remove()
      ElMessage({ type: 'success', message: t('customers.deleted', { name }) })
      done()
    } catch (error) {
      showError(error)
    } finally {
      busy.value = false
    }
  }

  async function doRestore(name: string) {
    busy.value = true
    try {
      await restore()
      ElMessage({ type: 'success', message: t('customers.restored', { name }) })
      done()
    } catch (error) {
      showError(error)
    } finally {
      busy.value = false
    }
  }

  return { busy, confirmDelete, restore: doRestore }
}
