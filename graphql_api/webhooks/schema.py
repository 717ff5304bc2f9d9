"""What the webhooks domain adds to the schema (found by `graphql_api.schema`)."""

from graphql_api.webhooks.mutations import WebhookMutations
from graphql_api.webhooks.queries import WebhookQueries
from graphql_api.webhooks.types import WebhookSubscriptionType

QUERIES = [WebhookQueries]
MUTATIONS = [WebhookMutations]
TYPES = [WebhookSubscriptionType]
