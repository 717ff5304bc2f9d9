"""What segments add to the schema (found by `graphql_api.schema`); importing `filters`
registers the saved filters' reader and `filter.segment` of the customer lists."""

from graphql_api.segments import filters as _filters  # noqa: F401
from graphql_api.segments.mutations import SegmentMutations
from graphql_api.segments.queries import SegmentQueries
from graphql_api.segments.types import SegmentType

QUERIES = [SegmentQueries]
MUTATIONS = [SegmentMutations]
TYPES = [SegmentType]
