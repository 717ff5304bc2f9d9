"""A delivery carries only records its subscription's creator may read, judged by the kit's
record rule as the creator is at the time of the attempt."""

from __future__ import annotations

from infra.global_ids import to_global_id
from tenancy.context import Actor, CallContext
from tests.factories import TenantFactory
from tests.modules.webhooks.harness import (
    Harness,
)
from tests.modules.webhooks.receiver import Receiver

CREATE = "mutation($n: String!, $o: ID) { createContact(input: {name: $n, ownerId: $o}) { id } }"


def test_a_creator_who_sees_only_their_own_customers_gets_only_those(
        harness: Harness, tenants: TenantFactory) -> None:
    receiver = Receiver()
    try:
        tenant = tenants.make(members={"sales1": "sales"})
        # The tenant's sales role may manage webhooks (a tenant's own choice of permissions).
        harness.sql_write("update roles set permissions = permissions || "
                          "array['webhooks:manage'] where tenant_id = %(t)s and key = 'sales'",
                          {"t": tenant.id})
        sales = tenant.members["sales1"]
        ctx = CallContext(Actor("user", sales.user_id, tenant.id, "sales",
                                frozenset({"customers:read", "customers:write",
                                           "webhooks:manage"}), sales.email))
        harness.subscribe(tenant, receiver.url(), ["contact.created"], ctx=ctx)
        key = tenant.keys["owner"]
        mine = harness.gql.data(CREATE, {"n": "我的客户", "o": to_global_id(
            "User", sales.user_id)}, key=key)["createContact"]["id"]
        harness.gql.data(CREATE, {"n": "别人的客户", "o": to_global_id(
            "User", tenant.members["owner"].user_id)}, key=key)

        outcomes = {}
        for event in harness.events(tenant, "contact.created"):
            [delivery_id] = harness.fan_out(tenant, event)
            outcomes[event.payload["data"]["name"]] = (harness.attempt(tenant, delivery_id),
                                                       delivery_id)

        assert outcomes["我的客户"][0].status == "succeeded"
        assert outcomes["别人的客户"][0].status == "skipped"
        skipped = harness.delivery(outcomes["别人的客户"][1])
        assert "may not read" in skipped["status_detail"] and skipped["body"] is None
        [request] = receiver.wait_for(1)
        assert mine.encode() in request.body and "别人的客户".encode() not in request.body

        # Once the creator leaves the tenant, nothing more is sent, their own records neither.
        harness.gql.data(CREATE, {"n": "新客户", "o": to_global_id("User", sales.user_id)},
                         key=key)
        harness.sql_write("update memberships set status = 'disabled' where tenant_id = %(t)s "
                          "and user_id = %(u)s", {"t": tenant.id, "u": sales.user_id})
        [delivery_id] = harness.fan_out(tenant, harness.events(tenant, "contact.created")[-1])
        assert harness.attempt(tenant, delivery_id).status == "skipped"
        assert len(receiver.requests) == 1
    finally:
        receiver.close()
