"""Segments, saved views, and customer classification (issue 12, item 3).

- `segments`: saved filters over contacts or companies, in one table with a `kind`: a
  `segment` (a set of customers that stays current: counted, listed, exported) or a `view`
  (a list's filter with its sort and columns, picked from the list's menu). Both are a
  member's own (`user_id`) and private unless `shared` with the tenant. A member has at most
  one default view per list.
- `customer_order_facts`: what the classification knows of each order (customer, time,
  amount), keyed by the order's id so feeding one twice changes nothing. The orders module
  will write it through `modules.classification.service.record_order` (docs/classification.md).
- `customer_metrics`: per customer, the metrics derived from those facts (first and last
  purchase, orders and money within the tenant's window) and what the tenant's rules make of
  them: RFM scores 1-5, spend and frequency levels, the customer level.
- `classification_rules`: the tenant's thresholds and level rules (one row; none: defaults).
- `classification_tenants()`: the tenants holding metrics, for the nightly recompute (the
  app's role cannot read across tenants otherwise).
- Permissions for the built-in roles of existing tenants (`tenancy.permissions`).

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-30
"""

from alembic import op

from infra.migrations.tenancy import create_tenant_table, drop_tenant_table, make_tenant_owned

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_SEGMENTS = ["segments:read", "segments:write", "segments:manage", "customers:export"]
# As tenancy/permissions.py grants them when this revision was written.
ROLE_PERMISSIONS = {
    "owner": [*_SEGMENTS, "classification:manage"],
    "admin": [*_SEGMENTS, "classification:manage"],
    "manager": _SEGMENTS,
    "sales": ["segments:read", "segments:write", "customers:export"],
    "viewer": ["segments:read"],
}
CUSTOMER_TYPES = "customer_type in ('contact', 'company')"


def upgrade(app_role: str = "crm_app") -> None:
    x = op.execute
    create_tenant_table(
        "segments",
        "kind varchar(10) not null check (kind in ('segment', 'view'))",
        "entity varchar(20) not null check (entity in ('contact', 'company'))",
        "name varchar(100) not null",
        "description varchar(500)",
        "filter jsonb not null default '{}'",
        "sort varchar(40)",
        "columns jsonb",
        "shared boolean not null default false",
        "is_default boolean not null default false",
        "user_id uuid",
        "deleted_at timestamptz",
        constraints=[
            "foreign key (tenant_id, user_id) references memberships (tenant_id, user_id)",
            "check (kind = 'view' or (sort is null and columns is null and not is_default))"],
        indexes=["lower(name), id", "created_at desc, id desc", "updated_at desc, id desc",
                 "user_id, entity"],
        app_role=app_role)
    x("""create unique index segments_default_view_key on segments (tenant_id, user_id, entity)
         where is_default and deleted_at is null""")

    x(f"""
    create table customer_order_facts (
        tenant_id uuid not null references tenants (id),
        order_id uuid not null,
        customer_type varchar(10) not null check ({CUSTOMER_TYPES}),
        customer_id uuid not null,
        placed_at timestamptz not null,
        amount numeric(18, 2) not null check (amount >= 0),
        recorded_at timestamptz not null default now(),
        primary key (tenant_id, order_id)
    )""")
    x("create index customer_order_facts_customer_idx on customer_order_facts "
      "(tenant_id, customer_type, customer_id, placed_at desc)")
    make_tenant_owned("customer_order_facts", app_role=app_role)

    x(f"""
    create table customer_metrics (
        tenant_id uuid not null references tenants (id),
        customer_type varchar(10) not null check ({CUSTOMER_TYPES}),
        customer_id uuid not null,
        first_purchase_at timestamptz,
        last_purchase_at timestamptz,
        order_count integer not null default 0,
        monetary numeric(18, 2) not null default 0,
        lifetime_orders integer not null default 0,
        lifetime_monetary numeric(18, 2) not null default 0,
        recency_score smallint check (recency_score between 1 and 5),
        frequency_score smallint check (frequency_score between 1 and 5),
        monetary_score smallint check (monetary_score between 1 and 5),
        spend_level varchar(10) check (spend_level in ('high', 'medium', 'low')),
        frequency_level varchar(10) check (frequency_level in ('high', 'medium', 'low')),
        level varchar(20),
        metrics_at timestamptz not null default now(),
        scored_at timestamptz,
        primary key (tenant_id, customer_type, customer_id)
    )""")
    # Filters probe the primary key from the customer's side; these serve a list driven from
    # the metrics (every level A customer of a large tenant).
    x("create index customer_metrics_level_idx on customer_metrics "
      "(tenant_id, customer_type, level, customer_id)")
    x("create index customer_metrics_rfm_idx on customer_metrics "
      "(tenant_id, customer_type, recency_score, frequency_score, monetary_score)")
    make_tenant_owned("customer_metrics", app_role=app_role)

    x("""
    create table classification_rules (
        tenant_id uuid not null references tenants (id) primary key,
        rules jsonb not null,
        updated_at timestamptz not null default now()
    )""")
    make_tenant_owned("classification_rules", app_role=app_role)

    x("""
    create function classification_tenants() returns setof uuid
        language sql stable security definer set search_path = public, pg_temp as $$
        select distinct tenant_id from customer_metrics $$""")
    x("revoke all on function classification_tenants() from public")
    x(f"grant execute on function classification_tenants() to {app_role}")

    for role, permissions in ROLE_PERMISSIONS.items():
        x(f"""
        update roles set permissions = array(
            select distinct p from unnest(permissions || array{permissions}::text[]) as p
            order by p)
        where is_builtin and key = '{role}'""")


def downgrade(app_role: str = "crm_app") -> None:
    op.execute("drop function if exists classification_tenants()")
    for table in ("classification_rules", "customer_metrics", "customer_order_facts"):
        op.execute(f"drop table if exists {table}")
    drop_tenant_table("segments")
    op.execute("""
    update roles set permissions = array(
        select p from unnest(permissions) as p
        where p not like 'segments:%' and p not in ('customers:export', 'classification:manage')
        order by p)
    where is_builtin""")
