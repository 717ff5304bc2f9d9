"""What the tenancy domain adds to the schema (found by `graphql_api.schema`)."""

from graphql_api.tenancy.mutations import TenancyMutations
from graphql_api.tenancy.queries import TenancyQueries
from graphql_api.tenancy.session import SessionMutations, SessionQueries
from graphql_api.tenancy.types import UserType

QUERIES = [TenancyQueries, SessionQueries]
MUTATIONS = [TenancyMutations, SessionMutations]
TYPES = [UserType]
