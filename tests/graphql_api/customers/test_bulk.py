"""Bulk operations on contacts and companies, and the transfer of a member's customers, through
GraphQL over HTTP: by ids and by the list's filter (same rule), partial failures with their
codes, one audit row and one event per record changed, idempotent, bounded, refused where a
single write would be."""

from __future__ import annotations

from typing import Any

from infra.global_ids import to_global_id
from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory

BULK = """mutation($a: BulkAction!, $ids: [ID!], $f: CustomerFilter, $t: [ID!], $o: ID) {
  bulkUpdateContacts(action: $a, ids: $ids, filter: $f, tagIds: $t, ownerId: $o) {
    matched changed unchanged failed { id code message } } }"""
BULK_COMPANIES = BULK.replace("bulkUpdateContacts", "bulkUpdateCompanies")
CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
TRANSFER = """mutation($f: ID!, $t: ID!) { transferCustomers(fromUserId: $f, toUserId: $t) {
  moved { type count } remaining } }"""
AUDIT = """query($id: ID!) { auditLog(first: 20, filter: {entityId: $id}) {
  nodes { action before after requestId } } }"""


def _contacts(gql: GraphQLClient, tenant: TenantData, n: int, prefix: str = "批量",
              owner: str | None = None) -> list[str]:
    owner_id = to_global_id("User", tenant.members[owner].user_id) if owner else None
    return [gql.data(CREATE, {"input": {"name": f"{prefix}{i}", "ownerId": owner_id}},
                     key=tenant.keys["owner"])["createContact"]["id"] for i in range(n)]


def _user(tenant: TenantData, name: str) -> str:
    return to_global_id("User", tenant.members[name].user_id)


def _owner_of(gql: GraphQLClient, tenant: TenantData, id: str) -> str | None:
    found = gql.data("query($id: ID!) { contact(id: $id) { owner { id } } }", {"id": id},
                     key=tenant.keys["owner"])["contact"]["owner"]
    return found and found["id"]


def test_assign_by_ids_reports_each_failure_with_its_code_and_audits_each_change(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make(members={"ann": "sales"})
    other = tenants.make()
    ids = _contacts(gql, tenant, 4)
    gql.data("mutation($id: ID!) { deleteContact(id: $id) { id } }", {"id": ids[3]},
             key=tenant.keys["owner"])
    theirs = _contacts(gql, other, 1)[0]
    ann = _user(tenant, "ann")

    result = gql.data(BULK, {"a": "ASSIGN", "ids": [*ids, theirs], "o": ann},
                      key=tenant.keys["manager"])["bulkUpdateContacts"]

    assert (result["matched"], result["changed"], result["unchanged"]) == (5, 3, 0)
    assert {(f["id"], f["code"]) for f in result["failed"]} == {
        (ids[3], "CONFLICT"), (theirs, "NOT_FOUND")}
    assert all(_owner_of(gql, tenant, i) == ann for i in ids[:3])
    for id in ids[:3]:
        trail = gql.data(AUDIT, {"id": id}, key=tenant.keys["owner"])["auditLog"]["nodes"]
        assert trail[0]["action"] == "updated" and trail[0]["after"]["ownerId"] == ann
        assert len(trail) == 2  # created, and this one
    assert gql.data(AUDIT, {"id": ids[3]}, key=tenant.keys["owner"])["auditLog"]["nodes"][0][
        "action"] == "deleted"  # the failed one wrote nothing

    again = gql.data(BULK, {"a": "ASSIGN", "ids": ids[:3], "o": ann},
                     key=tenant.keys["manager"])["bulkUpdateContacts"]
    assert (again["changed"], again["unchanged"], again["failed"]) == (0, 3, [])


def test_tag_by_the_lists_filter_acts_on_what_the_list_shows(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant = tenants.make(members={"ann": "sales", "bo": "sales"})
    mine = _contacts(gql, tenant, 3, "华为", owner="ann")
    bos = _contacts(gql, tenant, 2, "华为", owner="bo")
    _contacts(gql, tenant, 2, "腾讯", owner="ann")
    tag = gql.data("mutation { createTag(input: {name: \"重点\"}) { id } }",
                   key=tenant.keys["owner"])["createTag"]["id"]
    ann = login(live_server, gql, tenant.members["ann"].email, PASSWORD)

    result = gql.data(BULK, {"a": "TAG", "f": {"search": "华为"}, "t": [tag]},
                      client=ann)["bulkUpdateContacts"]
    assert (result["matched"], result["changed"], result["failed"]) == (3, 3, [])  # not bo's

    tagged = gql.data("query($t: [ID!]) { contacts(first: 50, filter: {tagIds: $t}) {"
                      " nodes { id } } }", {"t": [tag]}, key=tenant.keys["owner"])
    assert {n["id"] for n in tagged["contacts"]["nodes"]} == set(mine)
    assert not set(bos) & {n["id"] for n in tagged["contacts"]["nodes"]}

    # By ids, bo's records are simply not there for ann; untag is idempotent.
    result = gql.data(BULK, {"a": "UNTAG", "ids": [*mine[:2], bos[0]], "t": [tag]},
                      client=ann)["bulkUpdateContacts"]
    assert (result["changed"], [f["code"] for f in result["failed"]]) == (2, ["NOT_FOUND"])
    result = gql.data(BULK, {"a": "UNTAG", "ids": mine, "t": [tag]},
                      client=ann)["bulkUpdateContacts"]
    assert (result["changed"], result["unchanged"]) == (1, 2)


def test_delete_and_restore_by_filter_with_one_event_per_record(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    ids = _contacts(gql, tenant, 3, "删除")
    key = tenant.keys["owner"]
    deleted = gql.data(BULK, {"a": "DELETE", "f": {"search": "删除"}}, key=key)
    assert deleted["bulkUpdateContacts"]["changed"] == 3
    assert gql.data("{ contacts(first: 10, filter: {search: \"删除\"}) { totalCount } }",
                    key=key)["contacts"]["totalCount"] == 0
    restored = gql.data(BULK, {"a": "RESTORE", "f": {"search": "删除", "deletedOnly": True}},
                        key=key)["bulkUpdateContacts"]
    assert (restored["matched"], restored["changed"]) == (3, 3)
    events = gql.data("{ events(first: 100) { nodes { eventType payload } } }",
                      key=key)["events"]["nodes"]
    for kind in ("contact.deleted", "contact.restored"):
        assert sorted(e["payload"]["id"] for e in events if e["eventType"] == kind) == sorted(
            ids)


def test_companies_too(gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make(members={"ann": "sales"})
    ids = [gql.data("mutation { createCompany(input: {name: \"公司甲\"}) { id } }",
                    key=tenant.keys["owner"])["createCompany"]["id"] for _ in range(2)]
    result = gql.data(BULK_COMPANIES, {"a": "ASSIGN", "ids": ids, "o": _user(tenant, "ann")},
                      key=tenant.keys["owner"])["bulkUpdateCompanies"]
    assert result["changed"] == 2
    wrong = gql.error(BULK_COMPANIES, {"a": "ASSIGN", "ids": [_contacts(gql, tenant, 1)[0]],
                                       "o": _user(tenant, "ann")}, key=tenant.keys["owner"])
    assert wrong["extensions"]["code"] == "VALIDATION"  # a contact's id is not a company's


def test_refusals_come_before_any_record_changes(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant = tenants.make(members={"ann": "sales", "bo": "sales"})
    other = tenants.make(members={"zed": "sales"})
    ids = _contacts(gql, tenant, 2, owner="ann")
    ann = login(live_server, gql, tenant.members["ann"].email, PASSWORD)
    their_tag = gql.data("mutation { createTag(input: {name: \"他的\"}) { id } }",
                         key=other.keys["owner"])["createTag"]["id"]

    def code(variables: dict[str, Any], **who: Any) -> str:
        return gql.error(BULK, variables, **who)["extensions"]["code"]  # type: ignore[no-any-return]

    # Sales give nothing away, delete nothing; viewers write nothing.
    assert code({"a": "ASSIGN", "ids": ids, "o": _user(tenant, "bo")}, client=ann) == "FORBIDDEN"
    assert code({"a": "DELETE", "ids": ids}, client=ann) == "FORBIDDEN"
    assert code({"a": "TAG", "ids": ids, "t": []}, key=tenant.keys["viewer"]) == "FORBIDDEN"
    # Inputs: both or neither of ids and filter, unknown tags and owners, too many ids.
    assert code({"a": "DELETE"}, key=tenant.keys["owner"]) == "VALIDATION"
    assert code({"a": "DELETE", "ids": ids, "f": {}}, key=tenant.keys["owner"]) == "VALIDATION"
    assert code({"a": "TAG", "ids": ids, "t": [their_tag]},
                key=tenant.keys["owner"]) == "VALIDATION"
    assert code({"a": "ASSIGN", "ids": ids, "o": to_global_id("User", other.members[
        "zed"].user_id)}, key=tenant.keys["owner"]) == "VALIDATION"
    many = [to_global_id("Contact", __import__("uuid").uuid4()) for _ in range(501)]
    assert code({"a": "DELETE", "ids": many}, key=tenant.keys["owner"]) == "VALIDATION"
    assert code({"a": "DELETE", "ids": ["\u0000bad"]}, key=tenant.keys["owner"]) == "VALIDATION"
    assert all(_owner_of(gql, tenant, i) == _user(tenant, "ann") for i in ids)


def test_transfer_moves_a_leaving_members_whole_book_in_one_action(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make(members={"ann": "sales", "bo": "sales"})
    other = tenants.make(members={"zed": "sales"})
    contacts = _contacts(gql, tenant, 3, owner="ann")
    kept = _contacts(gql, tenant, 1, owner="bo")
    key = tenant.keys["owner"]
    company = gql.data("mutation($o: ID) { createCompany(input: {name: \"离职客户公司\", "
                       "ownerId: $o}) { id } }", {"o": _user(tenant, "ann")},
                       key=key)["createCompany"]["id"]
    gql.data("mutation($id: ID!) { deleteContact(id: $id) { id } }", {"id": contacts[2]},
             key=key)
    # Ann leaves: disabled first, her book still moves.
    gql.data("mutation($id: ID!) { updateMember(id: $id, input: {status: \"disabled\"}) "
             "{ id } }", {"id": to_global_id("Member", tenant.members["ann"].user_id)}, key=key)

    result = gql.data(TRANSFER, {"f": _user(tenant, "ann"), "t": _user(tenant, "bo")},
                      key=tenant.keys["manager"])["transferCustomers"]

    moved = {m["type"]: m["count"] for m in result["moved"]}
    assert (moved.pop("Contact"), moved.pop("Company")) == (3, 1)
    assert set(moved.values()) <= {0}  # every other owned kind (interactions, …): none here
    assert result["remaining"] == 0
    assert all(_owner_of(gql, tenant, i) == _user(tenant, "bo") for i in contacts + kept)
    trail = gql.data(AUDIT, {"id": company}, key=key)["auditLog"]["nodes"]
    assert trail[0]["before"]["ownerId"] == _user(tenant, "ann")
    assert trail[0]["after"]["ownerId"] == _user(tenant, "bo")
    again = gql.data(TRANSFER, {"f": _user(tenant, "ann"), "t": _user(tenant, "bo")},
                     key=tenant.keys["manager"])["transferCustomers"]
    assert {m["count"] for m in again["moved"]} == {0}

    # Refused: sales; to a disabled member; to oneself; another tenant's users.
    error = gql.error(TRANSFER, {"f": _user(tenant, "bo"), "t": _user(tenant, "ann")}, key=key)
    assert error["extensions"]["code"] == "VALIDATION"  # ann is disabled
    error = gql.error(TRANSFER, {"f": _user(tenant, "bo"), "t": _user(tenant, "bo")}, key=key)
    assert error["extensions"]["code"] == "VALIDATION"
    zed = to_global_id("User", other.members["zed"].user_id)
    for variables in ({"f": zed, "t": _user(tenant, "bo")}, {"f": _user(tenant, "bo"), "t": zed}):
        error = gql.error(TRANSFER, variables, key=key)
        assert error["extensions"]["code"] == "VALIDATION"


def test_a_bulk_delete_by_filter_keeps_to_the_filters_custom_field_conditions(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    """The list's filter with a custom-field condition: only what the list shows changes (the
    conditions were once dropped on the way to the ids, and the delete reached every record the
    other conditions matched)."""
    tenant = tenants.make()
    owner = tenant.keys["owner"]
    gql.data('mutation { createCustomField(input: {entity: CONTACT, key: "tier", label: "层级", '
             'type: SELECT, options: [{key: "a", label: "A"}, {key: "b", label: "B"}]}) { id } }',
             key=owner)
    tier_a, tier_b = (gql.data(CREATE, {"input": {"name": f"分层{t}", "customFields": [
        {"key": "tier", "value": t}]}}, key=owner)["createContact"]["id"] for t in "ab")
    only_a = {"search": "分层", "customFields": [{"key": "tier", "equals": "a"}]}
    listed = gql.data("query($f: CustomerFilter) { contacts(filter: $f) { nodes { id } } }",
                      {"f": only_a}, key=owner)["contacts"]["nodes"]
    assert [n["id"] for n in listed] == [tier_a]

    result = gql.data(BULK, {"a": "DELETE", "f": only_a}, key=owner)["bulkUpdateContacts"]

    assert (result["matched"], result["changed"]) == (1, 1), result
    alive = gql.data('{ contacts(filter: {search: "分层"}) { nodes { id } } }',
                     key=owner)["contacts"]["nodes"]
    assert [n["id"] for n in alive] == [tier_b]
