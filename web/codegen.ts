// Typed GraphQL documents: every `graphql(`…`)` in src/ is checked against the API's schema
// (exported from the Python code into schema.graphql by infra/web_build.py) and gets result and
// variable types in src/gql/. A field the API drops or changes fails here or in vue-tsc.
import type { CodegenConfig } from '@graphql-codegen/cli'

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/**/*.ts', 'src/**/*.vue', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  silent: true,
  errorsOnly: true,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: 'string',
        useTypeImports: true,
        enumsAsTypes: true,
        skipTypename: true,
        strictScalars: true,
        scalars: { DateTime: 'string', Date: 'string', JSON: 'unknown', Decimal: 'string' },
      },
    },
  },
}

export default config
