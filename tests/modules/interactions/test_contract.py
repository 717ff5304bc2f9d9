"""Interaction types, interactions and survey answers run the kit's contract
(tests/modules/kit/contract.py).

Interactions and answers are logged on a customer the writer can see, with one of the tenant's
types: each tenant of the world gets a company and its "call" type, and a writer who sees only
their own customers (a sales user) logs on a company of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

import pytest

from modules.interactions.entities import INTERACTION, INTERACTION_TYPE, SURVEY_RESPONSE
from tenancy.permissions import Permission
from tests.conftest import LiveServer, Servers
from tests.factories import TenantFactory
from tests.modules.kit.contract import EntityContract
from tests.modules.kit.world import Caller, World, decode_global_id

CREATE_COMPANY = "mutation($input: CompanyInput!) { createCompany(input: $input) { id } }"
TYPES = "{ interactionTypes(first: 20) { nodes { id key } } }"


class _LoggedOnCustomers(EntityContract):
    """Inputs carry the tenant's type and a company the writer can see."""

    refs: ClassVar[dict[uuid.UUID, dict[str, str]]] = {}
    tenant_a: ClassVar[uuid.UUID]
    needs_type: ClassVar[bool] = True

    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, servers: Servers, live_server: LiveServer, tenants: TenantFactory
              ) -> Iterator[World]:
        world = World(servers, live_server, tenants)
        for tenant in (world.a, world.b, world.s):
            key = tenant["owner key"]
            company = key.data(CREATE_COMPANY, {"input": {"name": "契约客户有限公司"}})[
                "createCompany"]["id"]
            types = {n["key"]: n["id"] for n in key.data(TYPES)["interactionTypes"]["nodes"]}
            cls.refs[tenant.id] = {"companyId": company, "typeId": types["CALL"]}
        cls.tenant_a = world.a.id
        yield world
        world.close()

    def refs_for(self, tenant_id: uuid.UUID) -> dict[str, str]:
        refs = dict(self.refs[tenant_id])
        if not self.needs_type:
            refs.pop("typeId")
        return refs

    def create_input(self, name: str) -> dict[str, Any]:
        return {**super().create_input(name), **self.refs_for(self.tenant_a)}

    def create_many(self, caller: Caller, inputs: list[dict[str, Any]], *,
                    request_id: str | None = None) -> list[uuid.UUID]:
        refs = self.refs_for(caller.ctx.tenant_id)
        if not caller.can(Permission.CUSTOMERS_READ_ALL):  # logs on a customer of their own
            refs["companyId"] = caller.data(CREATE_COMPANY, {"input": {
                "name": f"自己的客户 {uuid.uuid4().hex[:6]}"}})["createCompany"]["id"]
        return super().create_many(caller, [{**i, **refs} for i in inputs],
                                   request_id=request_id)

    def service_input(self, data: dict[str, Any]) -> dict[str, Any]:
        values = super().service_input(data)
        for key, value in list(values.items()):
            if key.endswith("_id") and isinstance(value, str):
                values[key] = decode_global_id(value)[1]
            elif key in ("channel", "direction") and value:
                values[key] = value.lower()
            elif key.endswith("_at") and isinstance(value, str):
                values[key] = datetime.fromisoformat(value)
        return values


class TestInteractionTypeContract(EntityContract):
    entity = INTERACTION_TYPE
    list_field, get_field = "interactionTypes", "interactionType"
    create = {"color": "#1e88e5"}
    update = {"color": "#e53935"}
    preexisting = 6  # the built-in types every tenant starts with
    # Type names are unique in a tenant whatever their case: no two of these clash.
    sort_names = ("İa", "Ib", "ic", "ß", "Ä", "a", "张三", "李四", "Zoë", "王五")


class TestInteractionContract(_LoggedOnCustomers):
    entity = INTERACTION
    list_field, get_field = "interactions", "interaction"
    name_field = name_column = "subject"
    create = {"occurredAt": "2026-11-20T02:00:00.000000+00:00", "durationSeconds": 300,
              "channel": "PHONE", "direction": "OUTBOUND", "body": "询问报价"}
    update = {"outcome": "已报价", "durationSeconds": 600}
    orders = {"OCCURRED_AT_DESC": "occurred_at desc", "OCCURRED_AT_ASC": "occurred_at asc"}
    unrendered_selection = "channel"


class TestSurveyResponseContract(_LoggedOnCustomers):
    entity = SURVEY_RESPONSE
    list_field, get_field = "surveyResponses", "surveyResponse"
    name_field = name_column = "comment"
    needs_type = False
    create = {"csat": 4, "nps": 9, "respondedAt": "2026-11-21T08:30:00.000000+00:00"}
    update = {"csat": 2}
    orders = {"RESPONDED_AT_DESC": "responded_at desc"}
