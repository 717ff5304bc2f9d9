// What every create/edit page does: a blank model (create) or the record read into one (edit),
// and on save only the fields that changed sent to the API; VALIDATION errors put beside their
// fields (`errors`, by the form's field names) and the first of them focused; then on to the
// record's page. A page gives its documents as functions and how its model maps to the input.
import { computed, reactive, ref, shallowRef, type UnwrapRef } from 'vue'
import { useRouter } from 'vue-router'
import { useI18n } from 'vue-i18n'
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { ApiError } from '@/api/client'
import { fieldMessages, showError } from '@/api/errors'
import { changes, focusFirstError } from '@/formState'

export interface RecordFormOptions<M extends object, I> {
  id: () => string | undefined
  blank: () => M
  /** The record to edit, as the form's model. */
  load: (id: string) => Promise<M>
  /** The model as the API's input (every field); only what changed is sent. */
  toInput: (model: M) => Record<string, unknown>
  create: (input: I) => Promise<{ id: string; name: string }>
  update: (id: string, input: I) => Promise<{ id: string; name: string }>
  /** Route names: the record's page (after saving, or cancelling an edit) and its list. */
  routes: { record: string; list: string }
}

export function useRecordForm<M extends object, I>(options: RecordFormOptions<M, I>) {
  const { t } = useI18n()
  const router = useRouter()
  const model = reactive(options.blank())
  const original = shallowRef<M | null>(null)
  const errors = ref<Record<string, string>>({})
  const loadError = shallowRef<ApiError | null>(null)
  const busy = ref(false)
  const loading = ref(false)
  const editing = computed(() => Boolean(options.id()))

  const id = options.id()
  if (id) {
    loading.value = true
    options
      .load(id)
      .then((loaded) => {
        original.value = structuredClone(loaded)
        Object.assign(model, loaded)
      })
      .catch((e) => (loadError.value = e instanceof ApiError ? e : null))
      .finally(() => (loading.value = false))
  }

  function input(): I {
    const before = original.value ? options.toInput(original.value) : null
    return changes(options.toInput(model as M), before) as I
  }

  async function submit() {
    busy.value = true
    errors.value = {}
    const id = options.id()
    try {
      const saved = id ? await options.update(id, input()) : await options.create(input())
      ElMessage({ type: 'success', message: id ? t('customers.saved') : t('customers.created', { name: saved.name }) })
      await router.push({ name: options.routes.record, params: { id: saved.id } })
    } catch (e) {
      if (e instanceof ApiError && e.code === 'VALIDATION') {
        errors.value = fieldMessages(e)
        ElMessage({ type: 'warning', message: t('validation.fixBelow') })
        focusFirstError()
      } else {
        showError(e)
      }
    } finally {
      busy.value = false
    }
  }

  function cancel() {
    const id = options.id()
    if (id) void router.push({ name: options.routes.record, params: { id } })
    else void router.push({ name: options.routes.list })
  }

  return { model: model as UnwrapRef<M>, errors, loadError, busy, loading, editing, submit, cancel }
}
