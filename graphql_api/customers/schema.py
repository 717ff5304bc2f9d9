"""What the customers domain adds to the schema (found by `graphql_api.schema`)."""

from graphql_api.customers.bulk import BulkMutations
from graphql_api.customers.divisions import DivisionQueries
from graphql_api.customers.duplicates import DuplicateQueries, MergeMutations
from graphql_api.customers.mutations import CustomerMutations
from graphql_api.customers.queries import CustomerQueries
from graphql_api.customers.search import CustomerSearchQueries
from graphql_api.customers.types import CompanyType, ContactType

QUERIES = [CustomerQueries, CustomerSearchQueries, DivisionQueries, DuplicateQueries]
MUTATIONS = [CustomerMutations, BulkMutations, MergeMutations]
TYPES = [ContactType, CompanyType]
