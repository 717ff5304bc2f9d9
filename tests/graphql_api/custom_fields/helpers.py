"""GraphQL documents and small helpers shared by the custom-field tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient

FIELD = "id key label type entity required unique position helpText options { key label } " \
        "deletedAt"
CREATE_FIELD = f"""mutation($input: CustomFieldInput!) {{
  createCustomField(input: $input) {{ {FIELD} }} }}"""
UPDATE_FIELD = f"""mutation($id: ID!, $input: CustomFieldInput!) {{
  updateCustomField(id: $id, input: $input) {{ {FIELD} }} }}"""
DELETE_FIELD = "mutation($id: ID!) { deleteCustomField(id: $id) { id deletedAt } }"
RESTORE_FIELD = "mutation($id: ID!) { restoreCustomField(id: $id) { id deletedAt } }"
REORDER = """mutation($entity: CustomFieldEntity!, $ids: [ID!]!) {
  reorderCustomFields(entity: $entity, ids: $ids) { key position } }"""
DEFINITIONS = f"""query($entity: CustomFieldEntity!, $removed: Boolean! = false) {{
  customFieldDefinitions(entity: $entity, includeRemoved: $removed) {{ {FIELD} }} }}"""

VALUES = "customFields { key label type value display }"
CREATE_CONTACT = f"""mutation($input: ContactInput!) {{
  createContact(input: $input) {{ id name {VALUES} }} }}"""
UPDATE_CONTACT = f"""mutation($id: ID!, $input: ContactInput!) {{
  updateContact(id: $id, input: $input) {{ id name updatedAt {VALUES} }} }}"""
CREATE_COMPANY = f"""mutation($input: CompanyInput!) {{
  createCompany(input: $input) {{ id name {VALUES} }} }}"""
GET_CONTACT = f"query($id: ID!) {{ contact(id: $id) {{ id name {VALUES} }} }}"
CONTACTS = f"""query($filter: CustomerFilter, $sortBy: CustomFieldSort, $first: Int,
                     $after: String) {{
  contacts(first: $first, after: $after, filter: $filter, sortBy: $sortBy) {{
    totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ id name {VALUES} }} }} }}"""
AUDIT = """query($filter: AuditFilter) { auditLog(first: 50, filter: $filter) {
  nodes { action entityType entityId before after } } }"""


def define(gql: GraphQLClient, api_key: str, **fields: Any) -> dict[str, Any]:
    payload = {"entity": "CONTACT", "type": "TEXT", **fields}
    payload.setdefault("label", payload.get("key", "x").title())
    return gql.data(CREATE_FIELD, {"input": payload}, key=api_key)[  # type: ignore[no-any-return]
        "createCustomField"]


def contact(gql: GraphQLClient, api_key: str, name: str, **values: Any) -> dict[str, Any]:
    custom = [{"key": k, "value": v} for k, v in values.items()]
    return gql.data(CREATE_CONTACT, {"input": {"name": name, "customFields": custom}},  # type: ignore[no-any-return]
                    key=api_key)["createContact"]


def values_of(node: dict[str, Any]) -> dict[str, Any]:
    return {v["key"]: v["value"] for v in node["customFields"]}


def fields_of(error: dict[str, Any]) -> dict[str, str]:
    """A VALIDATION error's field paths and codes."""
    ext = error["extensions"]
    return {f["field"]: f["code"] for f in ext.get("fields", [])} or {ext["field"]: ext["code"]}
