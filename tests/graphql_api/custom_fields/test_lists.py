"""Customer lists filtered and sorted by custom fields, through GraphQL over HTTP: every
condition against a hand-computed answer, keyset pages across a sorted list, the record rule
(a sales user sees their own), two tenants, and refusals."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory
from tests.graphql_api.custom_fields.helpers import (
    CONTACTS,
    CREATE_CONTACT,
    UPDATE_CONTACT,
    contact,
    define,
    fields_of,
)

LEVELS = [{"key": k, "label": f"{k.upper()} 级"} for k in ("a", "b", "c")]
TAGS = [{"key": k, "label": k} for k in ("wechat", "phone", "visit")]
N = 23


def _record(i: int) -> dict[str, Any]:
    """The values of the i-th contact: some missing, ties on purpose."""
    rng = random.Random(i)
    out: dict[str, Any] = {}
    if i % 5:
        out["score"] = rng.choice([-3, 0, 7, 7, 42, 9000])
    if i % 4:
        out["budget"] = rng.choice(["0.5", "12.50", "12.5", "1000", "-2.25"])
    if i in (6, 13):  # 18 digits: the same double as those a millionth either side of it
        out["budget"] = "123456789012.123456"
    if i % 3:
        out["met_on"] = f"2026-0{1 + i % 9}-1{i % 10}"
    if i % 2:
        out["level"] = "abc"[i % 3]
    if i % 6:
        out["city"] = rng.choice(["北京", "beijing", "Beijing", "上海", "Zürich"])
    out["vip"] = bool(i % 2)
    out["channels"] = [k for j, k in enumerate(("wechat", "phone", "visit")) if (i >> j) & 1]
    return out


@pytest.fixture(scope="module")
def world(gql: GraphQLClient, tenants: TenantFactory) -> dict[str, Any]:
    tenant = tenants.make(members={"li": "sales", "wang": "sales"})
    admin, manager = tenant.keys["admin"], tenant.keys["manager"]
    define(gql, admin, key="score", type="NUMBER")
    define(gql, admin, key="budget", type="DECIMAL")
    define(gql, admin, key="met_on", type="DATE")
    define(gql, admin, key="level", type="SELECT", options=LEVELS)
    define(gql, admin, key="city", type="TEXT")
    define(gql, admin, key="vip", type="BOOLEAN")
    define(gql, admin, key="channels", type="MULTI_SELECT", options=TAGS)
    records = {}
    for i in range(N):
        values = _record(i)
        records[contact(gql, manager, f"客户{i:02d}", **values)["id"]] = values
    return {"tenant": tenant, "records": records}


def _all(gql: GraphQLClient, key: str, *, filter: dict[str, Any] | None = None,
         sort_by: dict[str, Any] | None = None, first: int = 100,
         client: Any = None) -> tuple[list[str], int]:
    """Every id of the list, page by page, and its totalCount."""
    ids: list[str] = []
    after = None
    total = -1
    for _ in range(200):
        data = gql.data(CONTACTS, {"filter": filter, "sortBy": sort_by, "first": first,
                                   "after": after}, key=key, client=client)["contacts"]
        ids += [n["id"] for n in data["nodes"]]
        total = data["totalCount"]
        if not data["pageInfo"]["hasNextPage"]:
            return ids, total
        after = data["pageInfo"]["endCursor"]
    raise AssertionError("the pages never ended")


def _sort_value(key: str, value: Any) -> Any:
    if key == "budget":
        return Decimal(value)
    if key == "city":
        return value.lower()
    return value


CONDITIONS: list[tuple[dict[str, Any], Any]] = [
    ({"key": "score", "equals": 7}, lambda v: v.get("score") == 7),
    ({"key": "score", "in": [7, -3]}, lambda v: v.get("score") in (7, -3)),
    ({"key": "score", "min": 0, "max": 42}, lambda v: "score" in v and 0 <= v["score"] <= 42),
    ({"key": "budget", "min": "12.5"},
     lambda v: "budget" in v and Decimal(v["budget"]) >= Decimal("12.5")),
    ({"key": "budget", "equals": "12.500"},  # numbers compare as numbers
     lambda v: "budget" in v and Decimal(v["budget"]) == Decimal("12.5")),
    ({"key": "budget", "min": "0.5", "max": "12.5"},
     lambda v: "budget" in v and Decimal("0.5") <= Decimal(v["budget"]) <= Decimal("12.5")),
    # Decimals are found by their double first, then compared exactly (migration 0016).
    ({"key": "budget", "min": "123456789012.123455"},
     lambda v: "budget" in v and Decimal(v["budget"]) >= Decimal("123456789012.123455")),
    ({"key": "budget", "max": "123456789012.123455"},
     lambda v: "budget" in v and Decimal(v["budget"]) <= Decimal("123456789012.123455")),
    ({"key": "budget", "equals": "123456789012.123456"},
     lambda v: v.get("budget") == "123456789012.123456"),
    ({"key": "score", "in": [9000]}, lambda v: v.get("score") == 9000),
    ({"key": "met_on", "max": "2026-04-30"}, lambda v: v.get("met_on", "9") <= "2026-04-30"),
    ({"key": "met_on", "min": "2026-02-01", "max": "2026-05-31"},
     lambda v: "2026-02-01" <= v.get("met_on", "0") <= "2026-05-31"),
    ({"key": "level", "equals": "b"}, lambda v: v.get("level") == "b"),
    ({"key": "level", "in": ["a", "c"]}, lambda v: v.get("level") in ("a", "c")),
    ({"key": "city", "equals": "BEIJING"},  # text compares whatever its case
     lambda v: v.get("city", "").lower() == "beijing"),
    ({"key": "city", "in": ["BEIJING", "上海", "zürich"]},
     lambda v: v.get("city", "").lower() in ("beijing", "上海", "zürich")),
    ({"key": "vip", "equals": False}, lambda v: v["vip"] is False),
    ({"key": "channels", "equals": "phone"}, lambda v: "phone" in v["channels"]),
    ({"key": "channels", "in": ["visit", "phone"]},
     lambda v: bool({"visit", "phone"} & set(v["channels"]))),
    ({"key": "level", "present": True}, lambda v: "level" in v),
    ({"key": "level", "present": False}, lambda v: "level" not in v),
    ({"key": "channels", "present": False}, lambda v: not v["channels"]),
]


@pytest.mark.parametrize(("condition", "holds"), CONDITIONS,
                         ids=[str(c[0]) for c in CONDITIONS])
def test_each_condition_lists_exactly_the_records_it_holds_for(
    gql: GraphQLClient, world: dict[str, Any], condition: dict[str, Any], holds: Any
) -> None:
    key = world["tenant"].keys["manager"]
    ids, total = _all(gql, key, filter={"customFields": [condition]}, first=7)
    expected = {i for i, v in world["records"].items() if holds(v)}
    assert set(ids) == expected and len(ids) == len(expected) == total
    assert expected  # each condition means something here


def test_a_decimal_a_millionth_below_the_bound_is_not_found_though_its_double_is_equal(
    gql: GraphQLClient, world: dict[str, Any]
) -> None:
    key = world["tenant"].keys["manager"]
    big = "123456789012.123456"
    assert float(Decimal(big)) == float(Decimal("123456789012.123457"))  # the case at hand
    assert any(v.get("budget") == big for v in world["records"].values())
    ids, total = _all(gql, key, filter={"customFields": [
        {"key": "budget", "min": "123456789012.123457"}]})
    assert ids == [] and total == 0


def test_conditions_combine_with_each_other_and_with_built_in_filters(
    gql: GraphQLClient, world: dict[str, Any]
) -> None:
    key = world["tenant"].keys["manager"]
    ids, _ = _all(gql, key, filter={"search": "客户1", "customFields": [
        {"key": "vip", "equals": True}, {"key": "score", "present": True}]})
    expected = {i for i, v in world["records"].items() if v["vip"] and "score" in v
                and int(list(world["records"]).index(i)) // 10 == 1}
    assert set(ids) == expected


@pytest.mark.parametrize("field", ["score", "budget", "met_on", "level", "city", "vip"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("first", [1, 4])
def test_sorted_by_a_field_page_by_page_records_without_a_value_last(
    gql: GraphQLClient, world: dict[str, Any], field: str, descending: bool, first: int
) -> None:
    key = world["tenant"].keys["manager"]
    ids, total = _all(gql, key, sort_by={"customField": field, "descending": descending},
                      first=first)
    records = world["records"]
    valued = [i for i in records if field in records[i]]
    # By value, then by id (global ids order as the uuids do only by their uuid: compare
    # the uuids' order through the creation order, which uuid7 follows).
    order = list(records)
    valued.sort(key=lambda i: (_sort_value(field, records[i][field]), order.index(i)),
                reverse=descending)
    empty = sorted((i for i in records if field not in records[i]), key=order.index,
                   reverse=descending)
    assert ids == valued + empty
    assert total == len(records)


def test_a_sort_with_a_filter_pages_through_the_filtered_records(
    gql: GraphQLClient, world: dict[str, Any]
) -> None:
    key = world["tenant"].keys["manager"]
    ids, total = _all(gql, key, filter={"customFields": [{"key": "vip", "equals": True}]},
                      sort_by={"customField": "score"}, first=2)
    records, order = world["records"], list(world["records"])
    vip = [i for i in order if records[i]["vip"]]
    expected = sorted((i for i in vip if "score" in records[i]),
                      key=lambda i: (records[i]["score"], order.index(i)))
    expected += [i for i in vip if "score" not in records[i]]
    assert ids == expected and total == len(vip)


@pytest.mark.parametrize(("field", "condition", "holds"), [
    ("budget", {"min": "0.5", "max": "1000"},
     lambda x: Decimal("0.5") <= Decimal(x) <= Decimal("1000")),
    ("budget", {"min": "12.5"}, lambda x: Decimal(x) >= Decimal("12.5")),
    ("budget", {"max": "123456789012.123455"},
     lambda x: Decimal(x) <= Decimal("123456789012.123455")),
    ("score", {"min": 0, "max": 42}, lambda x: 0 <= x <= 42),
    ("met_on", {"min": "2026-03-01"}, lambda x: x >= "2026-03-01"),
])
@pytest.mark.parametrize("descending", [False, True])
def test_a_range_on_the_field_sorted_by_pages_through_that_range_in_order(
    gql: GraphQLClient, world: dict[str, Any], field: str, condition: dict[str, Any],
    holds: Any, descending: bool
) -> None:
    # The range is put on the sorted values too (their index searches it, migration 0016):
    # the same records, in the same order, page after page.
    key = world["tenant"].keys["manager"]
    ids, total = _all(gql, key, filter={"customFields": [{"key": field, **condition}]},
                      sort_by={"customField": field, "descending": descending}, first=2)
    records, order = world["records"], list(world["records"])
    held = [i for i in order if field in records[i] and holds(records[i][field])]
    expected = sorted(held, key=lambda i: (_sort_value(field, records[i][field]),
                                           order.index(i)), reverse=descending)
    assert held and total == len(held)
    assert [_sort_value(field, records[i][field]) for i in ids] == [
        _sort_value(field, records[i][field]) for i in expected]
    assert sorted(ids) == sorted(held)


@pytest.mark.parametrize(("filter", "sort_by", "path"), [
    ({"customFields": [{"key": "nope", "equals": 1}]}, None, "filter.customFields[0].key"),
    ({"customFields": [{"key": "score", "equals": "7"}]}, None,
     "filter.customFields[0].equals"),
    ({"customFields": [{"key": "score", "equals": 7, "present": True}]}, None,
     "filter.customFields[0]"),
    ({"customFields": [{"key": "score"}]}, None, "filter.customFields[0]"),
    ({"customFields": [{"key": "level", "min": "a"}]}, None, "filter.customFields[0]"),
    ({"customFields": [{"key": "budget", "in": []}]}, None, "filter.customFields[0].in"),
    ({"customFields": [{"key": "budget", "in": ["NaN"]}]}, None,
     "filter.customFields[0].in"),
    ({"customFields": [{"key": "level", "in": ["zz"]}]}, None, "filter.customFields[0].in"),
    ({"customFields": [{"key": "vip", "equals": True}] * 11}, None, "filter.customFields"),
    ({"customFields": [{"key": "score", "in": list(range(101))}]}, None,
     "filter.customFields[0].in"),
    ({"customFields": [{"key": "score", "equals": {"$gt": 1}}]}, None,
     "filter.customFields[0].equals"),
    (None, {"customField": "nope"}, "sortBy.customField"),
    (None, {"customField": "channels"}, "sortBy.customField"),
])
def test_bad_conditions_and_sorts_are_refused_on_their_path(
    gql: GraphQLClient, world: dict[str, Any], filter: Any, sort_by: Any, path: str
) -> None:
    error = gql.error(CONTACTS, {"filter": filter, "sortBy": sort_by, "first": 5},
                      key=world["tenant"].keys["manager"])
    assert error["extensions"]["code"] == "VALIDATION"
    assert path in fields_of(error)


def test_a_cursor_of_another_shape_is_refused(
    gql: GraphQLClient, world: dict[str, Any]
) -> None:
    key = world["tenant"].keys["manager"]
    for cursor in ("bm90IGpzb24", "WyJ2IiwiTmFOIiwieCJd", "WyJ2IiwxLCIyIl0"):
        error = gql.error(CONTACTS, {"sortBy": {"customField": "budget"}, "first": 2,
                                     "after": cursor}, key=key)
        assert error["extensions"]["code"] == "BAD_REQUEST"


def test_a_sales_user_filtering_by_a_field_sees_only_their_own(
    gql: GraphQLClient, live_server: LiveServer, world: dict[str, Any]
) -> None:
    tenant: TenantData = world["tenant"]
    li = login(live_server, gql, tenant.members["li"].email, PASSWORD)
    wang = login(live_server, gql, tenant.members["wang"].email, PASSWORD)
    mine = gql.data(CREATE_CONTACT, {"input": {"name": "李的客户", "customFields": [
        {"key": "level", "value": "a"}, {"key": "score", "value": 1}]}},
        client=li)["createContact"]["id"]
    gql.data(CREATE_CONTACT, {"input": {"name": "王的客户", "customFields": [
        {"key": "level", "value": "a"}, {"key": "score", "value": 2}]}}, client=wang)
    condition = {"customFields": [{"key": "level", "equals": "a"}]}
    ids, total = _all(gql, "", filter=condition, client=li)
    assert ids == [mine] and total == 1
    ids, total = _all(gql, "", sort_by={"customField": "score"}, client=li, first=1)
    assert ids == [mine] and total == 1
    # Nor can they set values on a record that is not theirs: it is not there for them.
    theirs = gql.data(CONTACTS, {"filter": condition, "first": 50},
                      key=tenant.keys["manager"])["contacts"]["nodes"]
    other = next(n["id"] for n in theirs if n["id"] != mine)
    error = gql.error(UPDATE_CONTACT, {"id": other, "input": {"customFields": [
        {"key": "level", "value": "b"}]}}, client=li)
    assert error["extensions"]["code"] == "NOT_FOUND"
    # The manager sees both, and every other record with level a.
    ids, _ = _all(gql, tenant.keys["manager"], filter=condition)
    assert mine in ids and len(ids) == 2 + sum(
        1 for v in world["records"].values() if v.get("level") == "a")


def test_another_tenant_neither_sees_nor_sets_these_fields(
    gql: GraphQLClient, world: dict[str, Any], tenants: TenantFactory
) -> None:
    other = tenants.make()
    key = other.keys["manager"]
    # Its lists know none of A's fields.
    error = gql.error(CONTACTS, {"filter": {"customFields": [{"key": "level", "equals": "a"}]},
                                 "first": 5}, key=key)
    assert fields_of(error) == {"filter.customFields[0].key": "unknown_field"}
    error = gql.error(CONTACTS, {"sortBy": {"customField": "score"}, "first": 5}, key=key)
    assert error["extensions"]["code"] == "VALIDATION"
    # Nor can it set them, on its own records or on A's.
    error = gql.error(CREATE_CONTACT, {"input": {"name": "x", "customFields": [
        {"key": "level", "value": "a"}]}}, key=key)
    assert fields_of(error) == {"customFields.level": "unknown_field"}
    a_record = next(iter(world["records"]))
    error = gql.error(UPDATE_CONTACT, {"id": a_record, "input": {"customFields": [
        {"key": "level", "value": "c"}]}}, key=key)
    assert error["extensions"]["code"] in ("NOT_FOUND", "VALIDATION")
    # Its own field of the same key is its own: A's values do not show through it.
    define(gql, other.keys["admin"], key="level", type="SELECT", options=LEVELS)
    ids, total = _all(gql, key, filter={"customFields": [{"key": "level", "present": True}]})
    assert ids == [] and total == 0
