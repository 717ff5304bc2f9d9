"""Webhooks' cross-tenant pieces brought under the house rules (review of issue 11):

- the sweep's index leads with `tenant_id`, as every index of a tenant-owned table does (the
  schema stays distributable by tenant); it holds open deliveries only, a small set, which the
  sweep reads whole and orders by due time;
- `webhook_prune_deliveries` deletes nothing younger than a day, whatever cutoff the caller
  passes: the application's role may call it, and must not be able to empty every tenant's
  delivery log (as 0004's prune functions already refuse);
- `webhook_due_deliveries` takes at most `PER_TENANT` rows of one tenant per call, so one
  tenant's backlog (a redelivery of thousands) does not hold back every other tenant's
  retries.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PER_TENANT = 500  # due deliveries of one tenant per sweep


def upgrade(app_role: str = "crm_app") -> None:
    op.execute("drop index if exists webhook_deliveries_due_idx")
    op.execute("""create index webhook_deliveries_due_idx on webhook_deliveries
                  (tenant_id, next_attempt_at) where status in ('pending', 'retrying')""")
    _prune("least(older_than, now() - interval '1 day')")
    op.execute(f"""
    create or replace function webhook_due_deliveries(due_before timestamptz, max_rows integer)
    returns table (tenant_id uuid, id uuid)
    language sql stable security definer set search_path = public, pg_temp as $$
        select due.tenant_id, due.id from (
            select d.tenant_id, d.id, d.next_attempt_at,
                   row_number() over (partition by d.tenant_id
                                      order by d.next_attempt_at) as place
            from webhook_deliveries d
            where d.status in ('pending', 'retrying') and d.next_attempt_at <= due_before
        ) due
        where due.place <= {PER_TENANT}
        order by due.next_attempt_at limit max_rows
    $$""")


def downgrade(app_role: str = "crm_app") -> None:
    op.execute("drop index if exists webhook_deliveries_due_idx")
    op.execute("""create index webhook_deliveries_due_idx on webhook_deliveries
                  (next_attempt_at) where status in ('pending', 'retrying')""")
    _prune("older_than")
    op.execute("""
    create or replace function webhook_due_deliveries(due_before timestamptz, max_rows integer)
    returns table (tenant_id uuid, id uuid)
    language sql stable security definer set search_path = public, pg_temp as $$
        select d.tenant_id, d.id from webhook_deliveries d
        where d.status in ('pending', 'retrying') and d.next_attempt_at <= due_before
        order by d.next_attempt_at limit max_rows
    $$""")


def _prune(cutoff: str) -> None:
    # `create or replace` keeps the function's grants (execute for the app role only).
    op.execute(f"""
    create or replace function webhook_prune_deliveries(older_than timestamptz,
                                                        max_rows integer)
    returns integer
    language sql security definer set search_path = public, pg_temp as $$
        with gone as (
            delete from webhook_deliveries where ctid in (
                select ctid from webhook_deliveries
                where status in ('succeeded', 'failed', 'skipped')
                  and created_at < {cutoff}
                limit max_rows)
            returning 1)
        select count(*)::integer from gone
    $$""")
