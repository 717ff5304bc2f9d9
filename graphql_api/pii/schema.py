"""What sensitive data adds to the schema (found by `graphql_api.schema`)."""

from graphql_api.pii.mutations import PiiMutations

QUERIES: list[type] = []
MUTATIONS = [PiiMutations]
TYPES: list[type] = []
