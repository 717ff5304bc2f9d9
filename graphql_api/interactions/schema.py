"""What the interactions domain adds to the schema (found by `graphql_api.schema`)."""

from graphql_api.interactions.mutations import InteractionMutations
from graphql_api.interactions.queries import InteractionQueries
from graphql_api.interactions.types import (
    InteractionNode,
    InteractionTypeType,
    RecordChangeType,
    SurveyResponseNode,
)

QUERIES = [InteractionQueries]
MUTATIONS = [InteractionMutations]
TYPES = [InteractionTypeType, InteractionNode, SurveyResponseNode, RecordChangeType]
