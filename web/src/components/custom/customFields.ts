// The tenant's custom fields of an entity, and how their values move between the API's JSON,
// a form's model and an input (`customFields: [{key, value}]`).
import { shallowRef, watch, type ShallowRef } from 'vue'
import { graphql } from '@/gql'
import type { CustomFieldDefinitionsQuery, CustomFieldEntity } from '@/gql/graphql'
import { request } from '@/api/client'
import { i18n } from '@/i18n'
import { date } from '@/format'

export const CustomFieldDefinitionsDocument = graphql(`
  query CustomFieldDefinitions($entity: CustomFieldEntity!, $removed: Boolean! = false) {
    customFieldDefinitions(entity: $entity, includeRemoved: $removed) {
      id key label type required unique sensitive position helpText deletedAt
      options { key label }
    }
  }
`)

export type Definition = CustomFieldDefinitionsQuery['customFieldDefinitions'][number]
export type CustomValues = Record<string, unknown>

/** Definitions of `entity`, fetched once per page. */
export function useDefinitions(entity: () => CustomFieldEntity): ShallowRef<Definition[]> {
  const defs = shallowRef<Definition[]>([])
  watch(entity, async (e) => {
    defs.value = (await request(CustomFieldDefinitionsDocument, { entity: e, removed: false })).customFieldDefinitions
  }, { immediate: true })
  return defs
}

/** A record's values (`customFields { key value }`) as a form's model. */
export function toValuesModel(values: readonly { key: string; value: unknown }[] | undefined): CustomValues {
  const out: CustomValues = {}
  for (const v of values ?? []) out[v.key] = v.value
  return out
}

function empty(value: unknown): boolean {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)
}

/** The model as an input: every defined field, null where empty (the API skips unchanged
 *  values, so a form that changed one field sends the list and one value changes). */
export function toValuesInput(model: CustomValues, keys: readonly string[]): { key: string; value: unknown }[] {
  // A sensitive field's value loads masked: left as it is, it is not sent (the stored one stays).
  return keys.filter((key) => model[key] !== MASK).map((key) => ({ key, value: empty(model[key]) ? null : model[key] }))
}

/** How the API shows a sensitive value to everyone (modules/pii/identity.py). */
export const MASK = '••••'

/** The API names a custom field's errors `customFields.<key>`; forms read them camel-cased. */
export function errorKey(key: string): string {
  return `customFields.${key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())}`
}

/** A value as people read it on a record's page: an option's label, yes/no, a local date. */
export function shownValue(v: { type: string; display: string; value: unknown }): string {
  const t = i18n.global.t
  if (v.type === 'BOOLEAN') return v.value ? t('customFields.yes') : t('customFields.no')
  if (v.type === 'DATE') return date(String(v.value))
  return v.display
}
