// Mainland China's provinces, cities and districts for the address picker, one level at a time
// from the server (`divisions(parentCode)`: the data the API checks addresses against), each
// level fetched once per page load. Values are the GB/T 2260 codes; labels the Chinese names, or
// in English pages their pinyin.
import { graphql } from '@/gql'
import { request } from '@/api/client'

const DivisionsDocument = graphql(`
  query Divisions($parentCode: String) {
    divisions(parentCode: $parentCode) { code name nameEn hasChildren }
  }
`)

export interface Division {
  code: string
  name: string
  nameEn: string
  hasChildren: boolean
}

const levels = new Map<string, Promise<Division[]>>()

export function loadDivisions(parentCode: string | null): Promise<Division[]> {
  const key = parentCode ?? ''
  let level = levels.get(key)
  if (!level) {
    level = request(DivisionsDocument, { parentCode }).then((d) => d.divisions)
    level.catch(() => levels.delete(key)) // a failed level is asked for again next time
    levels.set(key, level)
  }
  return level
}
