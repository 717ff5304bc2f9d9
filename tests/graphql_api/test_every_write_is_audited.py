"""Every mutation leaves an audit row and an outbox event, written by the same request.

The cases are checked against the schema: a mutation added without a case here fails the suite,
so no write can reach the API unaudited by oversight.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

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
        response = self.client.post("/graphql", json={"query": query,
                                                      "variables": variables or {}},
                                    headers=headers)
        body = response.json()
        assert "errors" not in body, body
        return request_id, body["data"]


def _contact(scene: Scene, verb: str) -> str:
    queries = {
        "create": "mutation { createContact(input: {name: \"王小明\", phone: \"13800138000\"}) "
                  "{ id } }",
        "update": "mutation($id: ID!) { updateContact(id: $id, input: {title: \"经理\"}) { id } }",
        "delete": "mutation($id: ID!) { deleteContact(id: $id) { id } }",
        "restore": "mutation($id: ID!) { restoreContact(id: $id) { id } }",
    }
    request_id, data = scene.send(queries[verb], {"id": scene.ids.get("contact")}
                                  if verb != "create" else None)
    scene.ids.setdefault("contact", data.get("createContact", {}).get("id", ""))
    return request_id


def _company(scene: Scene, verb: str) -> str:
    queries = {
        "create": "mutation { createCompany(input: {name: \"深圳云帆物流\"}) { id } }",
        "update": "mutation($id: ID!) { updateCompany(id: $id, input: {industry: \"物流\"}) "
                  "{ id } }",
        "delete": "mutation($id: ID!) { deleteCompany(id: $id) { id } }",
        "restore": "mutation($id: ID!) { restoreCompany(id: $id) { id } }",
    }
    request_id, data = scene.send(queries[verb], {"id": scene.ids.get("company")}
                                  if verb != "create" else None)
    scene.ids.setdefault("company", data.get("createCompany", {}).get("id", ""))
    return request_id


def _login(scene: Scene) -> str:
    owner = scene.tenant.members["owner"]
    request_id, _ = scene.send(LOGIN, {"email": owner.email, "password": PASSWORD},
                               session=True)
    return request_id


def _logout(scene: Scene) -> str:
    request_id, _ = scene.send("mutation { logout }", session=True)  # the login's cookie
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


# In order: later cases use what earlier ones made.
CASES: dict[str, Callable[[Scene], str]] = {
    "createContact": lambda s: _contact(s, "create"),
    "updateContact": lambda s: _contact(s, "update"),
    "deleteContact": lambda s: _contact(s, "delete"),
    "restoreContact": lambda s: _contact(s, "restore"),
    "createCompany": lambda s: _company(s, "create"),
    "updateCompany": lambda s: _company(s, "update"),
    "deleteCompany": lambda s: _company(s, "delete"),
    "restoreCompany": lambda s: _company(s, "restore"),
    "login": _login,
    "logout": _logout,
    "createApiKey": _create_key,
    "revokeApiKey": _revoke_key,
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
