// A customer list's columns for the tenant's custom fields (`cf:<key>` in the column choice).
// The list's own query stays as it is (its first paint is rendered by the database, which
// custom values are not): the values of the page's rows come from a second query with the
// same variables, sent only while a custom column is shown, and are matched by id.
import { computed, onMounted, shallowRef, type Ref } from 'vue'
import { graphql } from '@/gql'
import type { CustomFieldEntity, CustomerFilter, CustomerSort } from '@/gql/graphql'
import { request } from '@/api/client'
import { can, Permission } from '@/session'
import { useQuery } from '@/composables/useQuery'
import type { Column } from '@/components/record/DataTable.vue'
import { CustomFieldDefinitionsDocument, shownValue, type Definition } from './customFields'

const ContactValuesDocument = graphql(`
  query ContactListCustomValues($first: Int!, $after: String, $filter: CustomerFilter, $sort: CustomerSort!) {
    contacts(first: $first, after: $after, filter: $filter, sort: $sort) {
      nodes { id customFields { key type value display } }
    }
  }
`)
const CompanyValuesDocument = graphql(`
  query CompanyListCustomValues($first: Int!, $after: String, $filter: CustomerFilter, $sort: CustomerSort!) {
    companies(first: $first, after: $after, filter: $filter, sort: $sort) {
      nodes { id customFields { key type value display } }
    }
  }
`)

export const PREFIX = 'cf:'
type Variables = { first: number; after: string | null; sort: CustomerSort; filter: CustomerFilter }
type Shown = { key: string; type: string; value: unknown; display: string }

export function useCustomColumns(entity: CustomFieldEntity, visible: Ref<(string | number)[]>, variables: () => Variables) {
  const defs = shallowRef<Definition[]>([])
  onMounted(() => {
    // After the list's first frame: the definitions only name the columns one may choose.
    if (!can(Permission.fieldsRead)) return
    setTimeout(() => {
      request(CustomFieldDefinitionsDocument, { entity, removed: false })
        .then((r) => (defs.value = r.customFieldDefinitions))
        .catch(() => (defs.value = []))
    }, 0)
  })
  const choices = computed(() => defs.value.map((d) => PREFIX + d.key))
  const labels = computed(() => Object.fromEntries(defs.value.map((d) => [PREFIX + d.key, d.label])))
  const shown = computed(() => defs.value.filter((d) => visible.value.includes(PREFIX + d.key)))
  const columns = computed<Column[]>(() => shown.value.map((d) => ({
    key: PREFIX + d.key, label: d.label, minWidth: 120, ellipsis: true,
    align: d.type === 'NUMBER' || d.type === 'DECIMAL' ? 'right' : 'left',
  })))
  const document = entity === 'CONTACT' ? ContactValuesDocument : CompanyValuesDocument
  const { data } = useQuery(document as typeof ContactValuesDocument, () => (shown.value.length ? variables() : null))
  const byId = computed(() => {
    const out = new Map<string, Map<string, Shown>>()
    const answer = data.value as { contacts?: { nodes: { id: string; customFields: Shown[] }[] }; companies?: { nodes: { id: string; customFields: Shown[] }[] } } | null
    for (const node of (answer?.contacts ?? answer?.companies)?.nodes ?? []) {
      out.set(node.id, new Map(node.customFields.map((v) => [PREFIX + v.key, v])))
    }
    return out
  })
  function cell(rowId: string, column: string): string {
    const value = byId.value.get(rowId)?.get(column)
    return value ? shownValue(value) : ''
  }
  return { choices, labels, columns, cell }
}
