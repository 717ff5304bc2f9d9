"""The kit's edges, as an attacker found them: links and their limit, events of links, loaders
across the mutations of one request, filters that do not apply, savepoints around `fetch`,
one-line text, explicit nulls on create; and what held (hostile ids and searches, sales users,
concurrent tagging, cursors holding NUL)."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import uuid
from typing import Any

import orjson
import pytest
import strawberry

from tests.conftest import GraphQLClient, LiveServer, Servers, login
from tests.factories import TenantData, TenantFactory

CREATE_TAG = "mutation($input: TagInput!) { createTag(input: $input) { id name color } }"
DELETE_TAG = "mutation($id: ID!) { deleteTag(id: $id) { id deletedAt } }"
RESTORE_TAG = "mutation($id: ID!) { restoreTag(id: $id) { id deletedAt } }"
CREATE_CONTACT = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
CREATE_COMPANY = "mutation($input: CompanyInput!) { createCompany(input: $input) { id } }"
TAG_CONTACT = """mutation($id: ID!, $tags: [ID!]!) {
  tagContact(id: $id, tagIds: $tags) { id tags { id name } } }"""
UNTAG_CONTACT = """mutation($id: ID!, $tags: [ID!]!) {
  untagContact(id: $id, tagIds: $tags) { id tags { id } } }"""
CONTACT_TAGS = "query($id: ID!) { contact(id: $id) { tags { id name } } }"
EVENTS = "query($type: String) { events(first: 50, type: $type) { nodes { payload } } }"
AUDIT = """query($filter: AuditFilter) { auditLog(first: 50, filter: $filter) {
  nodes { action before after } } }"""


@pytest.fixture
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def make_tag(gql: GraphQLClient, key: str, name: str) -> str:
    return str(gql.data(CREATE_TAG, {"input": {"name": name}}, key=key)["createTag"]["id"])


def make(gql: GraphQLClient, key: str, kind: str, name: str, **fields: Any) -> str:
    query = CREATE_CONTACT if kind == "Contact" else CREATE_COMPANY
    return str(gql.data(query, {"input": {"name": name, **fields}}, key=key)[f"create{kind}"]["id"])


def gid(type_name: str, id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{id.hex}".encode()).decode().rstrip("=")


def cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


# -- the 50-tag limit is not a limit -------------------------------------------------------

def test_links_to_deleted_tags_count_toward_the_limit_so_a_restore_cannot_pass_it(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    """Links to deleted tags stay (they come back with a restore), so they count toward a
    customer's limit: no sequence of delete, tag and restore gives one more than 50."""
    key = tenant.keys["manager"]
    contact = make(gql, key, "Contact", "很多标签")
    first = [make_tag(gql, key, f"a{i:02d}") for i in range(50)]
    gql.data(TAG_CONTACT, {"id": contact, "tags": first}, key=key)
    for t in first[:10]:
        gql.data(DELETE_TAG, {"id": t}, key=key)
    more = [make_tag(gql, key, f"b{i:02d}") for i in range(10)]
    # 40 shown, 10 hidden, 10 more: 60 once restored, so refused now.
    error = gql.error(TAG_CONTACT, {"id": contact, "tags": more}, key=key)
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["fields"][0]["code"] == "too_many"
    for t in first[:10]:
        gql.data(RESTORE_TAG, {"id": t}, key=key)
    tags = gql.data(CONTACT_TAGS, {"id": contact}, key=key)["contact"]["tags"]
    assert sorted(t["id"] for t in tags) == sorted(first)


# -- events and audit rows name tags the API does not show ---------------------------------

def test_a_tagged_event_lists_the_tags_the_api_shows(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    """A `contact.tagged` event (and its audit row) lists the tags the API shows before and
    after, never a deleted one that stays linked in hiding."""
    key = tenant.keys["manager"]
    old, new = make_tag(gql, key, "old"), make_tag(gql, key, "new")
    contact = make(gql, key, "Contact", "事件")
    gql.data(TAG_CONTACT, {"id": contact, "tags": [old]}, key=key)
    gql.data(DELETE_TAG, {"id": old}, key=key)
    api = gql.data(TAG_CONTACT, {"id": contact, "tags": [new]}, key=key)["tagContact"]["tags"]
    assert [t["id"] for t in api] == [new]
    events = gql.data(EVENTS, {"type": "contact.tagged"}, key=tenant.keys["owner"])
    latest = events["events"]["nodes"][0]["payload"]["data"]["tagIds"]
    assert latest == [new], f"event says the contact carries {latest}; the API says [{new}]"


# -- data loaders serve stale rows across mutations of one request --------------------------

def test_loaders_start_afresh_after_each_mutation_of_a_request(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    """The mutations of one request share its loaders; each write empties them, so a later
    field does not answer from before it (a deleted tag gone, a renamed company renamed)."""
    key = tenant.keys["manager"]
    tag = make_tag(gql, key, "VIP")
    company = make(gql, key, "Company", "旧名字")
    contact = make(gql, key, "Contact", "同一请求", companyId=company)
    gql.data(TAG_CONTACT, {"id": contact, "tags": [tag]}, key=key)
    data = gql.data("""mutation($c: ID!, $t: ID!, $co: ID!) {
      a: updateContact(id: $c, input: {notes: "1"}) { tags { name } company { name } }
      d: deleteTag(id: $t) { id }
      r: updateCompany(id: $co, input: {name: "新名字"}) { name }
      b: updateContact(id: $c, input: {notes: "2"}) { tags { name } company { name } } }""",
                    {"c": contact, "t": tag, "co": company}, key=key)
    assert data["b"] == {"tags": [], "company": {"name": "新名字"}}, data["b"]


# -- hostile cursors give an INTERNAL error -------------------------------------------------

@pytest.mark.parametrize("query", [
    "query($a: String) { tags(first: 5, after: $a, sort: NAME_ASC) { nodes { id name } } }",
    "query($a: String) { contacts(first: 5, after: $a, sort: NAME_ASC) { nodes { id } } }",
])
def test_a_cursor_holding_a_nul_is_refused(
    gql: GraphQLClient, tenant: TenantData, query: str
) -> None:
    """The edge's NUL check sees only the base64; the cursor's own decoding refuses it."""
    bad = cursor(["a\u0000b", str(uuid.uuid4())])
    error = gql.error(query, {"a": bad}, key=tenant.keys["manager"])
    assert error["extensions"]["code"] in ("BAD_REQUEST", "VALIDATION"), error


# -- a filter field that does not apply is silently ignored --------------------------------

def test_a_filter_a_list_does_not_have_is_refused_not_ignored(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    """`CustomerFilter` is shared by contacts and companies; `companyId` is no filter of
    companies, and is refused there rather than answered with every company."""
    key = tenant.keys["manager"]
    a = make(gql, key, "Company", "甲公司")
    make(gql, key, "Company", "乙公司")
    body = gql(
        "query($f: CustomerFilter) { companies(first: 10, filter: $f) { totalCount } }",
        {"f": {"companyId": a}}, key=key)
    assert "errors" in body or body["data"]["companies"]["totalCount"] <= 1, body


# -- filter_values drops False: a boolean filter can never ask for "false" -------------------

def test_false_is_a_filter_value_like_any_other() -> None:
    """A boolean condition can ask for false: only the deleted-records flags treat false as
    their default."""
    from graphql_api.kit import filter_values
    from modules.kit import Equals
    from modules.tags.entities import TAG

    @strawberry.input
    class F:
        active: bool | None = None

    fake = type("E", (), {"filters": {"active": Equals("active")}, "fields": {},
                          "owner": None})()
    assert filter_values(fake, F(active=False)) == {"active": False}  # type: ignore[arg-type]
    assert TAG  # the real entities are importable alongside


# -- run_atomic's savepoint is lazy: a write through `fetch` escapes it ----------------------

def test_a_failed_write_through_fetch_is_undone_by_its_savepoint(
    servers: Servers, tenants: TenantFactory
) -> None:
    """SQLAlchemy sends SAVEPOINT lazily; a mutation's first write through `fetch` must still
    be inside its savepoint, undone when it fails even if the edge commits afterwards."""
    from infra.db import Database, UnitOfWork, fetch

    tenant = tenants.make()
    name = f"leak-{uuid.uuid4().hex[:8]}"

    async def go() -> int:
        db = Database(servers.app_url, pool_size=1, max_overflow=0, read_pool_size=1)
        try:
            uow = UnitOfWork(db)
            uow.scope(tenant.id)

            async def write(session: Any) -> None:
                await fetch(session, "insert into tags (tenant_id, id, name) values "
                            "(%(t)s, %(i)s, %(n)s)", {"t": tenant.id, "i": uuid.uuid4(),
                                                       "n": name})
                raise RuntimeError("the mutation fails after its write")

            with pytest.raises(RuntimeError):
                await uow.run_atomic(write)
            await uow.commit()  # e.g. a job that records the failure and goes on
            uow2 = UnitOfWork(db)
            uow2.scope(tenant.id)
            rows = await uow2.run(lambda s: fetch(s, "select count(*) as n from tags "
                                                     "where name = %(n)s", {"n": name}))
            await uow2.rollback()
            return int(rows[0].n)
        finally:
            await db.dispose()

    assert asyncio.run(go()) == 0, "the failed run_atomic's write was committed"


# -- odd Unicode in tag names ------------------------------------------------------------

def test_a_line_separator_in_a_one_line_name_becomes_a_space(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    """Unicode's line and paragraph separators (U+2028, U+2029) fold to a space in one-line
    text, as other spaces do: a name never renders as two lines."""
    made = gql.data(CREATE_TAG, {"input": {"name": "VIP\u2028客户\u2029甲"}},
                    key=tenant.keys["manager"])["createTag"]
    assert made["name"] == "VIP 客户 甲"


# -- what held under attack -------------------------------------------

def test_concurrent_tagging_respects_the_limit(
    gql: GraphQLClient, tenant: TenantData
) -> None:
    key = tenant.keys["manager"]
    contact = make(gql, key, "Contact", "并发")
    a = [make_tag(gql, key, f"x{i:02d}") for i in range(30)]
    b = [make_tag(gql, key, f"y{i:02d}") for i in range(30)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        bodies = list(pool.map(lambda ids: gql(TAG_CONTACT, {"id": contact, "tags": ids},
                                               key=key), [a, b]))
    assert sum("errors" in body for body in bodies) == 1
    assert len(gql.data(CONTACT_TAGS, {"id": contact}, key=key)["contact"]["tags"]) == 30


def test_hostile_searches_and_other_tenants_ids_find_nothing(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    a, b = tenants.make(), tenants.make()
    key = a.keys["manager"]
    b_tag = make_tag(gql, b.keys["manager"], "B")
    make_tag(gql, key, "A'%_\\")
    for term in ["'", "\\", "%(tenant_id)s", "$1", "') or true --", "%", "_", "A'%_\\"]:
        data = gql.data("query($s: String) { tags(first: 5, filter: {search: $s}) "
                        "{ totalCount nodes { name } } }", {"s": term}, key=key)
        assert data["tags"]["totalCount"] == (1 if term in ("'", "\\", "%", "_", "A'%_\\")
                                              else 0), (term, data)
    body = gql("query($f: CustomerFilter) { contacts(filter: $f) { totalCount } }",
               {"f": {"tagIds": [b_tag, b_tag]}}, key=key)
    assert body["data"]["contacts"]["totalCount"] == 0
    assert gql.data("query($id: ID!) { node(id: $id) { id } }", {"id": b_tag},
                    key=key) == {"node": None}


def test_sales_cannot_reach_others_customers_through_tags(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    team = tenants.make(members={"alice": "sales", "bob": "sales"})
    manager = team.keys["manager"]
    vip = make_tag(gql, manager, "VIP")
    bob = login(live_server, gql, team.members["bob"].email, team.members["bob"].password)
    alice = login(live_server, gql, team.members["alice"].email,
                  team.members["alice"].password)
    try:
        mine = gql.data(CREATE_CONTACT, {"input": {"name": "bob's"}}, client=bob)[
            "createContact"]["id"]
        gql.data(TAG_CONTACT, {"id": mine, "tags": [vip]}, client=bob)
        q = f'{{ contacts(filter: {{tagIds: ["{vip}"]}}) {{ totalCount nodes {{ id }} }} }}'
        assert gql.data(q, client=alice)["contacts"] == {"totalCount": 0, "nodes": []}
        assert gql.data(q, client=alice)["contacts"] == {"totalCount": 0, "nodes": []}
        err = gql.error("{ tags(filter: {includeDeleted: true}) { totalCount } }", client=alice)
        assert err["extensions"]["code"] == "FORBIDDEN"
    finally:
        bob.close()
        alice.close()


# -- create ignores an explicit null owner --------------------------------------------

def test_a_manager_may_create_an_unowned_customer_with_an_explicit_null(
    gql: GraphQLClient, tenant: TenantData, live_server: LiveServer, tenants: TenantFactory
) -> None:
    """`ownerId: null` on create means no owner (for those who may leave one so), as on update;
    the caller becomes the owner only when no owner was sent."""
    team = tenants.make(members={"mia": "manager"})
    mia = login(live_server, gql, team.members["mia"].email, team.members["mia"].password)
    try:
        created = gql.data("mutation { createContact(input: {name: \"无主\", ownerId: null}) "
                           "{ owner { id } } }", client=mia)["createContact"]
    finally:
        mia.close()
    assert created["owner"] is None, created


def test_an_entity_has_one_service() -> None:
    """Links, loaders and `node(id:)` find an entity's service in the registry: a second
    instance would silently take over from the module's own, so it is refused."""
    from modules.customers.service import ContactService, contacts
    from modules.kit import registry

    with pytest.raises(ValueError, match="exists already"):
        ContactService()
    assert registry.service_of(contacts.entity) is contacts
