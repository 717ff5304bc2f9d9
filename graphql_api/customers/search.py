"""`customerSearch`: contacts and companies in one ranked connection, each edge saying why it
matched. The ranking and the record rule are `modules.customers.search`'s; the nodes are loaded
in two batches (one per type) by the request's data loaders."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.customers.types import Customer
from graphql_api.permissions import needs
from graphql_api.relay import PageInfo
from infra.pagination import Page
from modules.customers import search
from modules.customers.entities import COMPANY, CONTACT


@strawberry.enum(name="CustomerSearchField", description="What a search result matched on.")
class SearchField(Enum):
    NAME = "NAME"
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    COMPANY = strawberry.enum_value("COMPANY", description="A contact's company's name.")


@strawberry.enum(name="CustomerSearchMatch", description="How closely a search result matched.")
class SearchMatch(Enum):
    EXACT = "EXACT"
    PREFIX = strawberry.enum_value("PREFIX", description="The start of the field or of a word.")
    SUBSTRING = "SUBSTRING"
    SIMILAR = strawberry.enum_value("SIMILAR", description="A similar spelling (a typo).")


_MATCHES = (SearchMatch.EXACT, SearchMatch.PREFIX, SearchMatch.SUBSTRING, SearchMatch.SUBSTRING,
            SearchMatch.SIMILAR)


@strawberry.type(name="CustomerSearchEdge")
class SearchEdge:
    hit: strawberry.Private[search.SearchHit]
    node: Customer = strawberry.field(description="A Contact or a Company.")

    @strawberry.field
    def cursor(self) -> str:
        return search.encode_cursor(self.hit)

    @strawberry.field(name="matchedOn")
    def matched_on(self) -> SearchField:
        return SearchField(self.hit.field)

    @strawberry.field
    def match(self) -> SearchMatch:
        return _MATCHES[self.hit.tier]


@strawberry.type(name="CustomerSearchConnection",
                 description="Search results, best first; `after` takes `endCursor`.")
class SearchConnection:
    page: strawberry.Private[Page[search.SearchHit]]
    found: strawberry.Private[list[SearchEdge]]
    term: strawberry.Private[search.SearchTerm]

    @strawberry.field(description="The results of this page (shortcut for edges.node).")
    def nodes(self) -> list[Customer]:
        return [edge.node for edge in self.found]

    @strawberry.field
    def edges(self) -> list[SearchEdge]:
        return self.found

    @strawberry.field
    def page_info(self) -> PageInfo:
        # From the page as searched: a row gone before it was loaded moves no cursor.
        hits = self.page.items
        return PageInfo(has_next_page=self.page.has_next_page,
                        has_previous_page=self.page.has_previous_page,
                        start_cursor=search.encode_cursor(hits[0]) if hits else None,
                        end_cursor=search.encode_cursor(hits[-1]) if hits else None)

    @strawberry.field(description="Every result across all pages (one more query).")
    async def total_count(self, info: Info) -> int:
        return await info.context.read(search.count, self.term)


@strawberry.type
class CustomerSearchQueries:
    @strawberry.field(extensions=needs(CONTACT.read, COMPANY.read), description=(
        "Contacts and companies by part of a name, email or phone number, or (contacts) of "
        "their company's name, tolerant of typos; ranked: exact, prefix, substring, by "
        "company, similar spelling. Finds only what the caller may see."))
    async def customer_search(self, info: Info, query: str, first: int | None = None,
                              after: str | None = None) -> SearchConnection:
        context = info.context
        term = search.parse_term(query, context.ctx.region)
        size = context.page_size(first)
        page = await context.read(search.search, term, first=size, after=after)
        ids: dict[str, list[Any]] = {"Contact": [], "Company": []}
        for hit in page.items:
            ids[hit.kind].append(hit.id)
        loaders = context.loaders
        rows = {**dict(zip(ids["Contact"], await loaders.contact.load_many(ids["Contact"]),
                           strict=True)),
                **dict(zip(ids["Company"], await loaders.company.load_many(ids["Company"]),
                           strict=True))}
        # A row changed between the search and the load (deleted, given away) is left out.
        edges = [SearchEdge(hit=hit, node=rows[hit.id]) for hit in page.items
                 if rows.get(hit.id) is not None]
        return SearchConnection(page=page, found=edges, term=term)
