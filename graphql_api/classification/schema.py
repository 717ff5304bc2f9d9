"""What classification adds to the schema (found by `graphql_api.schema`)."""

from graphql_api.classification.mutations import ClassificationMutations
from graphql_api.classification.queries import ClassificationQueries

QUERIES = [ClassificationQueries]
MUTATIONS = [ClassificationMutations]
TYPES: list[type] = []
