"""Webhooks: subscriptions and their delivery log, tenant-owned; the `webhooks:manage`
permission for the owner and admin built-in roles; and two functions the workers call across
tenants (deliveries due, and pruning the log), which return ids and counts, never content.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from alembic import op

from infra.migrations.tenancy import create_tenant_table, drop_tenant_table

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# As tenancy/permissions.py grants it when this revision was written.
ROLES = ("owner", "admin")


def upgrade(app_role: str = "crm_app") -> None:
    create_tenant_table(
        "webhook_subscriptions",
        "url text not null check (length(url) <= 2000)",
        "event_types text[] not null",
        "description varchar(200) not null default ''",
        "status varchar(10) not null default 'active' "
        "check (status in ('active', 'paused', 'disabled'))",
        "status_reason varchar(10)",
        "secret bytea not null",
        "previous_secret bytea",
        "previous_secret_expires_at timestamptz",
        "secret_hint varchar(16) not null",
        "creator_user_id uuid",
        "creator_key_id uuid",
        "failure_streak integer not null default 0",
        "failing_since timestamptz",
        "probe_at timestamptz",
        "last_success_at timestamptz",
        "deleted_at timestamptz",
        constraints=[
            "foreign key (tenant_id, creator_user_id) references memberships (tenant_id, user_id)",
            "foreign key (tenant_id, creator_key_id) references api_keys (tenant_id, id)",
            # A member or a key; neither: made by the system (platform commands), reads all.
            "check (creator_user_id is null or creator_key_id is null)",
        ],
        # One index per sort (CREATED_AT_*, UPDATED_AT_DESC).
        indexes=["created_at desc, id desc", "updated_at desc, id desc"],
        app_role=app_role)

    create_tenant_table(
        "webhook_deliveries",
        "subscription_id uuid not null",
        "event_id uuid not null",
        "event_type varchar(100) not null",
        "occurred_at timestamptz not null",
        "ordering_key varchar(100) not null",
        "message_id varchar(64) not null",
        "payload jsonb not null",
        "body text",
        "status varchar(10) not null default 'pending' "
        "check (status in ('pending', 'retrying', 'succeeded', 'failed', 'skipped'))",
        "status_detail text",
        "attempt_count integer not null default 0",
        "next_attempt_at timestamptz",
        "last_attempt_at timestamptz",
        "response_status integer",
        "latency_ms integer",
        "attempts jsonb not null default '[]'",
        constraints=[
            "foreign key (tenant_id, subscription_id) "
            "references webhook_subscriptions (tenant_id, id) on delete cascade",
            # An event reaches a subscription once, however often it is relayed.
            "unique (tenant_id, subscription_id, event_id)",
        ],
        indexes=[
            "created_at desc, id desc",  # the log, newest first
            "subscription_id, created_at desc, id desc",
            # Ordering: an earlier open delivery of the same record blocks the next.
            "subscription_id, ordering_key, event_id",
        ],
        app_role=app_role)
    # What the sweep looks for, across tenants: open deliveries by when they are due.
    op.execute("""create index webhook_deliveries_due_idx on webhook_deliveries
                  (next_attempt_at) where status in ('pending', 'retrying')""")

    # Across tenants, for the workers' periodic sweep: which deliveries are due (ids only; each
    # is then handled in a transaction scoped to its tenant), and the pruning of old entries.
    op.execute("""
    create function webhook_due_deliveries(due_before timestamptz, max_rows integer)
    returns table (tenant_id uuid, id uuid)
    language sql stable security definer set search_path = public, pg_temp as $$
        select d.tenant_id, d.id from webhook_deliveries d
        where d.status in ('pending', 'retrying') and d.next_attempt_at <= due_before
        order by d.next_attempt_at limit max_rows
    $$""")
    op.execute("""
    create function webhook_prune_deliveries(older_than timestamptz, max_rows integer)
    returns integer
    language sql security definer set search_path = public, pg_temp as $$
        with gone as (
            delete from webhook_deliveries where ctid in (
                select ctid from webhook_deliveries
                where status in ('succeeded', 'failed', 'skipped') and created_at < older_than
                limit max_rows)
            returning 1)
        select count(*)::integer from gone
    $$""")
    for fn in ("webhook_due_deliveries(timestamptz, integer)",
               "webhook_prune_deliveries(timestamptz, integer)"):
        op.execute(f"revoke all on function {fn} from public")
        op.execute(f"grant execute on function {fn} to {app_role}")

    for role in ROLES:
        op.execute(f"""
        update roles set permissions = array(
            select distinct p from unnest(permissions || array['webhooks:manage']::text[]) as p
            order by p)
        where is_builtin and key = '{role}'""")


def downgrade(app_role: str = "crm_app") -> None:
    op.execute("drop function if exists webhook_due_deliveries(timestamptz, integer)")
    op.execute("drop function if exists webhook_prune_deliveries(timestamptz, integer)")
    drop_tenant_table("webhook_deliveries")
    drop_tenant_table("webhook_subscriptions")
    op.execute("""
    update roles set permissions = array(
        select p from unnest(permissions) as p where p <> 'webhooks:manage' order by p)
    where is_builtin""")
