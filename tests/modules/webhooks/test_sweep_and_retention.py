"""The cross-tenant functions the periodic jobs use, run as the application's role (which
cannot bypass row-level security): due deliveries' ids across tenants, and pruning the log."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.conftest import Servers
from tests.factories import TenantData, TenantFactory
from tests.modules.webhooks.harness import Harness
from tests.modules.webhooks.receiver import Receiver


def _deliveries(harness: Harness, tenant: TenantData, receiver: Receiver, n: int = 1
                ) -> list[Any]:
    harness.subscribe(tenant, receiver.url(), ["contact.created"])
    ids = []
    for i in range(n):
        harness.gql.data("mutation($n: String!) { createContact(input: {name: $n}) { id } }",
                         {"n": f"扫描客户 {i}"}, key=tenant.keys["owner"])
        ids += harness.fan_out(tenant, harness.events(tenant, "contact.created")[-1])
    assert len(ids) == n
    return ids


def test_the_sweep_finds_due_deliveries_in_every_tenant_and_only_ids(
        harness: Harness, tenants: TenantFactory, receiver: Receiver, servers: Servers) -> None:
    a, b = tenants.make(), tenants.make()
    [due_a], [due_b] = _deliveries(harness, a, receiver), _deliveries(harness, b, receiver)
    harness.sql_write("update webhook_deliveries set next_attempt_at = now() - interval "
                      "'1 minute' where id = any(%(i)s)", {"i": [due_a, due_b]})
    [later] = _deliveries(harness, tenants.make(), receiver)
    harness.sql_write("update webhook_deliveries set next_attempt_at = now() + interval "
                      "'1 hour' where id = %(i)s", {"i": later})
    with psycopg.connect(servers.app_dsn) as conn:
        assert conn.execute("select count(*) from webhook_deliveries").fetchone() == (0,)  # RLS
        found = conn.execute("select tenant_id, id from webhook_due_deliveries(now(), 10000)"
                             ).fetchall()
    assert {(a.id, due_a), (b.id, due_b)} <= set(found)
    assert later not in {id for _, id in found}


def test_retention_prunes_finished_deliveries_past_their_age(
        harness: Harness, tenants: TenantFactory, receiver: Receiver, servers: Servers) -> None:
    tenant = tenants.make()
    old, recent, waiting = _deliveries(harness, tenant, receiver, 3)
    harness.sql_write("update webhook_deliveries set status = 'succeeded', created_at = now() - "
                      "interval '31 days' where id = %(i)s", {"i": old})
    harness.sql_write("update webhook_deliveries set status = 'succeeded' where id = %(i)s",
                      {"i": recent})
    harness.sql_write("update webhook_deliveries set created_at = now() - interval '31 days' "
                      "where id = %(i)s", {"i": waiting})  # still open: kept whatever its age
    with psycopg.connect(servers.app_dsn) as conn:
        gone = conn.execute("select webhook_prune_deliveries(now() - interval '30 days', 1000)"
                            ).fetchone()
        conn.commit()
    assert gone is not None and gone[0] >= 1
    left = {r[0] for r in harness.sql("select id from webhook_deliveries where tenant_id = %(t)s",
                                      {"t": tenant.id})}
    assert left == {recent, waiting}


def test_the_app_role_cannot_prune_what_is_younger_than_a_day(
        harness: Harness, tenants: TenantFactory, receiver: Receiver, servers: Servers) -> None:
    """The function crosses tenants for the retention job; called by the application's role
    with any cutoff (the future included), it still keeps a day of every tenant's log."""
    tenant = tenants.make()
    [done] = _deliveries(harness, tenant, receiver, 1)
    harness.sql_write("update webhook_deliveries set status = 'succeeded', created_at = now() - "
                      "interval '2 hours' where id = %(i)s", {"i": done})
    with psycopg.connect(servers.app_dsn) as conn:
        conn.execute("select webhook_prune_deliveries(now() + interval '100 years', 1000000)")
        conn.commit()
    assert harness.sql("select id from webhook_deliveries where id = %(i)s",
                       {"i": done}) == [(done,)]


def test_the_sweep_takes_a_bounded_share_of_one_tenants_backlog(
        harness: Harness, tenants: TenantFactory, receiver: Receiver, servers: Servers) -> None:
    """One tenant's thousands of due deliveries (a big redelivery) leave room in each sweep
    for every other tenant's."""
    busy, quiet = tenants.make(), tenants.make()
    [template] = _deliveries(harness, busy, receiver, 1)
    [theirs] = _deliveries(harness, quiet, receiver, 1)
    columns = [r[0] for r in harness.sql(
        "select column_name from information_schema.columns where table_name = "
        "'webhook_deliveries' and column_name not in ('id', 'event_id', 'message_id', "
        "'next_attempt_at') order by ordinal_position")]
    listed = ", ".join(columns)
    harness.sql_write(
        f"insert into webhook_deliveries (id, event_id, message_id, next_attempt_at, {listed}) "
        f"select gen_random_uuid(), gen_random_uuid(), 'msg_' || n, now() - interval '1 hour', "
        f"{listed} from webhook_deliveries, generate_series(1, 600) n where id = %(i)s",
        {"i": template})
    harness.sql_write("update webhook_deliveries set next_attempt_at = now() - interval "
                      "'1 minute' where id = %(i)s", {"i": theirs})
    with psycopg.connect(servers.app_dsn) as conn:
        found = conn.execute("select tenant_id, id from webhook_due_deliveries(now(), 1000)"
                             ).fetchall()
    assert sum(1 for t, _ in found if t == busy.id) == 500
    assert (quiet.id, theirs) in found  # though due later than all of busy's


def test_deleting_a_subscription_closes_what_it_had_not_delivered(
        harness: Harness, tenants: TenantFactory, receiver: Receiver) -> None:
    from modules.webhooks.service import webhook_subscriptions

    tenant = tenants.make()
    [open_one] = _deliveries(harness, tenant, receiver, 1)
    [(subscription_id,)] = harness.sql("select subscription_id from webhook_deliveries where "
                                       "id = %(i)s", {"i": open_one})
    harness.in_tenant(tenant.id, webhook_subscriptions.delete, harness.owner_ctx(tenant),
                      subscription_id)
    row = harness.delivery(open_one)
    assert (row["status"], row["next_attempt_at"]) == ("skipped", None)
