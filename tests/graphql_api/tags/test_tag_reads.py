"""How tags are read: a customer's tags in one query per batch (no N+1), and the tag list
rendered by the database on the read lane, with nothing in the tags module knowing about it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra import db
from tenancy.auth import api_key_cache
from tests.conftest import GraphQLClient, LiveServer
from tests.factories import TenantData, TenantFactory
from tests.graphql_api.test_query_count import count_statements

ROOT = Path(__file__).resolve().parents[3]

CREATE_TAG = "mutation($input: TagInput!) { createTag(input: $input) { id } }"
CREATE_CONTACT = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
CREATE_COMPANY = "mutation($input: CompanyInput!) { createCompany(input: $input) { id } }"
TAG_CONTACT = "mutation($id: ID!, $t: [ID!]!) { tagContact(id: $id, tagIds: $t) { id } }"
TAG_COMPANY = "mutation($id: ID!, $t: [ID!]!) { tagCompany(id: $id, tagIds: $t) { id } }"

CONTACTS_WITH_TAGS = """query($n: Int) { contacts(first: $n) { nodes {
  id name tags { id name color } } } }"""
NESTED = """query($n: Int) { contacts(first: $n) { nodes {
  name tags { name } company { name tags { name color } } } } }"""
COMPANIES_WITH_TAGS = "query($n: Int) { companies(first: $n) { nodes { name tags { name } } } }"


@pytest.fixture(scope="module")
def tagged(tenants: TenantFactory, gql: GraphQLClient) -> TenantData:
    """55 contacts of 5 companies, each contact and company with two of four tags."""
    tenant = tenants.make()
    key = tenant.keys["owner"]
    tags = [gql.data(CREATE_TAG, {"input": {"name": f"标签{i}"}}, key=key)["createTag"]["id"]
            for i in range(4)]
    companies = []
    for i in range(5):
        company = gql.data(CREATE_COMPANY, {"input": {"name": f"公司{i}"}},
                           key=key)["createCompany"]["id"]
        gql.data(TAG_COMPANY, {"id": company, "t": [tags[i % 4], tags[(i + 1) % 4]]}, key=key)
        companies.append(company)
    for i in range(55):
        contact = gql.data(CREATE_CONTACT, {"input": {"name": f"联系人{i:02d}",
                                                      "companyId": companies[i % 5]}},
                           key=key)["createContact"]["id"]
        gql.data(TAG_CONTACT, {"id": contact, "t": [tags[i % 4], tags[(i + 1) % 4]]},
                 key=key)
    return tenant


@pytest.fixture
def keys_stay_verified(monkeypatch: pytest.MonkeyPatch) -> None:
    """A verified API key is trusted for a few seconds from its lookup, so a count that
    straddles the expiry would include the next lookup: keep keys verified while counting."""
    monkeypatch.setattr(api_key_cache, "ttl", 3600.0)
    monkeypatch.setattr(api_key_cache, "_entries", {})  # looked up afresh, then kept


@pytest.mark.usefixtures("keys_stay_verified")
@pytest.mark.parametrize(("query", "loaders"), [
    (CONTACTS_WITH_TAGS, 1),  # contact_tags
    (NESTED, 3),  # contact_tags, company, company_tags
    (COMPANIES_WITH_TAGS, 1),  # company_tags
])
def test_a_customers_tags_cost_one_query_per_batch_whatever_the_page_size(
    gql: GraphQLClient, live_server: LiveServer, tagged: TenantData, query: str, loaders: int
) -> None:
    key = tagged.keys["owner"]
    gql.data("{ me { kind } }", key=key)  # the key's lookup, before counting
    list_name = "companies" if "companies" in query else "contacts"
    # Strawberry, in one transaction: set_config, the page, one batch per loader.
    with count_statements(live_server) as statements:
        first = gql.data(query, {"n": 5}, key=key)
    assert len(statements) == 2 + loaders
    assert all(len(node["tags"]) == 2 for node in first[list_name]["nodes"])
    counts = {}
    for n in (10, 50):  # the compiled plan, on the read lane: set_config before each
        with count_statements(live_server) as statements:
            data = gql.data(query, {"n": n}, key=key)
        assert len(data[list_name]["nodes"]) == min(n, 55 if list_name == "contacts" else 5)
        counts[n] = len(statements)
        assert statements[::2] == [db.SET_SCOPE_SQL] * (len(statements) // 2)
    assert counts[10] == counts[50] == 2 * (1 + loaders)


def test_a_customers_tags_are_the_same_on_every_path(
    gql: GraphQLClient, live_server: LiveServer, tagged: TenantData
) -> None:
    key = tagged.keys["owner"]
    plans = live_server.app.state.graphql.plans  # type: ignore[attr-defined]
    query = NESTED.replace("query(", "query Same(")  # a text of its own
    first = gql(query, {"n": 20}, key=key)  # Strawberry
    assert "errors" not in first
    hits = plans.hits
    assert gql(query, {"n": 20}, key=key) == first  # the compiled plan
    assert plans.hits == hits + 1
    nodes = first["data"]["contacts"]["nodes"]
    assert all([t["name"] for t in n["tags"]] == sorted(t["name"] for t in n["tags"])
               for n in nodes)


TAG_LIST = ("{ tags(first: 50, filter: {includeDeleted: true}) { totalCount "
            "pageInfo { endCursor hasNextPage } edges { cursor } "
            "nodes { __typename id nm: name color createdAt updatedAt deletedAt } } }")
TAG_PAGE = ("query($a: String, $s: TagSort) { tags(first: 2, after: $a, sort: $s) { "
            "pageInfo { endCursor hasNextPage } nodes { id name color } } }")


@pytest.mark.parametrize("sort", ["NAME_ASC", "NAME_DESC", "CREATED_AT_DESC", "UPDATED_AT_DESC"])
def test_the_tag_list_is_rendered_by_the_database_on_the_read_lane(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory, sort: str
) -> None:
    tenant = tenants.make()
    key = tenant.keys["owner"]
    for name in ('引号 " 反斜杠 \\ 😀', "İstanbul", "ß", "Zoë", "张三"):
        gql.data(CREATE_TAG, {"input": {"name": name, "color": "#A0B1C2"}}, key=key)
    deleted = gql.data(CREATE_TAG, {"input": {"name": "已删除"}}, key=key)["createTag"]["id"]
    gql.data("mutation($id: ID!) { deleteTag(id: $id) { id } }", {"id": deleted}, key=key)
    plans = live_server.app.state.graphql.plans  # type: ignore[attr-defined]

    for query, variables in ((TAG_LIST, None), (TAG_PAGE, {"a": None, "s": sort})):
        first = gql(query, variables, key=key)  # Strawberry
        assert "errors" not in first
        plan = plans.get(query, None)
        assert plan is not None and plan.root.fields[0].render is not None
        sent: list[str] = []
        db.statement_listeners.append(sent.append)
        try:
            assert gql(query, variables, key=key) == first  # rendered by PostgreSQL
        finally:
            db.statement_listeners.remove(sent.append)
        assert plan.read_lane  # one statement a transaction, no BEGIN or COMMIT
        assert sent[0] == db.SET_SCOPE_SQL and "json_build_object(" in sent[1]
    # Page by page on the rendered path, as Strawberry would.
    walked: list[Any] = []
    after = None
    while True:
        page = gql.data(TAG_PAGE, {"a": after, "s": sort}, key=key)["tags"]
        walked += [n["name"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    whole = gql.data(TAG_LIST.replace("first: 50, filter: {includeDeleted: true}",
                                      f"sort: {sort}"), key=key)["tags"]["nodes"]
    assert walked == [n["nm"] for n in whole] and len(walked) == 5


def test_the_tags_module_has_no_read_path_code() -> None:
    """The kit renders, compiles and routes reads; the module only declares."""
    for folder in ("modules/tags", "graphql_api/tags"):
        for path in (ROOT / folder).glob("*.py"):
            source = path.read_text()
            for word in ("rendering", "requested(", "read_lane", "RenderSpec", "fetch("):
                assert word not in source, f"{path.name} mentions {word}"
