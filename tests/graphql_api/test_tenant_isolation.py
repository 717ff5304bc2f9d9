"""Two tenants through GraphQL: neither can read, change or delete the other's records, by ID."""

from __future__ import annotations

from tests.conftest import GraphQLClient
from tests.factories import TenantFactory

CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
CREATE_COMPANY = "mutation($input: CompanyInput!) { createCompany(input: $input) { id } }"
LIST = "{ contacts(first: 100) { totalCount nodes { id name } } companies { nodes { id } } }"


def test_tenant_b_cannot_read_update_or_delete_tenant_a_records(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    a, b = tenants.make(), tenants.make()
    a_key, b_key = a.keys["owner"], b.keys["owner"]
    a_company = gql.data(CREATE_COMPANY, {"input": {"name": "A 公司"}}, key=a_key)[
        "createCompany"]["id"]
    a_contact = gql.data(CREATE, {"input": {"name": "A 的客户", "companyId": a_company}},
                         key=a_key)["createContact"]["id"]
    gql.data(CREATE, {"input": {"name": "B 的客户"}}, key=b_key)

    listed = gql.data(LIST, key=b_key)
    assert [n["name"] for n in listed["contacts"]["nodes"]] == ["B 的客户"]
    assert listed["contacts"]["totalCount"] == 1
    assert listed["companies"]["nodes"] == []

    for query, variables in [
        ("query($id: ID!) { contact(id: $id) { name } }", {"id": a_contact}),
        ("query($id: ID!) { company(id: $id) { name } }", {"id": a_company}),
        ("mutation($id: ID!) { updateContact(id: $id, input: {name: \"x\"}) { id } }",
         {"id": a_contact}),
        ("mutation($id: ID!) { deleteContact(id: $id) { id } }", {"id": a_contact}),
        ("mutation($id: ID!) { restoreContact(id: $id) { id } }", {"id": a_contact}),
        ("mutation($id: ID!) { deleteCompany(id: $id) { id } }", {"id": a_company}),
    ]:
        assert gql.error(query, variables, key=b_key)["extensions"]["code"] == "NOT_FOUND"
    assert gql.data("query($id: ID!) { node(id: $id) { id } }", {"id": a_contact},
                    key=b_key) == {"node": None}
    # B cannot attach its contact to A's company either.
    error = gql.error(CREATE, {"input": {"name": "x", "companyId": a_company}}, key=b_key)
    assert error["extensions"]["field"] == "companyId"

    # A's data is untouched.
    contact = gql.data("query($id: ID!) { contact(id: $id) { name deletedAt } }",
                       {"id": a_contact}, key=a_key)["contact"]
    assert contact == {"name": "A 的客户", "deletedAt": None}
    node = gql.data("query($id: ID!) { node(id: $id) { ... on Contact { name } } }",
                    {"id": a_contact}, key=a_key)["node"]
    assert node == {"name": "A 的客户"}


def test_audit_and_events_are_per_tenant(gql: GraphQLClient, tenants: TenantFactory) -> None:
    a, b = tenants.make(), tenants.make()
    gql.data(CREATE, {"input": {"name": "只属于A"}}, key=a.keys["owner"])
    audit = gql.data("{ auditLog(first: 100) { nodes { after } } }", key=b.keys["owner"])
    assert all("只属于A" not in str(n["after"]) for n in audit["auditLog"]["nodes"])
    events = gql.data("{ events(first: 100) { nodes { eventType } } }", key=b.keys["owner"])
    assert "contact.created" not in {n["eventType"] for n in events["events"]["nodes"]}
