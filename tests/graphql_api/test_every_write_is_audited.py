"""Every mutation leaves an audit row and an outbox event, written by the same request.

The cases are checked against the schema: a mutation added without a case here fails the suite,
so no write can reach the API unaudited by oversight.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from graphql_api.csrf import CSRF_HEADER
from infra.global_ids import from_global_id, to_global_id
from tests.conftest import LOGIN, GraphQLClient, LiveServer
from tests.factories import PASSWORD, TenantData, TenantFactory

AUDIT = """query($r: String) { auditLog(first: 50, filter: {requestId: $r}) {
  nodes { action entityType actorType } } }"""
EVENTS = "{ events(first: 100) { nodes { eventType requestId } } }"


class Scene:
    """One tenant and what the cases create in it, each case sending its own request id."""

    def __init__(self, live_server: LiveServer, tenant: TenantData) -> None:
        self.url = live_server.url
        self.tenant = tenant
        self.key = tenant.keys["owner"]
        self.ids: dict[str, str] = {}
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def send(self, query: str, variables: dict[str, Any] | None = None, *,
             session: bool = False) -> tuple[str, dict[str, Any]]:
        request_id = uuid.uuid4().hex
        headers = {"X-Request-ID": request_id}
        if not session:
            headers["Authorization"] = f"Bearer {self.key}"
        else:
            headers[CSRF_HEADER] = "tests"
        response = self.client.post("/graphql", json={"query": query,
                                                      "variables": variables or {}},
                                    headers=headers)
        body = response.json()
        assert "errors" not in body, body
        return request_id, body["data"]


CUSTOMER_INPUT = {"Contact": ('{name: "王小明", phone: "13800138000"}', '{title: "经理"}'),
                  "Company": ('{name: "深圳云帆物流"}', '{industry: "物流"}'),
                  "Tag": ('{name: "重要客户"}', '{color: "#1e88e5"}')}


def _customer(scene: Scene, kind: str, verb: str) -> str:
    """createContact, updateCompany, …: each verb on a contact or a company (or a tag)."""
    created, changed = CUSTOMER_INPUT[kind]
    if verb == "create":
        request_id, data = scene.send(f"mutation {{ create{kind}(input: {created}) {{ id }} }}")
        scene.ids[kind] = data[f"create{kind}"]["id"]
        return request_id
    arguments = f"id: $id, input: {changed}" if verb == "update" else "id: $id"
    request_id, _ = scene.send(f"mutation($id: ID!) {{ {verb}{kind}({arguments}) {{ id }} }}",
                               {"id": scene.ids[kind]})
    return request_id


def _tagging(scene: Scene, verb: str, kind: str) -> str:
    """tagContact, untagCompany, …: the scene's tag on its contact or company."""
    request_id, _ = scene.send(
        f"mutation($id: ID!, $t: [ID!]!) {{ {verb}{kind}(id: $id, tagIds: $t) {{ id }} }}",
        {"id": scene.ids[kind], "t": [scene.ids["Tag"]]})
    return request_id


def _login(scene: Scene) -> str:
    owner = scene.tenant.members["owner"]
    request_id, _ = scene.send(LOGIN, {"email": owner.email, "password": PASSWORD},
                               session=True)
    return request_id


def _switch_tenant(scene: Scene) -> str:
    # Into the tenant it is in (the owner has no other): the session is renewed all the same.
    request_id, _ = scene.send("mutation($t: String!) { switchTenant(tenant: $t) { slug } }",
                               {"t": scene.tenant.slug}, session=True)
    return request_id


def _logout(scene: Scene) -> str:
    request_id, _ = scene.send("mutation { logout }", session=True)  # the switch's cookie
    return request_id


def _create_key(scene: Scene) -> str:
    request_id, data = scene.send(
        "mutation { createApiKey(name: \"ERP 同步\", role: \"viewer\") { apiKey { id } } }")
    scene.ids["api_key"] = data["createApiKey"]["apiKey"]["id"]
    return request_id


def _revoke_key(scene: Scene) -> str:
    request_id, _ = scene.send("mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
                               {"id": scene.ids["api_key"]})
    return request_id


def _add_member(scene: Scene) -> str:
    request_id, data = scene.send(
        "mutation($e: String!) { addMember(input: {email: $e, name: \"孙丽\", role: \"sales\"})"
        " { id } }", {"e": f"sun.li-{scene.tenant.slug}@example.com"})
    scene.ids["member"] = data["addMember"]["id"]
    return request_id


def _update_member(scene: Scene) -> str:
    request_id, _ = scene.send(
        "mutation($id: ID!) { updateMember(id: $id, input: {role: \"viewer\"}) { role } }",
        {"id": scene.ids["member"]})
    return request_id


WEBHOOK_URL = "https://93.184.215.14/hooks/crm"  # public (the test server refuses private ones)


def _webhook(scene: Scene, query: str, key: str = "WebhookSubscription",
             **variables: object) -> str:
    """A webhook mutation on the scene's subscription (`$id`), keeping any id it answers."""
    request_id, data = scene.send(query, {"id": scene.ids.get(key), **variables})
    answer = next(iter(data.values()))
    if isinstance(answer, dict) and "id" in answer:
        scene.ids[answer.get("__typename") or key] = answer["id"]
    return request_id


WEBHOOK_CASES: dict[str, Callable[[Scene], str]] = {
    "createWebhookSubscription": lambda s: _webhook(
        s, "mutation($u: String!) { createWebhookSubscription(input: {url: $u, "
        "eventTypes: [\"contact.created\"]}) { id } }", u=WEBHOOK_URL),
    "updateWebhookSubscription": lambda s: _webhook(
        s, "mutation($id: ID!) { updateWebhookSubscription(id: $id, input: {description: "
        "\"ERP\"}) { id } }"),
    "pauseWebhookSubscription": lambda s: _webhook(
        s, "mutation($id: ID!) { pauseWebhookSubscription(id: $id) { id } }"),
    "resumeWebhookSubscription": lambda s: _webhook(
        s, "mutation($id: ID!) { resumeWebhookSubscription(id: $id) { id } }"),
    "rotateWebhookSecret": lambda s: _webhook(
        s, "mutation($id: ID!) { rotateWebhookSecret(id: $id) { id } }"),
    "sendTestWebhookEvent": lambda s: _webhook(
        s, "mutation($id: ID!) { sendTestWebhookEvent(id: $id) { __typename id } }"),
    "redeliverWebhook": lambda s: _webhook(
        s, "mutation($id: ID!) { redeliverWebhook(id: $id) { __typename id } }",
        "WebhookDelivery"),
    "redeliverWebhooksSince": lambda s: _webhook(
        s, "mutation($id: ID!, $t: DateTime!) { redeliverWebhooksSince(subscriptionId: $id, "
        "since: $t) }", t="2000-01-01T00:00:00+00:00"),
    "deleteWebhookSubscription": lambda s: _webhook(
        s, "mutation($id: ID!) { deleteWebhookSubscription(id: $id) { id } }"),
    "restoreWebhookSubscription": lambda s: _webhook(
        s, "mutation($id: ID!) { restoreWebhookSubscription(id: $id) { id } }"),
}


def _interactions(scene: Scene, kind: str, verb: str) -> str:
    """createInteractionType, updateInteraction, …: on the scene's contact, with its call type."""
    if "call" not in scene.ids:
        _, data = scene.send("{ interactionTypes(first: 20) { nodes { id key } } }")
        scene.ids["call"] = next(n["id"] for n in data["interactionTypes"]["nodes"]
                                 if n["key"] == "CALL")
    created, changed = {
        "InteractionType": ('{name: "上门安装"}', '{color: "#1e88e5"}'),
        "Interaction": (f'{{typeId: "{scene.ids["call"]}", subject: "电话沟通", '
                        f'contactId: "{scene.ids["Contact"]}", durationSeconds: 300}}',
                        '{outcome: "已报价"}'),
        "SurveyResponse": (f'{{contactId: "{scene.ids["Contact"]}", csat: 5, nps: 9}}',
                           '{comment: "很满意"}')}[kind]
    if verb == "create":
        request_id, data = scene.send(f"mutation {{ create{kind}(input: {created}) {{ id }} }}")
        scene.ids[kind] = data[f"create{kind}"]["id"]
        return request_id
    arguments = f"id: $id, input: {changed}" if verb == "update" else "id: $id"
    request_id, _ = scene.send(f"mutation($id: ID!) {{ {verb}{kind}({arguments}) {{ id }} }}",
                               {"id": scene.ids[kind]})
    return request_id


INTERACTION_CASES: dict[str, Callable[[Scene], str]] = {
    f"{verb}{kind}": (lambda s, k=kind, v=verb: _interactions(s, k, v))
    for kind in ("InteractionType", "Interaction", "SurveyResponse")
    for verb in ("create", "update", "delete", "restore")
}



def _org(scene: Scene, query: str, key: str | None = None, **variables: object) -> str:
    """A departments, scopes, shares or bulk mutation (modules/departments, customers/bulk),
    keeping the id it answers under `key`."""
    request_id, data = scene.send(query, {
        k: scene.ids.get(v, v) if isinstance(v, str) else v for k, v in variables.items()})
    answer = next(iter(data.values()))
    if key is not None:
        scene.ids[key] = answer["id"]
    return request_id


ORG_CASES: dict[str, Callable[[Scene], str]] = {
    "createDepartment": lambda s: _org(
        s, "mutation { createDepartment(input: {name: \"销售部\"}) { id } }", "Department"),
    "updateDepartment": lambda s: _org(
        s, "mutation($id: ID!) { updateDepartment(id: $id, input: {position: 2}) { id } }",
        id="Department"),
    "setDepartmentManagers": lambda s: _org(
        s, "mutation($id: ID!, $u: [ID!]!) { setDepartmentManagers(id: $id, userIds: $u) "
        "{ id } }", id="Department", u=[to_global_id("User", s.tenant.members["owner"].user_id)]),
    "assignMembersToDepartment": lambda s: _org(
        s, "mutation($d: ID, $m: [ID!]!) { assignMembersToDepartment(departmentId: $d, "
        "memberIds: $m) { id } }", d="Department", m=[s.ids["member"]]),
    "setMemberSuperior": lambda s: _org(
        s, "mutation($m: ID!, $s: ID) { setMemberSuperior(memberId: $m, superiorId: $s) "
        "{ id } }", m="member", s=to_global_id("User", s.tenant.members["owner"].user_id)),
    "setRoleDataScope": lambda s: _org(
        s, "mutation { setRoleDataScope(role: \"sales\", scope: DEPARTMENT) { key } }"),
    "shareRecord": lambda s: _org(
        s, "mutation($r: ID!, $d: ID) { shareRecord(recordId: $r, access: READ, "
        "departmentId: $d) { id } }", "Share", r="Contact", d="Department"),
    "unshareRecord": lambda s: _org(
        s, "mutation($id: ID!) { unshareRecord(id: $id) { id } }", id="Share"),
    "bulkUpdateContacts": lambda s: _org(
        s, "mutation($ids: [ID!], $o: ID) { bulkUpdateContacts(action: ASSIGN, ids: $ids, "
        "ownerId: $o) { changed } }", ids=[s.ids["Contact"]],
        o=to_global_id("User", s.tenant.members["owner"].user_id)),
    "bulkUpdateCompanies": lambda s: _org(
        s, "mutation($ids: [ID!]) { bulkUpdateCompanies(action: DELETE, ids: $ids) "
        "{ changed } }", ids=[s.ids["Company"]]),
    "transferCustomers": lambda s: _org(
        s, "mutation($f: ID!, $t: ID!) { transferCustomers(fromUserId: $f, toUserId: $t) "
        "{ remaining } }", f=to_global_id("User", s.tenant.members["owner"].user_id),
        t=_member_user(s)),
    "removeDepartment": lambda s: _remove_department(s),
}


def _member_user(scene: Scene) -> str:
    _, member_id = from_global_id(scene.ids["member"])
    return to_global_id("User", member_id)


def _remove_department(scene: Scene) -> str:
    # Empty it first (its member leaves it), then remove it.
    scene.send("mutation($m: [ID!]!) { assignMembersToDepartment(departmentId: null, "
               "memberIds: $m) { id } }", {"m": [scene.ids["member"]]})
    return _org(scene, "mutation($id: ID!) { removeDepartment(id: $id) { id } }",
                id="Department")


def _merge(scene: Scene, kind: str, plural: str) -> str:
    """mergeContacts, mergeCompanies: two new records of the kind, the second into the first."""
    ids = [scene.send(f'mutation {{ create{kind}(input: {{name: "合并测试"}}) {{ id }} }}')[1][
        f"create{kind}"]["id"] for _ in range(2)]
    request_id, _ = scene.send(
        f"mutation($s: ID!, $o: [ID!]!) {{ merge{plural}(input: {{survivorId: $s, "
        "sourceIds: $o}) { id } }", {"s": ids[0], "o": ids[1:]})
    return request_id


MERGE_CASES: dict[str, Callable[[Scene], str]] = {
    "mergeContacts": lambda s: _merge(s, "Contact", "Contacts"),
    "mergeCompanies": lambda s: _merge(s, "Company", "Companies"),
    "setDuplicatePolicy": lambda s: s.send(
        "mutation { setDuplicatePolicy(policy: BLOCK) }")[0],
}


def _custom_field(scene: Scene, verb: str) -> str:
    """createCustomField, updateCustomField, …: a select field on contacts."""
    if verb == "create":
        request_id, data = scene.send(
            'mutation { createCustomField(input: {entity: CONTACT, key: "level", label: "等级", '
            'type: SELECT, options: [{key: "a", label: "A"}]}) { id } }')
        scene.ids["CustomField"] = data["createCustomField"]["id"]
        return request_id
    arguments = 'id: $id, input: {label: "客户等级"}' if verb == "update" else "id: $id"
    request_id, _ = scene.send(
        f"mutation($id: ID!) {{ {verb}CustomField({arguments}) {{ id }} }}",
        {"id": scene.ids["CustomField"]})
    return request_id


def _reorder_custom_fields(scene: Scene) -> str:
    _, data = scene.send('mutation { createCustomField(input: {entity: CONTACT, key: "vip", '
                         'label: "VIP", type: BOOLEAN}) { id } }')
    request_id, _ = scene.send(
        "mutation($ids: [ID!]!) { reorderCustomFields(entity: CONTACT, ids: $ids) { id } }",
        {"ids": [data["createCustomField"]["id"], scene.ids["CustomField"]]})
    return request_id


CUSTOM_FIELD_CASES: dict[str, Callable[[Scene], str]] = {
    "createCustomField": lambda s: _custom_field(s, "create"),
    "updateCustomField": lambda s: _custom_field(s, "update"),
    "deleteCustomField": lambda s: _custom_field(s, "delete"),
    "restoreCustomField": lambda s: _custom_field(s, "restore"),
    "reorderCustomFields": _reorder_custom_fields,
}


SEGMENT_CASES: dict[str, Callable[[Scene], str]] = {
    "createSegment": lambda s: _org(
        s, "mutation { createSegment(input: {kind: SEGMENT, entity: CONTACT, name: \"华为\", "
        "filter: {search: \"华为\"}}) { id } }", "Segment"),
    "updateSegment": lambda s: _org(
        s, "mutation($id: ID!) { updateSegment(id: $id, input: {name: \"华为客户\"}) { id } }",
        id="Segment"),
    "exportSegment": lambda s: _org(
        s, "mutation($id: ID!) { exportSegment(id: $id) { rows } }", id="Segment"),
    "deleteSegment": lambda s: _org(
        s, "mutation($id: ID!) { deleteSegment(id: $id) { id } }", id="Segment"),
    "restoreSegment": lambda s: _org(
        s, "mutation($id: ID!) { restoreSegment(id: $id) { id } }", id="Segment"),
    "setClassificationRules": lambda s: _org(
        s, "mutation { setClassificationRules(input: {windowDays: 365, recencyDays: [30, 90, "
        "180, 365], frequency: [2, 4, 8, 12], monetary: [\"1000\", \"5000\", \"20000\", "
        "\"100000\"], levels: [{key: \"A\", minMonetary: \"100000\"}, {key: \"B\"}]}) "
        "{ windowDays } }"),
}


PII_DOCUMENTS = {
    "revealContactPii": 'revealContactPii(id: $id, fields: ["idNumber"]) { value }',
    "exportContact": "exportContact(id: $id)",
    "eraseContact": "eraseContact(id: $id) { id }",
}


def _pii(scene: Scene, verb: str) -> str:
    """revealContactPii, exportContact, eraseContact: on a contact with an ID number."""
    if "PiiContact" not in scene.ids:
        _, data = scene.send('mutation { createContact(input: {name: "赵敏", '
                             'idNumber: "11010519491231002X"}) { id } }')
        scene.ids["PiiContact"] = data["createContact"]["id"]
    request_id, _ = scene.send(f"mutation($id: ID!) {{ {PII_DOCUMENTS[verb]} }}",
                               {"id": scene.ids["PiiContact"]})
    return request_id


PII_CASES: dict[str, Callable[[Scene], str]] = {
    verb: lambda s, v=verb: _pii(s, v) for verb in PII_DOCUMENTS}


# In order: later cases use what earlier ones made.
CASES: dict[str, Callable[[Scene], str]] = {
    "createContact": lambda s, k="Contact", v="create": _customer(s, k, v),
    "updateContact": lambda s, k="Contact", v="update": _customer(s, k, v),
    "deleteContact": lambda s, k="Contact", v="delete": _customer(s, k, v),
    "restoreContact": lambda s, k="Contact", v="restore": _customer(s, k, v),
    "createCompany": lambda s, k="Company", v="create": _customer(s, k, v),
    "updateCompany": lambda s, k="Company", v="update": _customer(s, k, v),
    "deleteCompany": lambda s, k="Company", v="delete": _customer(s, k, v),
    "restoreCompany": lambda s, k="Company", v="restore": _customer(s, k, v),
    "createTag": lambda s, k="Tag", v="create": _customer(s, k, v),
    "updateTag": lambda s, k="Tag", v="update": _customer(s, k, v),
    "tagContact": lambda s, v="tag", k="Contact": _tagging(s, v, k),
    "untagContact": lambda s, v="untag", k="Contact": _tagging(s, v, k),
    "tagCompany": lambda s, v="tag", k="Company": _tagging(s, v, k),
    "untagCompany": lambda s, v="untag", k="Company": _tagging(s, v, k),
    "deleteTag": lambda s, k="Tag", v="delete": _customer(s, k, v),
    "restoreTag": lambda s, k="Tag", v="restore": _customer(s, k, v),
    "login": _login,
    "switchTenant": _switch_tenant,
    "logout": _logout,
    "createApiKey": _create_key,
    "revokeApiKey": _revoke_key,
    "addMember": _add_member,
    "updateMember": _update_member,
    **WEBHOOK_CASES,
    **INTERACTION_CASES,
    **CUSTOM_FIELD_CASES,
    **ORG_CASES,
    **SEGMENT_CASES,
    **PII_CASES,
    **MERGE_CASES,
}


def test_every_mutation_of_the_schema_has_a_case_here(gql: GraphQLClient,
                                                     tenants: TenantFactory) -> None:
    key = tenants.make().keys["viewer"]
    fields = gql.data("{ __schema { mutationType { fields { name } } } }",
                      key=key)["__schema"]["mutationType"]["fields"]
    assert {f["name"] for f in fields} == set(CASES)


def test_every_mutation_writes_an_audit_row_and_an_event_in_its_request(
    gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
) -> None:
    tenant = tenants.make()
    scene = Scene(live_server, tenant)
    request_ids = {name: case(scene) for name, case in CASES.items()}
    events = gql.data(EVENTS, key=tenant.keys["owner"])["events"]["nodes"]
    evented = {e["requestId"] for e in events}
    for name, request_id in request_ids.items():
        audit = gql.data(AUDIT, {"r": request_id}, key=tenant.keys["owner"])
        assert audit["auditLog"]["nodes"], f"{name} left no audit row"
        assert request_id in evented, f"{name} left no outbox event"
