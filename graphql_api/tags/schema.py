"""What the tags domain adds to the schema (found by `graphql_api.schema`)."""

from graphql_api.tags.mutations import TagMutations
from graphql_api.tags.queries import TagQueries
from graphql_api.tags.types import TagType

QUERIES = [TagQueries]
MUTATIONS = [TagMutations]
TYPES = [TagType]
