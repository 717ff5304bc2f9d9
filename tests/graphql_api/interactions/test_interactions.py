"""Interactions through GraphQL over HTTP, as reps, managers, viewers and attackers use them:
logging on customers one can see, hostile input, follow-ups, a customer's merged timeline and
satisfaction statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory
from tests.graphql_api.test_query_count import count_statements

CREATE_CONTACT = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
UPDATE_CONTACT = """mutation($id: ID!, $input: ContactInput!) {
  updateContact(id: $id, input: $input) { id } }"""
CREATE_COMPANY = "mutation($input: CompanyInput!) { createCompany(input: $input) { id } }"
TYPES = "{ interactionTypes(first: 50) { nodes { id key name builtIn } } }"
LOG = """mutation($input: InteractionInput!) { createInteraction(input: $input) {
  id subject occurredAt durationSeconds channel direction outcome nextFollowUpAt
  type { key } contact { id } company { id } owner { id }
  participantContacts { id } participantMembers { id } } }"""
UPDATE = """mutation($id: ID!, $input: InteractionInput!) {
  updateInteraction(id: $id, input: $input) { id outcome nextFollowUpAt } }"""
DELETE = "mutation($id: ID!) { deleteInteraction(id: $id) { id deletedAt } }"
ANSWER = """mutation($input: SurveyResponseInput!) { createSurveyResponse(input: $input) {
  id csat nps contact { id } company { id } interaction { id } } }"""
TIMELINE = """query($c: ID!, $n: Int, $after: String, $kinds: [TimelineKind!]) {
  timeline(customer: $c, first: $n, after: $after, kinds: $kinds) {
    edges { cursor at kind node {
      __typename
      ... on Interaction { id subject type { key } owner { name } }
      ... on SurveyResponse { id csat nps }
      ... on RecordChange { id action actorLabel actor { id } changes { field before after } }
    } }
    pageInfo { hasNextPage endCursor } } }"""
STATS = """query($c: ID, $since: DateTime, $until: DateTime) {
  satisfaction(customer: $c, since: $since, until: $until) {
    responses csatResponses csatAverage npsResponses promoters passives detractors nps } }"""
FOLLOW_UPS = """query($until: DateTime, $n: Int, $after: String) {
  followUps(until: $until, first: $n, after: $after) {
    nodes { id subject nextFollowUpAt } totalCount pageInfo { hasNextPage endCursor } } }"""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make(members={"rep1": "sales", "rep2": "sales", "boss": "manager",
                                 "looker": "viewer"})


@pytest.fixture(scope="module")
def people(live_server: LiveServer, gql: GraphQLClient, tenant: TenantData
           ) -> dict[str, httpx.Client]:
    return {name: login(live_server, gql, tenant.members[name].email, PASSWORD, tenant.slug)
            for name in ("rep1", "rep2", "boss", "looker")}


@pytest.fixture(scope="module")
def types(gql: GraphQLClient, tenant: TenantData) -> dict[str, str]:
    nodes = gql.data(TYPES, key=tenant.keys["owner"])["interactionTypes"]["nodes"]
    return {n["key"]: n["id"] for n in nodes if n["key"]}


def _contact(gql: GraphQLClient, client: httpx.Client, name: str, **extra: Any) -> str:
    return gql.data(CREATE_CONTACT, {"input": {"name": name, **extra}},  # type: ignore[no-any-return]
                    client=client)["createContact"]["id"]


def _log(gql: GraphQLClient, client: httpx.Client | None, types: dict[str, str],
         key: str | None = None, **fields: Any) -> dict[str, Any]:
    data = {"typeId": types["CALL"], "subject": "电话沟通", "occurredAt": _iso(NOW), **fields}
    if data["occurredAt"] is None:  # the server's now
        del data["occurredAt"]
    return gql.data(LOG, {"input": data}, client=client, key=key)[  # type: ignore[no-any-return]
        "createInteraction"]


def _walk(gql: GraphQLClient, client: httpx.Client, customer: str, size: int,
          kinds: list[str] | None = None) -> list[dict[str, Any]]:
    edges: list[dict[str, Any]] = []
    after = None
    while True:
        page = gql.data(TIMELINE, {"c": customer, "n": size, "after": after, "kinds": kinds},
                        client=client)["timeline"]
        edges += page["edges"]
        assert len(page["edges"]) <= size
        if not page["pageInfo"]["hasNextPage"]:
            return edges
        assert len(edges) < 500
        after = page["pageInfo"]["endCursor"]


def test_the_built_in_types_are_there_and_keep_their_names(
        gql: GraphQLClient, tenant: TenantData, types: dict[str, str]) -> None:
    assert set(types) == {"CALL", "EMAIL", "MEETING", "CHAT", "VISIT", "NOTE"}
    owner = tenant.keys["owner"]
    error = gql.error("mutation($id: ID!) { updateInteractionType(id: $id, input: {name: \"电话\"})"
                      " { id } }", {"id": types["CALL"]}, key=owner)
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["fields"][0]["code"] == "built_in"
    # The tenant's own: added, renamed, removed; a clash with a built-in name is a conflict.
    mine = gql.data("mutation { createInteractionType(input: {name: \"上门安装\", "
                    "color: \"#43A047\"}) { id name color builtIn key } }",
                    key=owner)["createInteractionType"]
    assert mine["color"] == "#43a047" and mine["builtIn"] is False and mine["key"] is None
    renamed = gql.data("mutation($id: ID!) { updateInteractionType(id: $id, input: {name: "
                       "\"现场安装\"}) { name } }", {"id": mine["id"]}, key=owner)
    assert renamed["updateInteractionType"]["name"] == "现场安装"
    clash = gql.error("mutation { createInteractionType(input: {name: \"call\"}) { id } }",
                      key=owner)
    assert clash["extensions"]["code"] == "CONFLICT"
    gql.data("mutation($id: ID!) { deleteInteractionType(id: $id) { id } }", {"id": mine["id"]},
             key=owner)
    listed = gql.data(TYPES, key=owner)["interactionTypes"]["nodes"]
    assert mine["id"] not in {n["id"] for n in listed}
    # Only who manages types may change them.
    refused = gql.error("mutation { createInteractionType(input: {name: \"x\"}) { id } }",
                        key=tenant.keys["viewer"])
    assert refused["extensions"]["code"] == "FORBIDDEN"


def test_a_rep_logs_a_call_and_sees_it_on_top_of_the_timeline_with_the_change_below(
        gql: GraphQLClient, people: dict[str, httpx.Client], types: dict[str, str]) -> None:
    rep = people["rep1"]
    contact = _contact(gql, rep, "张伟")
    call = _log(gql, rep, types, contactId=contact, occurredAt=None, durationSeconds=420,
                channel="PHONE",
                direction="OUTBOUND", outcome="约好下周见面",
                nextFollowUpAt=_iso(NOW + timedelta(days=2)))
    assert call["type"] == {"key": "CALL"} and call["contact"] == {"id": contact}
    assert call["durationSeconds"] == 420 and call["channel"] == "PHONE"
    gql.data(UPDATE_CONTACT, {"id": contact, "input": {"title": "采购经理"}}, client=rep)

    edges = gql.data(TIMELINE, {"c": contact, "n": 10}, client=rep)["timeline"]["edges"]
    kinds = [(e["kind"], e["node"].get("action")) for e in edges]
    # The interaction happened now; the contact's update came after it, its creation before.
    assert kinds == [("CHANGE", "updated"), ("INTERACTION", None), ("CHANGE", "created")]
    update = edges[0]["node"]
    assert update["changes"] == [{"field": "title", "before": None, "after": "采购经理"}]
    assert update["actor"] is not None
    assert edges[1]["node"]["id"] == call["id"]
    assert edges[1]["node"]["owner"]["name"] == "rep1"
    assert [e["at"] for e in edges] == sorted((e["at"] for e in edges), reverse=True)


def test_the_timeline_pages_over_every_source_once_in_order(
        gql: GraphQLClient, people: dict[str, httpx.Client], types: dict[str, str]) -> None:
    rep = people["rep1"]
    contact = _contact(gql, rep, "李娜")
    # Equal times across kinds and within a kind: the kind, then the id, decide.
    same = _iso(NOW - timedelta(days=3))
    for i in range(4):
        _log(gql, rep, types, contactId=contact, subject=f"拜访 {i}", occurredAt=same)
    for i in range(3):
        gql.data(ANSWER, {"input": {"contactId": contact, "csat": 3 + i % 3,
                                    "respondedAt": same}}, client=rep)
    for i in range(3):
        _log(gql, rep, types, contactId=contact, subject=f"回访 {i}",
             occurredAt=_iso(NOW - timedelta(days=i + 1)))
    for title in ("经理", "总监"):
        gql.data(UPDATE_CONTACT, {"id": contact, "input": {"title": title}}, client=rep)
    whole = _walk(gql, rep, contact, 50)
    assert len(whole) == 4 + 3 + 3 + 3  # interactions, answers, creation and two updates
    keys = [(e["at"], e["kind"], e["node"]["id"]) for e in whole]
    assert len(set(keys)) == len(keys)
    for size in (1, 2, 3, 5):
        assert _walk(gql, rep, contact, size) == whole, size
    # Newest first by time, then kind, then id (all descending).
    ats = [e["at"] for e in whole]
    assert ats == sorted(ats, reverse=True)
    only = _walk(gql, rep, contact, 2, kinds=["SURVEY", "CHANGE"])
    assert only == [e for e in whole if e["kind"] in ("SURVEY", "CHANGE")]
    bad = gql.error(TIMELINE, {"c": contact, "n": 2, "after": "bm90IGEgY3Vyc29y"}, client=rep)
    assert bad["extensions"]["code"] == "BAD_REQUEST" or bad["extensions"]["code"] == "VALIDATION"


def test_a_company_timeline_includes_its_contacts_interactions(
        gql: GraphQLClient, people: dict[str, httpx.Client], types: dict[str, str]) -> None:
    rep = people["rep1"]
    company = gql.data(CREATE_COMPANY, {"input": {"name": "北京云帆科技"}}, client=rep)[
        "createCompany"]["id"]
    contact = _contact(gql, rep, "王芳", companyId=company)
    on_contact = _log(gql, rep, types, contactId=contact, subject="电话")
    on_company = _log(gql, rep, types, companyId=company, subject="上门拜访",
                      occurredAt=_iso(NOW - timedelta(hours=1)))
    ids = [e["node"]["id"] for e in _walk(gql, rep, company, 10, kinds=["INTERACTION"])]
    assert ids == [on_contact["id"], on_company["id"]]
    ids = [e["node"]["id"] for e in _walk(gql, rep, contact, 10, kinds=["INTERACTION"])]
    assert ids == [on_contact["id"]]


def test_reps_log_only_on_their_customers_and_see_only_what_they_logged(
        gql: GraphQLClient, people: dict[str, httpx.Client], tenant: TenantData,
        types: dict[str, str]) -> None:
    rep1, rep2, boss, looker = (people[n] for n in ("rep1", "rep2", "boss", "looker"))
    theirs = _contact(gql, rep2, "赵敏")
    refused = gql.error(LOG, {"input": {"typeId": types["CALL"], "subject": "x",
                                        "contactId": theirs}}, client=rep1)
    assert refused["extensions"]["code"] == "VALIDATION"
    assert refused["extensions"]["fields"][0]["field"] == "contactId"
    # rep1 cannot read rep2's customer's timeline at all.
    assert gql.error(TIMELINE, {"c": theirs}, client=rep1)["extensions"]["code"] == "NOT_FOUND"
    # The manager logs on rep2's customer: rep2 sees the customer but not the manager's call.
    bosses = _log(gql, boss, types, contactId=theirs, subject="经理回访")
    reps = _log(gql, rep2, types, contactId=theirs, subject="销售电话")
    seen = {e["node"]["id"] for e in _walk(gql, rep2, theirs, 10, kinds=["INTERACTION"])}
    assert seen == {reps["id"]}
    seen = {e["node"]["id"] for e in _walk(gql, boss, theirs, 10, kinds=["INTERACTION"])}
    assert seen == {reps["id"], bosses["id"]}
    # A viewer reads everything and logs nothing.
    assert {e["node"]["id"] for e in _walk(gql, looker, theirs, 10, kinds=["INTERACTION"])} \
        == {reps["id"], bosses["id"]}
    viewer = gql.error(LOG, {"input": {"typeId": types["CALL"], "subject": "x",
                                       "contactId": theirs}}, client=looker)
    assert viewer["extensions"]["code"] == "FORBIDDEN"
    # Editing and deleting one's own; another's is not there.
    assert gql.error(UPDATE, {"id": bosses["id"], "input": {"outcome": "x"}},
                     client=rep2)["extensions"]["code"] == "NOT_FOUND"
    gql.data(UPDATE, {"id": reps["id"], "input": {"outcome": "已成交"}}, client=rep2)
    gql.data(DELETE, {"id": reps["id"]}, client=rep2)
    assert not _walk(gql, rep2, theirs, 10, kinds=["INTERACTION"])


def test_hostile_and_invalid_input_is_a_validation_error(
        gql: GraphQLClient, tenant: TenantData, tenants: TenantFactory,
        types: dict[str, str]) -> None:
    key = tenant.keys["owner"]
    contact = gql.data(CREATE_CONTACT, {"input": {"name": "钱七"}}, key=key)["createContact"]["id"]
    other = tenants.make()
    foreign = gql.data(CREATE_CONTACT, {"input": {"name": "外人"}},
                       key=other.keys["owner"])["createContact"]["id"]
    foreign_type = gql.data(TYPES, key=other.keys["owner"])["interactionTypes"]["nodes"][0]["id"]
    base = {"typeId": types["CALL"], "subject": "电话", "contactId": contact,
            "occurredAt": _iso(NOW)}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"durationSeconds": -5}, "durationSeconds"),
        ({"durationSeconds": 10**6}, "durationSeconds"),
        ({"nextFollowUpAt": _iso(NOW - timedelta(minutes=1))}, "nextFollowUpAt"),
        ({"subject": "电\x00话"}, "subject"),
        ({"subject": ""}, "subject"),
        ({"subject": "长" * 201}, "subject"),
        ({"body": "a\x00b"}, "body"),
        ({"typeId": foreign_type}, "typeId"),
        ({"typeId": contact}, "typeId"),
        ({"typeId": "not-an-id"}, "typeId"),
        ({"contactId": foreign}, "contactId"),
        ({"contactId": None}, "contactId"),
        ({"occurredAt": "1900-01-01T00:00:00+00:00"}, "occurredAt"),
        ({"occurredAt": "2026-11-20T10:00:00"}, "occurredAt"),
        ({"participantContactIds": [foreign]}, "participantContactIds.0"),
        ({"participantMemberIds": [contact]}, "participantMemberIds.0"),
        ({"participantContactIds": [contact] * 21}, "participantContactIds"),
    ]
    for change, field in cases:
        error = gql.error(LOG, {"input": {**base, **change}}, key=key)
        assert error["extensions"]["code"] == "VALIDATION", (change, error)
        assert any(f["field"].endswith(field) for f in error["extensions"]["fields"]), (
            change, error)
    answers: list[tuple[dict[str, Any], str]] = [
        ({"csat": 6}, "csat"), ({"csat": 0}, "csat"), ({"nps": 11}, "nps"), ({"nps": -1}, "nps"),
        ({}, "csat"), ({"csat": 3, "comment": "\x00"}, "comment")]
    for answer, field in answers:
        error = gql.error(ANSWER, {"input": {"contactId": contact, **answer}}, key=key)
        assert error["extensions"]["code"] == "VALIDATION", (answer, error)
        assert any(f["field"].endswith(field) for f in error["extensions"]["fields"]), (
            answer, error)
    # A follow-up may not move before the interaction by changing either time.
    call = _log(gql, None, types, key=key, contactId=contact,
                nextFollowUpAt=_iso(NOW + timedelta(hours=1)))
    error = gql.error(UPDATE, {"id": call["id"], "input": {
        "occurredAt": _iso(NOW + timedelta(hours=2))}}, key=key)
    assert error["extensions"]["fields"][0]["field"] == "nextFollowUpAt"
    for customer in (foreign, "garbage", types["CALL"]):
        error = gql.error(TIMELINE, {"c": customer}, key=key)
        assert error["extensions"]["code"] in ("NOT_FOUND", "VALIDATION"), error
        error = gql.error(STATS, {"c": customer}, key=key)
        assert error["extensions"]["code"] in ("NOT_FOUND", "VALIDATION"), error


def test_follow_ups_list_the_callers_own_due_and_upcoming_soonest_first(
        gql: GraphQLClient, people: dict[str, httpx.Client], types: dict[str, str]) -> None:
    rep = people["rep2"]
    contact = _contact(gql, rep, "孙丽")
    past = NOW - timedelta(days=2)
    overdue = _log(gql, rep, types, contactId=contact, subject="逾期", occurredAt=_iso(past),
                   nextFollowUpAt=_iso(NOW - timedelta(days=1)))
    today = _log(gql, rep, types, contactId=contact, subject="今天",
                 nextFollowUpAt=_iso(NOW + timedelta(hours=3)))
    later = _log(gql, rep, types, contactId=contact, subject="下月",
                 nextFollowUpAt=_iso(NOW + timedelta(days=30)))
    _log(gql, rep, types, contactId=contact, subject="无跟进")
    _log(gql, people["boss"], types, contactId=contact, subject="经理的",
         nextFollowUpAt=_iso(NOW + timedelta(hours=1)))
    until = _iso(NOW + timedelta(days=1))
    page = gql.data(FOLLOW_UPS, {"until": until}, client=rep)["followUps"]
    mine = [n["id"] for n in page["nodes"]]
    assert [i for i in mine if i in {overdue["id"], today["id"], later["id"]}] == [
        overdue["id"], today["id"]]
    assert page["totalCount"] == len(mine)
    # Paged one by one, the same list.
    walked, after = [], None
    while True:
        page = gql.data(FOLLOW_UPS, {"until": until, "n": 1, "after": after},
                        client=rep)["followUps"]
        walked += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == mine
    # Done: cleared, it leaves the list.
    gql.data(UPDATE, {"id": today["id"], "input": {"nextFollowUpAt": None}}, client=rep)
    page = gql.data(FOLLOW_UPS, {"until": until}, client=rep)["followUps"]
    assert today["id"] not in {n["id"] for n in page["nodes"]}
    assert gql.data(FOLLOW_UPS, {"until": _iso(NOW + timedelta(days=40))}, client=rep)[
        "followUps"]["nodes"][-1]["id"] == later["id"]


def test_satisfaction_is_computed_per_customer_and_tenant_over_a_period(
        gql: GraphQLClient, tenants: TenantFactory, types: dict[str, str]) -> None:
    tenant = tenants.make()
    key = tenant.keys["owner"]
    company = gql.data(CREATE_COMPANY, {"input": {"name": "上海星辰"}}, key=key)[
        "createCompany"]["id"]
    contact = gql.data(CREATE_CONTACT, {"input": {"name": "周杰", "companyId": company}},
                       key=key)["createContact"]["id"]
    other = gql.data(CREATE_CONTACT, {"input": {"name": "吴磊"}}, key=key)["createContact"]["id"]
    own_types = {n["key"]: n["id"] for n in gql.data(TYPES, key=key)["interactionTypes"]["nodes"]}
    call = _log(gql, None, own_types, key=key, contactId=contact)
    answers = [(contact, 5, 10), (contact, 4, 9), (contact, 2, 3), (contact, 3, None),
               (other, 1, 0)]
    for who, csat, nps in answers:
        gql.data(ANSWER, {"input": {"contactId": who, "csat": csat, "nps": nps}}, key=key)
    # Given only the interaction, the answer is about its contact.
    linked = gql.data(ANSWER, {"input": {"interactionId": call["id"], "nps": 8}}, key=key)[
        "createSurveyResponse"]
    assert linked["contact"] == {"id": contact} and linked["interaction"] == {"id": call["id"]}
    old = (NOW - timedelta(days=400))
    gql.data(ANSWER, {"input": {"contactId": contact, "csat": 1, "nps": 0,
                                "respondedAt": _iso(old)}}, key=key)

    since = _iso(NOW - timedelta(days=30))
    stats = gql.data(STATS, {"c": contact, "since": since}, key=key)["satisfaction"]
    # CSAT 5, 4, 2, 3 -> 3.50; NPS 10, 9, 3, 8 -> 2 promoters, 1 passive, 1 detractor -> 25.
    assert stats == {"responses": 5, "csatResponses": 4, "csatAverage": "3.50",
                     "npsResponses": 4, "promoters": 2, "passives": 1, "detractors": 1,
                     "nps": "25.0"}
    assert gql.data(STATS, {"c": company, "since": since}, key=key)["satisfaction"] == stats
    everything = gql.data(STATS, {"since": since}, key=key)["satisfaction"]
    # Plus (1, 0): CSAT 15/5 = 3.00; NPS 2 promoters, 2 detractors of 5 -> 0.
    assert everything["responses"] == 6 and everything["csatAverage"] == "3.00"
    assert everything["nps"] == "0.0" and everything["detractors"] == 2
    assert gql.data(STATS, {}, key=key)["satisfaction"]["responses"] == 7
    empty = gql.data(STATS, {"c": other, "until": _iso(old)}, key=key)["satisfaction"]
    assert empty["responses"] == 0 and empty["csatAverage"] is None and empty["nps"] is None
    assert gql.error(STATS, {"since": since, "until": since}, key=key)["extensions"][
        "code"] == "VALIDATION"


def test_a_timeline_page_costs_the_same_statements_whatever_its_size(
        gql: GraphQLClient, live_server: LiveServer, tenant: TenantData,
        types: dict[str, str]) -> None:
    key = tenant.keys["manager"]
    contact = gql.data(CREATE_CONTACT, {"input": {"name": "郑爽"}}, key=key)["createContact"]["id"]
    for i in range(12):
        _log(gql, None, types, key=key, contactId=contact, subject=f"第{i}次", occurredAt=None)
        gql.data(ANSWER, {"input": {"contactId": contact, "csat": 1 + i % 5}}, key=key)
        gql.data(UPDATE_CONTACT, {"id": contact, "input": {"title": f"职位{i}"}}, key=key)
    gql.data(TIMELINE, {"c": contact, "n": 2}, key=key)  # the key's lookup, before counting
    counts = []
    # Pages holding every kind: the union, the page's changes, one batch per loaded kind.
    for n in (6, 36):
        with count_statements(live_server) as statements:
            page = gql.data(TIMELINE, {"c": contact, "n": n}, key=key)["timeline"]
        assert len(page["edges"]) == n
        counts.append(len(statements))
        assert {e["kind"] for e in page["edges"]} == {"INTERACTION", "SURVEY", "CHANGE"}
    assert counts[0] == counts[1], counts


def test_a_deleted_customers_timeline_is_read_by_who_sees_deleted_records(
        gql: GraphQLClient, tenant: TenantData, types: dict[str, str]) -> None:
    manager, viewer = tenant.keys["manager"], tenant.keys["viewer"]
    contact = gql.data(CREATE_CONTACT, {"input": {"name": "冯删除"}}, key=manager)[
        "createContact"]["id"]
    _log(gql, None, types, key=manager, contactId=contact, occurredAt=None)
    gql.data("mutation($id: ID!) { deleteContact(id: $id) { id } }", {"id": contact},
             key=manager)
    edges = gql.data(TIMELINE, {"c": contact, "n": 10}, key=manager)["timeline"]["edges"]
    assert [(e["kind"], e["node"].get("action")) for e in edges] == [
        ("CHANGE", "deleted"), ("INTERACTION", None), ("CHANGE", "created")]
    assert gql.error(TIMELINE, {"c": contact}, key=viewer)["extensions"]["code"] == "NOT_FOUND"


def test_survey_answers_follow_the_same_rules_as_interactions(
        gql: GraphQLClient, people: dict[str, httpx.Client], types: dict[str, str]) -> None:
    rep1, rep2, looker = people["rep1"], people["rep2"], people["looker"]
    mine, theirs = _contact(gql, rep1, "陈答卷"), _contact(gql, rep2, "林答卷")
    their_call = _log(gql, rep2, types, contactId=theirs)
    for answer, field in (({"contactId": theirs, "csat": 5}, "contactId"),
                          ({"interactionId": their_call["id"], "csat": 5}, "interactionId")):
        error = gql.error(ANSWER, {"input": answer}, client=rep1)
        assert error["extensions"]["code"] == "VALIDATION", error
        assert error["extensions"]["fields"][0]["field"] == field
    refused = gql.error(ANSWER, {"input": {"contactId": mine, "csat": 5}}, client=looker)
    assert refused["extensions"]["code"] == "FORBIDDEN"
    gql.data(ANSWER, {"input": {"contactId": mine, "csat": 2, "nps": 3}}, client=rep1)
    # rep2's statistics over the tenant count only what rep2 recorded: none.
    assert gql.data(STATS, {}, client=rep2)["satisfaction"]["responses"] == 0
    assert gql.data(STATS, {}, client=rep1)["satisfaction"]["responses"] >= 1


LIST = """query($c: ID) { interactions(first: 20, filter: {contactId: $c}) { totalCount nodes {
  id subject occurredAt type { name key } contact { name } company { name } owner { name } } } }"""


def test_the_interaction_list_reads_the_same_on_every_path(
        gql: GraphQLClient, people: dict[str, httpx.Client], types: dict[str, str]) -> None:
    rep = people["rep1"]
    contact = _contact(gql, rep, "何列表")
    for i in range(3):
        _log(gql, rep, types, contactId=contact, subject=f"第{i}通",
             occurredAt=_iso(NOW - timedelta(hours=i)))
    # The first request runs the resolvers; later ones the compiled plan the database renders.
    answers = [gql.data(LIST, {"c": contact}, client=rep)["interactions"] for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    nodes = answers[0]["nodes"]
    assert [n["subject"] for n in nodes] == ["第0通", "第1通", "第2通"]
    assert all(n["type"] == {"name": "Call", "key": "CALL"} and n["contact"] == {"name": "何列表"}
               and n["owner"] == {"name": "rep1"} for n in nodes)
