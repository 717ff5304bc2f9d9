// Evaluated first (main.ts imports it before anything else): asks who is signed in while the
// rest of the app's modules are still being evaluated, instead of after. session.ts takes the
// answer from here the first time.
import { MeDocument, type MeQuery } from '@/gql/graphql'
import { request } from '@/api/client'

let early: Promise<MeQuery> | null = request(MeDocument)
early.catch(() => {}) // handled by whoever takes it

export function takeEarlyViewer(): Promise<MeQuery> | null {
  const taken = early
  early = null
  return taken
}
