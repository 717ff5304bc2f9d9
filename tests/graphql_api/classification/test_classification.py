"""Classification from order history: facts written through the hook the orders module will
call (`record_order`, `forget_order`) and through its event consumer, never by writing scores;
the scores and level read on contacts over GraphQL, used in list filters and in segments; the
tenant's rules set by admins only, validated, and applied by the recompute job."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from infra.db import Database, new_id
from infra.global_ids import from_global_id, to_global_id
from modules.classification import service, tasks
from tenancy.context import system_context
from tests.conftest import GraphQLClient, LiveServer, Servers
from tests.factories import TenantData, TenantFactory
from workers.events import Event
from workers.kit import Job
from workers.schedule import PERIODIC

CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
SCORES = """query($id: ID!) { contact(id: $id) { classification {
  level recencyScore frequencyScore monetaryScore spendLevel frequencyLevel orderCount monetary
  lifetimeOrders lifetimeMonetary firstPurchaseAt lastPurchaseAt } } }"""
LIST = """query($filter: CustomerFilter) { contacts(first: 50, filter: $filter, sort: NAME_ASC) {
  totalCount nodes { name classification { level } } } }"""
RULES = """{ classificationRules { windowDays recencyDays frequency monetary
  levels { key label minMonetary minFrequency maxRecencyDays minRfm } } }"""
SET_RULES = """mutation($input: ClassificationRulesInput!) {
  setClassificationRules(input: $input) { windowDays levels { key } } }"""
NOW = datetime.now(UTC)


def _in_tenant(servers: Servers, tenant: TenantData,
               work: Callable[[Any, Any], Awaitable[Any]]) -> Any:
    """Run `work(session, ctx)` as a job would: the app's role, the tenant's system caller,
    one transaction that commits."""
    async def go() -> Any:
        db = Database(servers.app_url, pool_size=1, max_overflow=0, read_pool_size=1)
        try:
            async with db.scoped(tenant.id) as session:
                return await work(session, system_context(tenant.id, request_id="test"))
        finally:
            await db.dispose()

    return asyncio.run(go())


def _order(servers: Servers, tenant: TenantData, contact: str, amount: int, days_ago: int,
           order_id: uuid.UUID | None = None) -> uuid.UUID:
    order_id = order_id or new_id()
    fact = service.OrderFact(order_id, "contact", from_global_id(contact)[1],
                             NOW - timedelta(days=days_ago), Decimal(amount))
    _in_tenant(servers, tenant, lambda s, c: service.record_order(s, c, fact))
    return order_id


def _contact(gql: GraphQLClient, tenant: TenantData, name: str) -> str:
    return gql.data(CREATE, {"input": {"name": name}},  # type: ignore[no-any-return]
                    key=tenant.keys["owner"])["createContact"]["id"]


def _scores(gql: GraphQLClient, tenant: TenantData, id: str) -> dict[str, Any] | None:
    return gql.data(SCORES, {"id": id}, key=tenant.keys["viewer"])[  # type: ignore[no-any-return]
        "contact"]["classification"]


def test_orders_fed_through_the_hook_give_scores_levels_filters_and_segments(
        servers: Servers, gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    big, small, lapsed, none = (_contact(gql, tenant, n) for n in ("大客户", "小客户", "流失客户",
                                                                   "新客户"))
    for i in range(12):  # A by the default rules: >= 100000 and >= 12 orders within 365 days
        _order(servers, tenant, big, 9000, days_ago=3 + i * 20)
    _order(servers, tenant, small, 1500, days_ago=45)
    _order(servers, tenant, lapsed, 30000, days_ago=500)

    got = _scores(gql, tenant, big)
    assert got is not None
    assert (got["level"], got["recencyScore"], got["frequencyScore"], got["monetaryScore"]) == (
        "A", 5, 5, 5)
    assert (got["orderCount"], Decimal(got["monetary"]), got["spendLevel"]) == (
        12, Decimal(108000), "HIGH")
    got = _scores(gql, tenant, small)
    assert got is not None
    assert (got["level"], got["recencyScore"], got["frequencyScore"], got["monetaryScore"]) == (
        "C", 4, 1, 2)
    got = _scores(gql, tenant, lapsed)
    assert got is not None  # out of the window: nothing counts in it, the lifetime stays
    assert (got["recencyScore"], got["orderCount"], got["lifetimeOrders"], got["level"]) == (
        1, 0, 1, "C")
    assert _scores(gql, tenant, none) is None

    key = tenant.keys["manager"]
    names = lambda f: [n["name"] for n in gql.data(LIST, {"filter": f}, key=key)[  # noqa: E731
        "contacts"]["nodes"]]
    assert names({"levels": ["a"]}) == ["大客户"]
    assert sorted(names({"minRecencyScore": 4})) == ["大客户", "小客户"]
    # Out of the window the lapsed customer's money no longer counts: M1.
    assert names({"levels": ["A", "C"], "minMonetaryScore": 3}) == ["大客户"]
    segment = gql.data("""mutation($f: JSON) { createSegment(input: {kind: SEGMENT,
      entity: CONTACT, name: "A 级", filter: $f, shared: true}) { id memberCount } }""",
                       {"f": {"levels": ["A"], "minRecencyScore": 4}}, key=key)["createSegment"]
    assert segment["memberCount"] == 1
    # The segment stays current as orders come in: the small customer becomes A.
    for i in range(12):
        _order(servers, tenant, small, 9000, days_ago=1 + i)
    assert gql.data("query($id: ID!) { segment(id: $id) { memberCount } }",
                    {"id": segment["id"]}, key=key)["segment"]["memberCount"] == 2
    error = gql.error(LIST, {"filter": {"minRecencyScore": 6}}, key=key)
    assert error["extensions"]["code"] == "VALIDATION"


def test_the_hook_is_idempotent_follows_a_moved_order_and_forgets_a_cancelled_one(
        servers: Servers, gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant, other = tenants.make(), tenants.make()
    first, second = _contact(gql, tenant, "甲"), _contact(gql, tenant, "乙")
    order = _order(servers, tenant, first, 2000, days_ago=10)
    _order(servers, tenant, first, 2000, days_ago=10, order_id=order)  # the same order again
    got = _scores(gql, tenant, first)
    assert got is not None and (got["orderCount"], Decimal(got["monetary"])) == (1, 2000)

    _order(servers, tenant, second, 2500, days_ago=5, order_id=order)  # moved, and changed
    assert _scores(gql, tenant, first) is None
    got = _scores(gql, tenant, second)
    assert got is not None and Decimal(got["lifetimeMonetary"]) == 2500

    _in_tenant(servers, tenant, lambda s, c: service.forget_order(s, c, order))
    _in_tenant(servers, tenant, lambda s, c: service.forget_order(s, c, order))  # idempotent
    assert _scores(gql, tenant, second) is None

    # Another tenant's customer is not one of this tenant's: NOT_FOUND, nothing written.
    theirs = _contact(gql, other, "别家")
    from infra.errors import NotFound

    with pytest.raises(NotFound):
        _order(servers, tenant, theirs, 100, days_ago=1)
    assert _scores(gql, other, theirs) is None


def test_the_consumer_feeds_the_hook_from_order_events(
        servers: Servers, gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    contact = _contact(gql, tenant, "事件客户")
    order_id = new_id()

    def event(event_type: str, **data: Any) -> Event:
        payload = {"id": to_global_id("Order", order_id), "data": {
            "id": to_global_id("Order", order_id), "contactId": contact,
            "placedAt": (NOW - timedelta(days=2)).isoformat(), "total": "1234.50", **data}}
        return Event(tenant.id, new_id(), event_type, "order", order_id, payload, NOW)

    def consume(e: Event) -> None:
        async def work(session: Any, ctx: Any) -> None:
            await tasks.on_order(Job(session, ctx, "consumer:classification", str(e.id)), e)

        _in_tenant(servers, tenant, work)

    consume(event("order.created"))
    got = _scores(gql, tenant, contact)
    assert got is not None and Decimal(got["monetary"]) == Decimal("1234.50")
    consume(event("order.updated", status="cancelled"))
    assert _scores(gql, tenant, contact) is None
    consume(event("order.restored"))
    assert _scores(gql, tenant, contact) is not None
    consume(event("order.deleted"))
    assert _scores(gql, tenant, contact) is None
    with pytest.raises(ValueError, match="total"):
        consume(event("order.created", total="lots"))


def test_rules_are_set_by_admins_validated_audited_and_applied_by_the_recompute(
        servers: Servers, gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    contact = _contact(gql, tenant, "规则客户")
    _order(servers, tenant, contact, 5000, days_ago=20)
    got = _scores(gql, tenant, contact)
    assert got is not None and got["level"] == "C"
    defaults = gql.data(RULES, key=tenant.keys["viewer"])["classificationRules"]
    assert defaults["windowDays"] == 365 and [x["key"] for x in defaults["levels"]] == [
        "A", "B", "C"]

    rules = {"windowDays": 180, "recencyDays": [7, 30, 60, 90], "frequency": [1, 2, 3, 4],
             "monetary": ["100", "1000", "3000", "5000"],
             "levels": [{"key": "vip", "label": "贵宾", "minMonetary": "5000", "minRfm": 12},
                        {"key": "B"}]}
    for role in ("manager", "viewer"):
        error = gql.error(SET_RULES, {"input": rules}, key=tenant.keys[role])
        assert error["extensions"]["code"] == "FORBIDDEN"
    bad = {**rules, "recencyDays": [90, 60, 30, 7], "monetary": ["1", "2", "NaN", "4"],
           "levels": [{"key": "A B"}, {"key": "C", "minRfm": 40}]}
    error = gql.error(SET_RULES, {"input": bad}, key=tenant.keys["admin"])
    fields = {f["field"] for f in error["extensions"]["fields"]}
    assert {"recencyDays", "monetary.2", "levels.0.key", "levels.1.minRfm"} <= fields

    set_ = gql.data(SET_RULES, {"input": rules}, key=tenant.keys["admin"])
    assert [x["key"] for x in set_["setClassificationRules"]["levels"]] == ["VIP", "B"]
    trail = gql.data("""{ auditLog(first: 5, filter: {entityType: "classification_rules"}) {
      nodes { action after } } }""", key=tenant.keys["owner"])["auditLog"]["nodes"]
    assert trail[0]["action"] == "updated" and trail[0]["after"]["windowDays"] == 180

    # The job (run here as the worker runs it) scores every customer by the new rules.
    _in_tenant(servers, tenant, lambda s, c: tasks.recompute_tenant.fn(
        Job(s, c, "classification.recompute", "m1")))
    got = _scores(gql, tenant, contact)
    assert got is not None
    assert (got["recencyScore"], got["frequencyScore"], got["monetaryScore"], got["level"]) == (
        4, 2, 5, "B")  # R4 + F2 + M5 = 11 < 12: not VIP
    _order(servers, tenant, contact, 10, days_ago=1)
    got = _scores(gql, tenant, contact)
    assert got is not None and got["level"] == "VIP"  # R5 + F3 + M5 = 13


def test_the_nightly_recompute_is_scheduled() -> None:
    job = PERIODIC["classification.nightly"]
    assert job.task is tasks.nightly and job.cron == "0 18 * * *"


def test_a_lists_classifications_load_in_one_batch_whatever_the_page(
        servers: Servers, gql: GraphQLClient, tenants: TenantFactory,
        live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from tenancy.auth import api_key_cache
    from tests.graphql_api.test_query_count import count_statements

    monkeypatch.setattr(api_key_cache, "ttl", 3600.0)
    tenant = tenants.make()
    ids = [_contact(gql, tenant, f"客户{i}") for i in range(50)]
    for id in ids[:5]:
        _order(servers, tenant, id, 1000, days_ago=3)
    query = "query($n: Int) { contacts(first: $n) { nodes { id classification { level } } } }"
    key = tenant.keys["owner"]
    gql.data(query, {"n": 5}, key=key)  # its plan compiled
    counts = []
    for n in (10, 50):
        with count_statements(live_server) as statements:
            nodes = gql.data(query, {"n": n}, key=key)["contacts"]["nodes"]
        assert len(nodes) == n
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert sum(1 for n in nodes if n["classification"]) == 5
