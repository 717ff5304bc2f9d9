// Who is signed in, in which tenant, with which permissions: loaded from `me`, changed only by
// the login, switchTenant and logout mutations. Pages ask `can(permission)` to decide what to offer; the API
// checks again whatever they send.
import { reactive, readonly } from 'vue'
import { graphql } from '@/gql'
import type { MeQuery } from '@/gql/graphql'
import { ApiError, request, setUnauthenticatedHandler } from '@/api/client'
import { applyTenantLocale } from '@/i18n'
import { takeEarlyViewer } from '@/boot'

const MeDocument = graphql(`
  query Me {
    me {
      kind
      role
      permissions
      user { id name email }
      tenant { id name slug locale defaultRegion }
    }
  }
`)

const LoginDocument = graphql(`
  mutation Login($email: String!, $password: String!, $tenant: String) {
    login(email: $email, password: $password, tenant: $tenant) {
      userId
      tenant { id slug name }
      tenants { id slug name }
    }
  }
`)

const MyTenantsDocument = graphql(`
  query MyTenants {
    myTenants { id slug name }
  }
`)

const SwitchTenantDocument = graphql(`
  mutation SwitchTenant($tenant: String!) {
    switchTenant(tenant: $tenant) { id slug name }
  }
`)

const LogoutDocument = graphql(`
  mutation Logout {
    logout
  }
`)

export type Viewer = MeQuery['me']
export interface TenantChoice {
  id: string
  slug: string
  name: string
}

const state = reactive({
  viewer: null as Viewer | null,
  loaded: false,
})
export const session = readonly(state)

let loading: Promise<void> | null = null

export async function loadViewer(): Promise<void> {
  try {
    const data = await (takeEarlyViewer() ?? request(MeDocument))
    state.viewer = data.me
    applyTenantLocale(data.me.tenant.locale)
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'UNAUTHENTICATED') throw error
    state.viewer = null
  } finally {
    state.loaded = true
  }
}

/** Loads the viewer once; later calls wait for the same answer. */
export function ensureSession(): Promise<void> {
  loading ??= loadViewer().catch((error) => {
    loading = null
    throw error
  })
  return loading
}

export type SignInResult = { signedIn: true } | { signedIn: false; tenants: TenantChoice[] }

export async function signIn(email: string, password: string, tenant?: string): Promise<SignInResult> {
  const { login } = await request(LoginDocument, { email, password, tenant: tenant ?? null })
  if (!login.tenant) return { signedIn: false, tenants: login.tenants }
  await loadViewer()
  loading = Promise.resolve()
  return { signedIn: true }
}

/** The tenants the signed-in user may switch to, the current one included. */
export async function myTenants(): Promise<TenantChoice[]> {
  return (await request(MyTenantsDocument)).myTenants
}

/** Moves the session to another tenant of the user's (no password: the session vouches for
 *  them). The caller reloads the app, so nothing of the tenant left stays in memory. */
export async function switchTenant(slug: string): Promise<void> {
  await request(SwitchTenantDocument, { tenant: slug })
}

export async function signOut(): Promise<void> {
  try {
    await request(LogoutDocument)
  } finally {
    forget()
  }
}

/** Drops what the app knows of the session (it ended, or the server says it has). */
export function forget(): void {
  state.viewer = null
  loading = Promise.resolve()
}

export function can(permission: string): boolean {
  return state.viewer?.permissions.includes(permission) ?? false
}

export const Permission = {
  customersWrite: 'customers:write',
  customersDelete: 'customers:delete',
  tagsRead: 'tags:read',
  tagsWrite: 'tags:write',
  tagsDelete: 'tags:delete',
  customersReadAll: 'customers:read_all',
  auditRead: 'audit:read',
  usersManage: 'users:manage',
  apiKeysManage: 'api_keys:manage',
  webhooksManage: 'webhooks:manage',
  tenantManage: 'tenant:manage',
  // Interactions (pages/interactions)
  interactionsRead: 'interactions:read',
  interactionsReadAll: 'interactions:read_all',
  interactionsWrite: 'interactions:write',
  interactionTypesManage: 'interaction_types:manage',
  // Custom fields (pages/admin/CustomFieldList.vue, components/custom)
  fieldsRead: 'fields:read',
  fieldsManage: 'fields:manage',
  // Segments, saved views, classification (pages/segments, pages/admin/ClassificationRules.vue)
  segmentsRead: 'segments:read',
  segmentsWrite: 'segments:write',
  segmentsManage: 'segments:manage',
  customersExport: 'customers:export',
  classificationManage: 'classification:manage',
  // Sensitive data (pages/customers/RevealValue.vue, ContactDataRequests.vue)
  piiRead: 'pii:read',
  piiErase: 'pii:erase',
} as const

export function onSessionLost(handler: () => void): void {
  setUnauthenticatedHandler(() => {
    if (state.viewer) {
      forget()
      handler()
    }
  })
}
