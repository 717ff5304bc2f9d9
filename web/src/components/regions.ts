// Mainland China's provinces, cities and districts for the address picker, from the
// china-area-data package (loaded only with a form). Values are the names, as the API stores them;
// a municipality's city is the municipality itself (上海市 / 上海市 / 浦东新区).
export interface RegionOption {
  value: string
  label: string
  children?: RegionOption[]
  [key: string]: unknown // Element Plus's CascaderOption allows more keys
}

let cached: Promise<RegionOption[]> | null = null

export function loadRegions(): Promise<RegionOption[]> {
  cached ??= import('china-area-data/data.json').then(({ default: data }) => {
    const table = data as Record<string, Record<string, string>>
    const build = (code: string, depth: number, parentName: string): RegionOption[] =>
      Object.entries(table[code] ?? {}).map(([childCode, rawName]) => {
        const name = rawName === '市辖区' || rawName === '县' ? parentName : rawName
        const children = depth < 3 && table[childCode] ? build(childCode, depth + 1, name) : undefined
        return children?.length ? { value: name, label: name, children } : { value: name, label: name }
      })
    return build('86', 1, '')
  })
  return cached
}
