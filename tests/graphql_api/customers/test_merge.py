"""Merging duplicates through GraphQL over HTTP: the chosen values kept, interactions, tags,
custom-field values and shares moved, sources deleted and marked, audit rows with what each
source held and the survivor's before and after, the `contact.merged` event; and every
refusal leaving everything as it was."""

from __future__ import annotations

from typing import Any

from infra.global_ids import to_global_id
from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory

MERGE = """mutation($i: MergeInput!) { mergeContacts(input: $i) {
  id name phone email title tags { name } customFields { key value } } }"""
MERGE_COMPANIES = """mutation($i: MergeInput!) { mergeCompanies(input: $i) { id name } }"""
CREATE = """mutation($i: ContactInput!) { createContact(input: $i) { id } }"""
AUDIT = """query($id: ID!) { auditLog(first: 20, filter: {entityId: $id}) {
  nodes { action before after } } }"""
CONTACT = """query($id: ID!) { contact(id: $id) { id name deletedAt mergedInto } }"""


def _contact(gql: GraphQLClient, tenant: TenantData, owner: str | None = None, **fields: Any
             ) -> str:
    if owner:
        fields["ownerId"] = to_global_id("User", tenant.members[owner].user_id)
    return gql.data(CREATE, {"i": fields}, key=tenant.keys["owner"])[  # type: ignore[no-any-return]
        "createContact"]["id"]


def test_merge_keeps_the_chosen_values_moves_everything_and_audits_each_source(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    key = tenant.keys["owner"]
    gql.data('mutation { createCustomField(input: {entity: CONTACT, key: "level", '
             'label: "等级", type: TEXT}) { id } }', key=key)
    survivor = _contact(gql, tenant, name="张伟", phone="13800138000", title="经理",
                        customFields=[{"key": "level", "value": "B"}])
    source = _contact(gql, tenant, name="张伟（重复）", phone="13900139000",
                      email="zhangwei@example.com", title="总监",
                      customFields=[{"key": "level", "value": "A"}])
    tags = [gql.data(f'mutation {{ createTag(input: {{name: "{n}"}}) {{ id }} }}', key=key)[
        "createTag"]["id"] for n in ("重点", "华东")]
    gql.data("mutation($id: ID!, $t: [ID!]!) { tagContact(id: $id, tagIds: $t) { id } }",
             {"id": survivor, "t": tags[:1]}, key=key)
    gql.data("mutation($id: ID!, $t: [ID!]!) { tagContact(id: $id, tagIds: $t) { id } }",
             {"id": source, "t": tags}, key=key)
    call = next(n["id"] for n in gql.data("{ interactionTypes(first: 20) { nodes { id key } } }",
                                          key=key)["interactionTypes"]["nodes"]
                if n["key"] == "CALL")
    logged = gql.data("mutation($i: InteractionInput!) { createInteraction(input: $i) { id } }",
                      {"i": {"typeId": call, "subject": "首次电话", "contactId": source}},
                      key=key)["createInteraction"]["id"]

    merged = gql.data(MERGE, {"i": {
        "survivorId": survivor, "sourceIds": [source],
        "keep": [{"field": "email", "recordId": source}, {"field": "title", "recordId": source}],
        "keepCustomFields": [{"key": "level", "recordId": source}]}}, key=key)["mergeContacts"]

    assert (merged["id"], merged["name"], merged["phone"], merged["email"], merged["title"]) == (
        survivor, "张伟", "+8613800138000", "zhangwei@example.com", "总监")
    assert sorted(t["name"] for t in merged["tags"]) == ["华东", "重点"]
    assert merged["customFields"] == [{"key": "level", "value": "A"}]
    moved = gql.data("query($c: ID) { interactions(first: 10, filter: {contactId: $c}) "
                     "{ nodes { id } } }", {"c": survivor}, key=key)["interactions"]["nodes"]
    assert [n["id"] for n in moved] == [logged]
    gone = gql.data(CONTACT, {"id": source}, key=key)["contact"]
    assert gone["deletedAt"] is not None and gone["mergedInto"] == survivor
    assert gql.data("{ contacts(first: 10) { nodes { id } } }", key=key)["contacts"][
        "nodes"] == [{"id": survivor}]

    source_trail = gql.data(AUDIT, {"id": source}, key=key)["auditLog"]["nodes"]
    assert source_trail[0]["action"] == "merged_away"
    held = source_trail[0]["before"]
    assert (held["name"], held["email"], held["customFields"]) == (
        "张伟（重复）", "zhangwei@example.com", {"level": "A"})
    assert sorted(held["tagIds"]) == sorted(tags)
    assert source_trail[0]["after"]["mergedInto"] == survivor
    survivor_trail = gql.data(AUDIT, {"id": survivor}, key=key)["auditLog"]["nodes"]
    row = survivor_trail[0]
    assert row["action"] == "merged"
    assert (row["before"]["title"], row["after"]["title"]) == ("经理", "总监")
    assert row["after"]["mergedFrom"] == [source]
    assert (row["before"]["tagIds"], sorted(row["after"]["tagIds"])) == (tags[:1], sorted(tags))
    assert row["after"]["moved"]["interactions"] == 1 and row["after"]["moved"]["tags"] == 2
    events = gql.data("{ events(first: 50) { nodes { eventType payload } } }",
                      key=key)["events"]["nodes"]
    assert any(e["eventType"] == "contact.merged" and e["payload"]["id"] == survivor
               for e in events)


def test_a_shared_record_stays_shared_after_the_merge(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant = tenants.make(members={"ann": "sales", "bo": "sales"})
    key = tenant.keys["owner"]
    survivor, source = (_contact(gql, tenant, "ann", name=n) for n in ("甲", "甲2"))
    gql.data("mutation($r: ID!, $u: ID) { shareRecord(recordId: $r, access: READ, userId: $u)"
             " { id } }", {"r": source, "u": to_global_id("User", tenant.members["bo"].user_id)},
             key=key)
    gql.data(MERGE, {"i": {"survivorId": survivor, "sourceIds": [source]}}, key=key)
    bo = login(live_server, gql, tenant.members["bo"].email, PASSWORD)
    assert gql.data(CONTACT, {"id": survivor}, client=bo)["contact"]["id"] == survivor


def test_a_rep_merges_their_own_and_is_refused_anything_else(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant = tenants.make(members={"ann": "sales", "bo": "sales"})
    other = tenants.make()
    mine = [_contact(gql, tenant, "ann", name=f"我的{i}") for i in range(3)]
    bos = _contact(gql, tenant, "bo", name="博的")
    theirs = _contact(gql, other, name="别家的")
    deleted = _contact(gql, tenant, "ann", name="已删")
    gql.data("mutation($id: ID!) { deleteContact(id: $id) { id } }", {"id": deleted},
             key=tenant.keys["owner"])
    read_only = _contact(gql, tenant, "bo", name="只读")
    gql.data("mutation($r: ID!, $u: ID) { shareRecord(recordId: $r, access: READ, userId: $u)"
             " { id } }", {"r": read_only,
                           "u": to_global_id("User", tenant.members["ann"].user_id)},
             key=tenant.keys["owner"])
    company = gql.data('mutation { createCompany(input: {name: "某公司"}) { id } }',
                       key=tenant.keys["owner"])["createCompany"]["id"]
    ann = login(live_server, gql, tenant.members["ann"].email, PASSWORD)

    def refused(survivor: str, sources: list[str], **who: Any) -> tuple[str, str | None]:
        error = gql.error(MERGE, {"i": {"survivorId": survivor, "sourceIds": sources}},
                          **(who or {"client": ann}))
        return error["extensions"]["code"], error["extensions"].get("field")

    assert refused(mine[0], [bos]) == ("NOT_FOUND", "sourceIds.0")  # outside ann's scope
    assert refused(mine[0], [theirs]) == ("NOT_FOUND", "sourceIds.0")  # another tenant's
    # A deleted record: hidden from a rep (no delete permission), CONFLICT for who sees it.
    assert refused(mine[0], [deleted])[0] == "NOT_FOUND"
    assert refused(mine[0], [deleted], key=tenant.keys["owner"])[0] == "CONFLICT"
    assert refused(mine[0], [read_only]) == ("FORBIDDEN", "sourceIds.0")
    assert refused(mine[0], [mine[0]])[0] == "VALIDATION"  # with itself
    assert refused(mine[0], [])[0] == "VALIDATION"
    assert refused(mine[0], [mine[1], mine[1]])[0] == "VALIDATION"
    assert refused(mine[0], [company])[0] == "VALIDATION"  # a company is not a contact
    assert refused(mine[0], [mine[1]] * 10)[0] == "VALIDATION"  # more than the maximum
    assert refused(mine[0], [mine[1]], key=tenant.keys["viewer"])[0] == "FORBIDDEN"
    assert gql.error(MERGE_COMPANIES, {"i": {"survivorId": company, "sourceIds": [mine[0]]}},
                     key=tenant.keys["owner"])["extensions"]["code"] == "VALIDATION"
    # Nothing changed by any refusal.
    assert gql.data("{ contacts(first: 10) { totalCount } }", client=ann)["contacts"][
        "totalCount"] == 4  # hers, and bo's shared with her
    merged = gql.data(MERGE, {"i": {"survivorId": mine[0], "sourceIds": mine[1:]}},
                      client=ann)["mergeContacts"]
    assert merged["id"] == mine[0]
    assert gql.data("{ contacts(first: 10) { totalCount } }", client=ann)["contacts"][
        "totalCount"] == 2
    assert refused(mine[0], [mine[1]], key=tenant.keys["owner"])[0] == "CONFLICT"  # merged


def test_companies_merge_with_their_contacts(gql: GraphQLClient, tenants: TenantFactory
                                             ) -> None:
    tenant = tenants.make()
    key = tenant.keys["owner"]
    a, b = (gql.data(f'mutation {{ createCompany(input: {{name: "{n}"}}) {{ id }} }}', key=key)[
        "createCompany"]["id"] for n in ("青禾贸易有限公司", "青禾贸易股份有限公司"))
    person = _contact(gql, tenant, name="周杰", companyId=b)
    merged = gql.data(MERGE_COMPANIES, {"i": {
        "survivorId": a, "sourceIds": [b], "keep": [{"field": "name", "recordId": b}]}},
        key=key)["mergeCompanies"]
    assert merged == {"id": a, "name": "青禾贸易股份有限公司"}
    assert gql.data("query($id: ID!) { contact(id: $id) { company { id } } }", {"id": person},
                    key=key)["contact"]["company"]["id"] == a
    bad = gql.error(MERGE_COMPANIES, {"i": {"survivorId": a, "sourceIds": [b],
                                            "keep": [{"field": "title", "recordId": b}]}},
                    key=key)
    assert bad["extensions"]["code"] == "VALIDATION"


def test_a_sensitive_custom_value_stays_with_its_record(gql: GraphQLClient,
                                                        tenants: TenantFactory) -> None:
    """A sensitive value is read masked and sealed to its record: a merge asked to move one is
    refused (moving it would write the mask over the survivor's and drop the source's); nothing
    changes, and the survivor keeps its own value."""
    tenant = tenants.make()
    admin = tenant.keys["admin"]
    gql.data('mutation { createCustomField(input: {entity: CONTACT, key: "bank", '
             'label: "银行账号", type: TEXT, sensitive: true}) { id } }', key=admin)
    survivor = _contact(gql, tenant, name="赵敏", customFields=[{"key": "bank", "value": "6222"}])
    source = _contact(gql, tenant, name="赵敏（重复）",
                      customFields=[{"key": "bank", "value": "6228"}])
    refused = gql.error(MERGE, {"i": {"survivorId": survivor, "sourceIds": [source],
                                      "keepCustomFields": [{"key": "bank", "recordId": source}]}},
                        key=admin)
    assert refused["extensions"]["code"] == "VALIDATION"
    assert [f["field"] for f in refused["extensions"]["fields"]] == ["keepCustomFields.bank"]
    assert gql.data(CONTACT, {"id": source}, key=admin)["contact"]["deletedAt"] is None
    # Merged without moving it: each value is still its own record's, in clear for pii:read.
    gql.data(MERGE, {"i": {"survivorId": survivor, "sourceIds": [source]}}, key=admin)
    reveal = """mutation($id: ID!) { revealContactPii(id: $id, fields: ["customFields.bank"]) {
      field value } }"""
    shown = gql.data(reveal, {"id": survivor}, key=admin)["revealContactPii"]
    assert [v["value"] for v in shown] == ["6222"]
