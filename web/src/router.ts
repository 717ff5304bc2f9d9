// Client routes. Every page but sign-in needs a session; a page may also name the permission it
// needs (`meta.permission`), and without it the user sees "no access" rather than a broken page.
import { createMemoryHistory, createRouter, createWebHistory, type LocationQuery } from 'vue-router'
import { Permission, can, ensureSession, session } from '@/session'
import AppShell from '@/layouts/AppShell.vue'
import { prefetchContactList } from '@/pages/customers/contactList'
import { prefetchCompanyList } from '@/pages/customers/companyList'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    permission?: string
    title?: string // a message key
    prefetch?: (query: LocationQuery) => void // the page's first query, sent while its code loads
    light?: boolean // renders its first frame without Element Plus (deferred.ts); others wait for it
  }
}

export const router = createRouter({
  // On the server (src/ssr.ts), the page being drawn is the only place this router goes.
  history: import.meta.env.SSR ? createMemoryHistory() : createWebHistory(),
  routes: [
    {
      path: '/sign-in',
      name: 'sign-in',
      component: () => import('@/pages/SignIn.vue'),
      meta: { public: true, title: 'signIn.title' },
    },
    {
      path: '/',
      component: AppShell,
      children: [
        { path: '', name: 'dashboard', component: () => import('@/pages/Dashboard.vue'), meta: { title: 'dashboard.title' } },
        { path: 'contacts', name: 'contacts', component: () => import('@/pages/customers/ContactList.vue'), meta: { title: 'contacts.title', prefetch: prefetchContactList, light: true } },
        { path: 'contacts/new', name: 'contact-new', component: () => import('@/pages/customers/ContactForm.vue'), meta: { title: 'contacts.new', permission: Permission.customersWrite } },
        { path: 'contacts/:id', name: 'contact', component: () => import('@/pages/customers/ContactDetail.vue'), props: true, meta: { title: 'contacts.title' } },
        { path: 'contacts/:id/edit', name: 'contact-edit', component: () => import('@/pages/customers/ContactForm.vue'), props: true, meta: { title: 'contacts.edit', permission: Permission.customersWrite } },
        { path: 'companies', name: 'companies', component: () => import('@/pages/customers/CompanyList.vue'), meta: { title: 'companies.title', prefetch: prefetchCompanyList, light: true } },
        { path: 'companies/new', name: 'company-new', component: () => import('@/pages/customers/CompanyForm.vue'), meta: { title: 'companies.new', permission: Permission.customersWrite } },
        { path: 'companies/:id', name: 'company', component: () => import('@/pages/customers/CompanyDetail.vue'), props: true, meta: { title: 'companies.title', prefetch: prefetchCompanyList } },
        { path: 'companies/:id/edit', name: 'company-edit', component: () => import('@/pages/customers/CompanyForm.vue'), props: true, meta: { title: 'companies.edit', permission: Permission.customersWrite } },
        // Duplicates and merges (pages/duplicates)
        { path: 'duplicates', name: 'duplicates', component: () => import('@/pages/duplicates/DuplicateGroups.vue'), meta: { title: 'duplicates.title', permission: Permission.customersWrite } },
        { path: 'duplicates/merge', name: 'merge', component: () => import('@/pages/duplicates/MergeCustomers.vue'), meta: { title: 'duplicates.merge.title', permission: Permission.customersWrite } },
        { path: 'search', name: 'search', component: () => import('@/pages/search/SearchResults.vue'), meta: { title: 'search.title' } },
        { path: 'tags', name: 'tags', component: () => import('@/pages/tags/TagList.vue'), meta: { title: 'tags.title', permission: Permission.tagsRead } },
        // Interactions (pages/interactions)
        { path: 'follow-ups', name: 'follow-ups', component: () => import('@/pages/interactions/FollowUps.vue'), meta: { title: 'interactions.followUps.title', permission: Permission.interactionsRead } },
        { path: 'admin/interaction-types', name: 'interaction-types', component: () => import('@/pages/interactions/InteractionTypeList.vue'), meta: { title: 'interactions.types.title', permission: Permission.interactionsRead } },
        { path: 'admin/members', name: 'members', component: () => import('@/pages/admin/MemberList.vue'), meta: { title: 'members.title', permission: Permission.usersManage } },
        { path: 'admin/departments', name: 'departments', component: () => import('@/pages/admin/DepartmentList.vue'), meta: { title: 'departments.title', permission: Permission.usersManage } },
        { path: 'admin/api-keys', name: 'api-keys', component: () => import('@/pages/admin/ApiKeyList.vue'), meta: { title: 'apiKeys.title', permission: Permission.apiKeysManage } },
        { path: 'admin/webhooks', name: 'webhooks', component: () => import('@/pages/webhooks/WebhookList.vue'), meta: { title: 'webhooks.title', permission: Permission.webhooksManage } },
        { path: 'admin/webhooks/deliveries', name: 'webhook-deliveries', component: () => import('@/pages/webhooks/WebhookDeliveries.vue'), meta: { title: 'webhooks.deliveryLog', permission: Permission.webhooksManage } },
        { path: 'admin/custom-fields', name: 'custom-fields', component: () => import('@/pages/admin/CustomFieldList.vue'), meta: { title: 'customFields.title', permission: Permission.fieldsRead } },
        { path: 'segments', name: 'segments', component: () => import('@/pages/segments/SegmentList.vue'), meta: { title: 'segments.title', permission: Permission.segmentsRead } },
        { path: 'admin/classification', name: 'classification', component: () => import('@/pages/admin/ClassificationRules.vue'), meta: { title: 'classification.title', permission: Permission.segmentsRead } },
        { path: 'admin/audit', name: 'audit', component: () => import('@/pages/admin/AuditLog.vue'), meta: { title: 'audit.title', permission: Permission.auditRead } },
        { path: ':pathMatch(.*)*', name: 'not-found', component: () => import('@/pages/NotFound.vue'), meta: { title: 'errors.notFoundTitle' } },
      ],
    },
  ],
})

router.beforeEach(async (to) => {
  // Fetch the page's code while the session is being checked, not after.
  for (const record of to.matched) {
    const component = record.components?.default
    if (typeof component === 'function') (component as () => Promise<unknown>)().catch(() => {})
  }
  // ... and its first query too, unless it is known that nobody is signed in.
  if (to.meta.prefetch && (!session.loaded || session.viewer)) to.meta.prefetch(to.query)
  await ensureSession()
  if (to.meta.public) return session.viewer && to.name === 'sign-in' ? { name: 'dashboard' } : true
  if (!session.viewer) {
    return { name: 'sign-in', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } }
  }
  return true
})

export function allowed(permission: string | undefined): boolean {
  return !permission || can(permission)
}
