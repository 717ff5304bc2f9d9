"""The duplicate check (查重) and duplicate groups, through GraphQL over HTTP: what matches
(phone in any format, email in any case, company names across width, case and legal form),
whose it is, and what a caller learns about records outside their data scope (only the
category and the attribute: no id, name or owner; one entry however many; the same shape of
work and answer whether a hidden record matched or none did)."""

from __future__ import annotations

from typing import Any

import httpx

from infra.db import statements
from infra.global_ids import to_global_id
from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory

CHECK = """query($i: CustomerDuplicatesInput!) { customerDuplicates(input: $i) {
  matchedOn category kind record { id name } } }"""
GROUPS = """query($k: CustomerKind!, $f: Int, $a: String) {
  duplicateGroups(kind: $k, first: $f, after: $a) {
    nodes { matchedOn size value records { id name } } pageInfo { hasNextPage endCursor } } }"""
CREATE = """mutation($i: ContactInput!) { createContact(input: $i) { id } }"""
CREATE_COMPANY = """mutation($i: CompanyInput!) { createCompany(input: $i) { id } }"""


def _user(tenant: TenantData, name: str) -> str:
    return to_global_id("User", tenant.members[name].user_id)


def _contact(gql: GraphQLClient, tenant: TenantData, name: str, owner: str | None, **fields: Any
             ) -> str:
    data = {"name": name, "ownerId": _user(tenant, owner) if owner else None, **fields}
    return gql.data(CREATE, {"i": data}, key=tenant.keys["owner"])[  # type: ignore[no-any-return]
        "createContact"]["id"]


def _company(gql: GraphQLClient, tenant: TenantData, name: str, owner: str | None = None,
             **fields: Any) -> str:
    data = {"name": name, "ownerId": _user(tenant, owner) if owner else None, **fields}
    return gql.data(CREATE_COMPANY, {"i": data}, key=tenant.keys["owner"])[  # type: ignore[no-any-return]
        "createCompany"]["id"]


def _check(gql: GraphQLClient, who: dict[str, Any], **probe: Any) -> list[dict[str, Any]]:
    return gql.data(CHECK, {"i": {"kind": "CONTACT", **probe}},  # type: ignore[no-any-return]
                    **who)["customerDuplicates"]


def _scene(gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
           ) -> tuple[TenantData, httpx.Client, dict[str, str]]:
    tenant = tenants.make(members={"ann": "sales", "bo": "sales"})
    ids = {
        "ann": _contact(gql, tenant, "张伟", "ann", phone="13800138000"),
        "bo": _contact(gql, tenant, "李娜（保密）", "bo", phone="+86 138 0013 8000",
                       email="lina@secret.example.cn", notes="竞品客户"),
        "pool": _contact(gql, tenant, "王芳", None, phone="138-0013-8000"),
    }
    ann = login(live_server, gql, tenant.members["ann"].email, PASSWORD)
    return tenant, ann, ids


def test_a_rep_hears_whose_the_match_is_and_sees_only_their_own(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant, ann, ids = _scene(gql, live_server, tenants)

    response = gql.post(CHECK, {"i": {"kind": "CONTACT", "phone": "138 0013 8000"}},
                        client=ann)
    found = response.json()["data"]["customerDuplicates"]

    assert found == [
        {"matchedOn": "PHONE", "category": "MINE", "kind": "CONTACT",
         "record": {"id": ids["ann"], "name": "张伟"}},
        {"matchedOn": "PHONE", "category": "POOL", "kind": "CONTACT", "record": None},
        {"matchedOn": "PHONE", "category": "OTHERS", "kind": "CONTACT", "record": None},
    ]
    # Nothing of bo's record or of the pool's is anywhere in the answer.
    for secret in (ids["bo"], ids["pool"], "李娜", "王芳", "lina@", "竞品"):
        assert secret not in response.text

    # A manager (scope all) sees all three, with their records.
    managed = _check(gql, {"key": tenant.keys["manager"]}, phone="+8613800138000")
    assert {(m["category"], m["record"]["id"]) for m in managed} == {
        ("OTHERS", ids["ann"]), ("POOL", ids["pool"]), ("OTHERS", ids["bo"])}


def test_email_in_any_case_and_an_edited_record_left_out(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant, ann, ids = _scene(gql, live_server, tenants)
    mine = _contact(gql, tenant, "赵敏", "ann", email="zhaomin@example.com")

    found = _check(gql, {"client": ann}, email="  ZhaoMin@Example.COM ")
    assert [(m["category"], m["record"]["id"]) for m in found] == [("MINE", mine)]
    assert _check(gql, {"client": ann}, email="zhaomin@example.com", excludeId=mine) == []

    # Hidden: bo's email matches as OTHERS, and excluding bo's record (an id ann may have
    # kept from before) changes nothing: excludeId can't confirm which record holds it.
    hidden = [{"matchedOn": "EMAIL", "category": "OTHERS", "kind": "CONTACT", "record": None}]
    assert _check(gql, {"client": ann}, email="LINA@secret.example.cn") == hidden
    assert _check(gql, {"client": ann}, email="lina@secret.example.cn",
                  excludeId=ids["bo"]) == hidden


def test_every_number_typed_is_checked(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    _, ann, ids = _scene(gql, live_server, tenants)
    found = _check(gql, {"client": ann}, emails=["nobody@example.cn"],
                   phones=["13500135000", "+86 138 0013 8000", "13500135000"])
    assert [(m["matchedOn"], m["category"]) for m in found] == [
        ("PHONE", "MINE"), ("PHONE", "POOL"), ("PHONE", "OTHERS")]
    assert found[0]["record"]["id"] == ids["ann"]
    too_many = gql.error(CHECK, {"i": {"kind": "CONTACT", "phones": ["1"] * 21}}, client=ann)
    assert too_many["extensions"]["code"] == "VALIDATION"


def test_many_hidden_matches_are_one_entry(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant, ann, _ = _scene(gql, live_server, tenants)
    for i in range(3):
        _contact(gql, tenant, f"重复{i}", "bo", phone="13900139000")
    found = _check(gql, {"client": ann}, phone="13900139000")
    assert found == [{"matchedOn": "PHONE", "category": "OTHERS", "kind": "CONTACT",
                      "record": None}]


def test_a_hidden_match_costs_the_same_work_as_no_match(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    """The attacker's angle: a rep timing the check to learn more than the category. A hidden
    match and no match run the same statements (one query, no loader), and answer in the
    same shape; only a visible record costs a loader's batch, and it is shown anyway."""
    _, ann, _ = _scene(gql, live_server, tenants)
    seen: list[str] = []
    statements.statement_listeners.append(seen.append)
    try:
        _check(gql, {"client": ann}, email="lina@secret.example.cn")
        hidden = list(seen)
        seen.clear()
        assert _check(gql, {"client": ann}, email="nobody@nowhere.example.cn") == []
        none = list(seen)
    finally:
        statements.statement_listeners.remove(seen.append)
    assert hidden == none and hidden


def test_company_names_match_across_width_case_and_legal_form(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant, ann, _ = _scene(gql, live_server, tenants)
    cn = _company(gql, tenant, "北京星辰科技有限公司", "ann")
    _company(gql, tenant, "ＡＣＭＥ Co., Ltd.", "bo")
    mine = gql.data(CHECK, {"i": {"kind": "COMPANY", "name": " 北京星辰科技股份有限公司"}},
                    client=ann)["customerDuplicates"]
    assert [(m["matchedOn"], m["category"], m["record"]["id"]) for m in mine] == [
        ("COMPANY_NAME", "MINE", cn)]
    theirs = gql.data(CHECK, {"i": {"kind": "COMPANY", "name": "acme inc."}},
                      client=ann)["customerDuplicates"]
    assert theirs == [{"matchedOn": "COMPANY_NAME", "category": "OTHERS", "kind": "COMPANY",
                       "record": None}]
    # A contact's company as typed finds the company; a legal form alone matches nothing.
    assert [m["kind"] for m in _check(gql, {"client": ann}, companyName="北京星辰科技")] == [
        "COMPANY"]
    assert gql.data(CHECK, {"i": {"kind": "COMPANY", "name": "有限公司"}},
                    client=ann)["customerDuplicates"] == []
    # The same name at the same company: a contact.
    _contact(gql, tenant, "Wei Zhang", "ann", companyId=cn)
    named = _check(gql, {"client": ann}, name="wei  ZHANG", companyId=cn)
    assert [(m["matchedOn"], m["category"]) for m in named] == [("NAME", "MINE")]


def test_refusals_and_invalid_input_tell_nothing_about_records(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant, ann, _ = _scene(gql, live_server, tenants)
    other = tenants.make()
    # Another tenant's records never match.
    assert _check(gql, {"key": other.keys["owner"]}, phone="13800138000") == []
    # A half-typed number matches nothing, for everyone alike: no error to compare.
    assert _check(gql, {"client": ann}, phone="1380013") == []
    # Viewers do not create customers: no check for them.
    assert gql.error(CHECK, {"i": {"kind": "CONTACT", "phone": "13800138000"}},
                     key=tenant.keys["viewer"])["extensions"]["code"] == "FORBIDDEN"
    too_long = gql.error(CHECK, {"i": {"kind": "CONTACT", "name": "x" * 400}}, client=ann)
    assert too_long["extensions"]["code"] == "VALIDATION"
    wrong = gql.error(CHECK, {"i": {"kind": "CONTACT", "excludeId": "bm90IGFuIGlk"}},
                      client=ann)
    assert wrong["extensions"]["code"] == "VALIDATION"


def test_groups_only_among_what_the_caller_sees_paginated(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant, ann, ids = _scene(gql, live_server, tenants)
    company = _company(gql, tenant, "深圳云帆物流有限公司", "ann")
    a1 = _contact(gql, tenant, "陈静", "ann", email="chen@yf.example.cn", companyId=company)
    a2 = _contact(gql, tenant, "陈 静", "ann", companyId=company)
    a3 = _contact(gql, tenant, "陈静2", "ann", email="CHEN@yf.example.cn")
    _contact(gql, tenant, "陈静", "bo", email="chen@yf.example.cn", companyId=company)

    groups = gql.data(GROUPS, {"k": "CONTACT"}, client=ann)["duplicateGroups"]["nodes"]
    by = {g["matchedOn"]: g for g in groups}
    assert set(by) == {"EMAIL", "PHONE", "NAME"} - {"PHONE"}  # ann's one phone: no group
    assert by["EMAIL"]["value"] == "chen@yf.example.cn" and by["EMAIL"]["size"] == 2
    # Not bo's; oldest first, as the merge screen takes the first for the survivor.
    assert [r["id"] for r in by["EMAIL"]["records"]] == [a1, a3]
    assert {r["id"] for r in by["NAME"]["records"]} == {a1, a2} and by["NAME"]["value"] is None

    managed = gql.data(GROUPS, {"k": "CONTACT"}, key=tenant.keys["manager"])[
        "duplicateGroups"]["nodes"]
    phone = next(g for g in managed if g["matchedOn"] == "PHONE")
    assert {r["id"] for r in phone["records"]} == set(ids.values())
    assert next(g for g in managed if g["matchedOn"] == "EMAIL")["size"] == 3

    seen, after = [], None
    while True:
        page = gql.data(GROUPS, {"k": "CONTACT", "f": 1, "a": after},
                        key=tenant.keys["manager"])["duplicateGroups"]
        seen += [(g["matchedOn"], g["size"]) for g in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [(g["matchedOn"], g["size"]) for g in managed]
    assert gql.error(GROUPS, {"k": "CONTACT", "a": "garbage"}, client=ann)[
        "extensions"]["code"] == "BAD_REQUEST"
    assert gql.error(GROUPS, {"k": "CONTACT"}, key=tenant.keys["viewer"])[
        "extensions"]["code"] == "FORBIDDEN"


def test_company_groups(gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    a = _company(gql, tenant, "杭州青禾贸易有限公司")
    b = _company(gql, tenant, "杭州青禾贸易股份有限公司")
    groups = gql.data(GROUPS, {"k": "COMPANY"}, key=tenant.keys["owner"])[
        "duplicateGroups"]["nodes"]
    assert [(g["matchedOn"], {r["id"] for r in g["records"]}) for g in groups] == [
        ("COMPANY_NAME", {a, b})]


POLICY = "mutation($p: DuplicatePolicy!) { setDuplicatePolicy(policy: $p) }"


def test_a_tenant_may_refuse_duplicate_phones_and_emails(
        gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory) -> None:
    tenant, ann, ids = _scene(gql, live_server, tenants)
    assert gql.data("{ duplicatePolicy }", client=ann)["duplicatePolicy"] == "WARN"
    assert gql.error(POLICY, {"p": "BLOCK"}, client=ann)["extensions"]["code"] == "FORBIDDEN"
    assert gql.data(POLICY, {"p": "BLOCK"}, key=tenant.keys["admin"]) == {
        "setDuplicatePolicy": "BLOCK"}

    # bo's number, typed otherwise: refused on the field, saying no more than the check would.
    refused = gql.error(CREATE, {"i": {"name": "重复", "phone": "+86 138-0013-8000",
                                       "email": "LINA@secret.example.cn"}}, client=ann)
    assert refused["extensions"]["code"] == "VALIDATION"
    assert {(f["field"], f["code"]) for f in refused["extensions"]["fields"]} == {
        ("phones.0.number", "taken"), ("emails.0.email", "taken")}
    assert "李娜" not in str(refused) and ids["bo"] not in str(refused)
    # A record keeps its own number; a new one is fine; an update to a taken one is refused.
    gql.data("mutation($id: ID!) { updateContact(id: $id, input: {phone: \"13800138000\", "
             "title: \"经理\"}) { id } }", {"id": ids["ann"]}, client=ann)
    fresh = gql.data(CREATE, {"i": {"name": "新", "phone": "13700137000"}}, client=ann)[
        "createContact"]["id"]
    taken = gql.error("mutation($id: ID!) { updateContact(id: $id, input: "
                      "{email: \"lina@secret.example.cn\"}) { id } }", {"id": fresh},
                      client=ann)
    assert taken["extensions"]["fields"][0]["code"] == "taken"
    # Merging under BLOCK: the survivor may take a source's number (the source goes).
    source = _contact(gql, tenant, "又一个", "ann", phone="13600136000")
    merged = gql.data("""mutation($i: MergeInput!) { mergeContacts(input: $i) { phone } }""",
                      {"i": {"survivorId": fresh, "sourceIds": [source],
                             "keep": [{"field": "phone", "recordId": source}]}}, client=ann)
    assert merged["mergeContacts"]["phone"] == "+8613600136000"
    trail = gql.data("""{ auditLog(first: 5, filter: {entityType: "tenant"}) {
      nodes { action before after } } }""", key=tenant.keys["owner"])["auditLog"]["nodes"]
    assert trail[0]["before"] == {"duplicatePolicy": "warn"}
    assert trail[0]["after"] == {"duplicatePolicy": "block"}
