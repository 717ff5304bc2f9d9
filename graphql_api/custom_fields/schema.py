"""What custom fields add to the schema (found by `graphql_api.schema`)."""

from graphql_api.custom_fields.mutations import CustomFieldMutations
from graphql_api.custom_fields.queries import CustomFieldQueries
from graphql_api.custom_fields.types import CustomFieldType_

QUERIES = [CustomFieldQueries]
MUTATIONS = [CustomFieldMutations]
TYPES = [CustomFieldType_]
