// The tenant's members, for owner pickers and filters: asked for once per page load.
import { shallowRef } from 'vue'
import { graphql } from '@/gql'
import type { MembersQuery } from '@/gql/graphql'
import { request } from '@/api/client'

const MembersDocument = graphql(`
  query Members($first: Int!, $after: String) {
    members(first: $first, after: $after) {
      nodes { role status user { id name email } }
      pageInfo { hasNextPage endCursor }
    }
  }
`)

export type Member = MembersQuery['members']['nodes'][number]
const members = shallowRef<Member[]>([])
let loading: Promise<Member[]> | null = null

async function loadAll(): Promise<Member[]> {
  const all: Member[] = []
  let after: string | null = null
  for (;;) {
    const data: MembersQuery = await request(MembersDocument, { first: 100, after })
    all.push(...data.members.nodes)
    if (!data.members.pageInfo.hasNextPage) break
    after = data.members.pageInfo.endCursor ?? null
  }
  members.value = all
  return all
}

export function useMembers() {
  loading ??= loadAll().catch((error) => {
    loading = null
    throw error
  })
  loading.catch(() => {})
  return members
}

export function loadMembers(): Promise<Member[]> {
  useMembers()
  return loading!
}
