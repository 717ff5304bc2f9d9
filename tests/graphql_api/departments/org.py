"""A small organisation built through GraphQL over HTTP, as an admin would build it, for the
tests of departments, data scopes, shares and bulk operations.

    销售部 (lead)                 lead reports to nobody
    ├── 华东组 (east, east2)      east and east2 report to lead
    │   └── 上海小组 (sh)          sh reports to east
    └── 华北组 (north)            north reports to lead

Every member is a sales user and owns one contact (named after them) and one company.
"""

from __future__ import annotations

from typing import Any

import httpx

from infra.global_ids import to_global_id
from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory

PEOPLE = ("lead", "east", "east2", "sh", "north")

CREATE_DEPT = """mutation($input: DepartmentInput!) {
  createDepartment(input: $input) { id name } }"""
ASSIGN = """mutation($d: ID, $m: [ID!]!) {
  assignMembersToDepartment(departmentId: $d, memberIds: $m) { id } }"""
SUPERIOR = """mutation($m: ID!, $s: ID) { setMemberSuperior(memberId: $m, superiorId: $s) {
  id superior { id } } }"""
SET_SCOPE = """mutation($r: String!, $s: DataScope!) {
  setRoleDataScope(role: $r, scope: $s) { key dataScope permissions } }"""
CREATE_CONTACT = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
CREATE_COMPANY = "mutation($input: CompanyInput!) { createCompany(input: $input) { id } }"


class Org:
    def __init__(self, gql: GraphQLClient, live_server: LiveServer, tenants: TenantFactory
                 ) -> None:
        self.gql, self.live_server = gql, live_server
        self.tenant: TenantData = tenants.make(members={p: "sales" for p in PEOPLE})
        self.admin = self.tenant.keys["owner"]
        self.depts: dict[str, str] = {}
        self.contacts: dict[str, str] = {}
        self.companies: dict[str, str] = {}
        self._clients: dict[str, httpx.Client] = {}
        sales = self.dept("销售部")
        east = self.dept("华东组", sales)
        self.dept("上海小组", east)
        self.dept("华北组", sales)
        for person, dept in (("lead", "销售部"), ("east", "华东组"), ("east2", "华东组"),
                             ("sh", "上海小组"), ("north", "华北组")):
            self.admin_data(ASSIGN, {"d": self.depts[dept], "m": [self.member(person)]})
        for person, boss in (("east", "lead"), ("east2", "lead"), ("sh", "east"),
                             ("north", "lead")):
            self.admin_data(SUPERIOR, {"m": self.member(person), "s": self.user(boss)})
        for person in PEOPLE:
            self.contacts[person] = self.admin_data(CREATE_CONTACT, {"input": {
                "name": f"客户-{person}", "ownerId": self.user(person)}})["createContact"]["id"]
            self.companies[person] = self.admin_data(CREATE_COMPANY, {"input": {
                "name": f"公司-{person}", "ownerId": self.user(person)}})["createCompany"]["id"]

    def dept(self, name: str, parent: str | None = None) -> str:
        found = self.admin_data(CREATE_DEPT, {"input": {"name": name, "parentId": parent}})
        self.depts[name] = found["createDepartment"]["id"]
        return self.depts[name]

    def user(self, person: str) -> str:
        return to_global_id("User", self.tenant.members[person].user_id)

    def member(self, person: str) -> str:
        return to_global_id("Member", self.tenant.members[person].user_id)

    def admin_data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.gql.data(query, variables, key=self.admin)

    def set_scope(self, scope: str, role: str = "sales") -> dict[str, Any]:
        return self.admin_data(SET_SCOPE, {"r": role, "s": scope})["setRoleDataScope"]

    def client(self, person: str) -> httpx.Client:
        if person not in self._clients:
            self._clients[person] = login(self.live_server, self.gql,
                                          self.tenant.members[person].email, PASSWORD)
        return self._clients[person]

    def as_(self, person: str, query: str, variables: dict[str, Any] | None = None
            ) -> dict[str, Any]:
        return self.gql.data(query, variables, client=self.client(person))

    def error_as(self, person: str, query: str, variables: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
        return self.gql.error(query, variables, client=self.client(person))

    def whose(self, ids: list[str], kind: str = "contacts") -> set[str]:
        """The people whose records these are."""
        table = self.contacts if kind == "contacts" else self.companies
        by_id = {v: k for k, v in table.items()}
        return {by_id[i] for i in ids if i in by_id}

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
