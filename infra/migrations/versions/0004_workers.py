"""Workers: what consumers and actors record (de-duplication, failures), and the few
cross-tenant functions the relay's sweep and the retention job need.

- `consumed_events`: one row per (tenant, event, consumer), written in the same transaction as
  the consumer's effects, so a redelivered event changes nothing twice.
- `job_receipts`: the same for actors, keyed by a business key or the message id.
- `worker_failures`: recent failures of consumers and actors, for the tenant's status panel.

The application role cannot bypass row-level security, and a sweep must find work in every
tenant: instead of a bypassing connection it gets `SECURITY DEFINER` functions that return only
tenant ids having pending outbox rows, and that delete only what retention allows (published
events, receipts and failures older than a cutoff). They run as the owner, which may bypass RLS
(as `DATABASE_URL` must: see the README's settings).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from alembic import op

from infra.migrations.tenancy import create_tenant_table, drop_tenant_table, make_tenant_owned

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MIN_AGE = "interval '1 day'"  # the youngest rows a prune function may delete
FUNCTIONS = (
    "outbox_pending_tenants(timestamptz, integer)",
    "prune_outbox(uuid, integer)",
    "prune_consumed_events(uuid, integer)",
    "prune_job_receipts(timestamptz, integer)",
    "prune_worker_failures(uuid, integer)",
)


def upgrade(app_role: str = "crm_app") -> None:
    # Keyed by event first: the relay asks which consumers have had a batch of events, and
    # retention deletes by event id (UUIDv7, so a range of ids is a range of time).
    op.execute("""
    create table consumed_events (
        tenant_id uuid not null references tenants (id),
        event_id uuid not null,
        consumer varchar(100) not null,
        consumed_at timestamptz not null default now(),
        outcome varchar(10) not null default 'done' check (outcome in ('done', 'gave_up')),
        primary key (tenant_id, event_id, consumer)
    )""")
    make_tenant_owned("consumed_events", app_role=app_role, grants="select, insert")

    op.execute("""
    create table job_receipts (
        tenant_id uuid not null references tenants (id),
        actor varchar(100) not null,
        key varchar(200) not null,
        done_at timestamptz not null default now(),
        primary key (tenant_id, actor, key)
    )""")
    op.execute("create index job_receipts_done_idx on job_receipts (tenant_id, done_at)")
    make_tenant_owned("job_receipts", app_role=app_role, grants="select, insert")

    create_tenant_table(
        "worker_failures",
        "occurred_at timestamptz not null default now()",
        "name varchar(100) not null",  # the actor's or the consumer's
        "event_id uuid",
        "message_id varchar(64)",
        "attempt integer not null",
        "error_type varchar(200) not null",
        "error varchar(1000) not null",
        indexes=["event_id"],  # how often a consumer has failed an event
        timestamps=False, app_role=app_role, grants="select, insert")

    op.execute("""
    create function outbox_pending_tenants(p_before timestamptz, p_limit integer)
        returns setof uuid
        language sql stable security definer set search_path = public, pg_temp as $$
        select t.id from tenants t
        where exists (select 1 from outbox o
                      where o.tenant_id = t.id and o.published_at is null
                        and o.occurred_at < p_before)
        limit p_limit $$""")
    # Each deletes at most p_limit rows older than the cutoff, taking them tenant by tenant
    # along the (tenant_id, id) keys, and says how many it deleted. Whatever cutoff the caller
    # gives, nothing younger than a day goes (MIN_AGE): the application's role can prune
    # history, never the recent rows (UUIDv7 ids carry their time in their first 48 bits).
    op.execute("""
    create function uuid7_floor(p_at timestamptz) returns uuid
        language sql stable set search_path = public, pg_temp as $$
        select (lpad(to_hex((extract(epoch from p_at) * 1000)::bigint), 12, '0')
                || '70008000000000000000')::uuid $$""")
    for name, table, cutoff, extra in (
            ("prune_outbox", "outbox", "id", "and x.published_at is not null"),
            # A mark of an event still pending stays: its consumer must not run it again.
            ("prune_consumed_events", "consumed_events", "event_id",
             "and not exists (select 1 from outbox o where o.tenant_id = x.tenant_id"
             " and o.id = x.event_id and o.published_at is null)"),
            ("prune_worker_failures", "worker_failures", "id", "")):
        key = "event_id, consumer" if table == "consumed_events" else "id"
        join = " and ".join(f"x.{k.strip()} = d.{k.strip()}" for k in key.split(","))
        op.execute(f"""
        create function {name}(p_before uuid, p_limit integer) returns integer
            language sql volatile security definer set search_path = public, pg_temp as $$
            with doomed as (
                select d.* from tenants t cross join lateral (
                    select x.tenant_id, {', '.join('x.' + k.strip() for k in key.split(','))}
                    from {table} x
                    where x.tenant_id = t.id {extra}
                      and x.{cutoff} < least(p_before, uuid7_floor(now() - {MIN_AGE}))
                    order by x.{cutoff} limit p_limit) d
                limit p_limit),
            gone as (
                delete from {table} x using doomed d
                where x.tenant_id = d.tenant_id and {join}
                returning 1)
            select count(*)::integer from gone $$""")
    op.execute(f"""
    create function prune_job_receipts(p_before timestamptz, p_limit integer) returns integer
        language sql volatile security definer set search_path = public, pg_temp as $$
        with doomed as (
            select d.* from tenants t cross join lateral (
                select x.tenant_id, x.actor, x.key from job_receipts x
                where x.tenant_id = t.id and x.done_at < least(p_before, now() - {MIN_AGE})
                order by x.done_at limit p_limit) d
            limit p_limit),
        gone as (
            delete from job_receipts x using doomed d
            where x.tenant_id = d.tenant_id and x.actor = d.actor and x.key = d.key
            returning 1)
        select count(*)::integer from gone $$""")
    for function in FUNCTIONS:
        op.execute(f"revoke all on function {function} from public")
        op.execute(f"grant execute on function {function} to {app_role}")


def downgrade(app_role: str = "crm_app") -> None:
    for function in FUNCTIONS:
        op.execute(f"drop function if exists {function}")
    op.execute("drop function if exists uuid7_floor(timestamptz)")
    drop_tenant_table("worker_failures")
    drop_tenant_table("job_receipts")
    drop_tenant_table("consumed_events")
