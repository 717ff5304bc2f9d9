"""What the departments domain adds to the schema (found by `graphql_api.schema`)."""

from graphql_api.departments.mutations import DepartmentMutations
from graphql_api.departments.queries import DepartmentQueries
from graphql_api.departments.types import DepartmentType

QUERIES = [DepartmentQueries]
MUTATIONS = [DepartmentMutations]
TYPES = [DepartmentType]
