"""What the workers domain adds to the schema (found by `graphql_api.schema`)."""

from graphql_api.workers.queries import WorkerQueries
from graphql_api.workers.types import QueueStatus, WorkerFailureType, WorkerStatus

QUERIES = [WorkerQueries]
MUTATIONS: list[type] = []
TYPES = [WorkerStatus, QueueStatus, WorkerFailureType]
