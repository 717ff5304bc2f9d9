"""Tags: the tenant's shared labels, and the join tables that put them on contacts and companies.

Every table is tenant-owned through `infra.migrations.tenancy` (keys led by `tenant_id`,
composite foreign keys, row-level security forced, the policy and the app role's grants). The
built-in roles of existing tenants get the tag permissions new tenants' roles have
(`tenancy.permissions.BUILTIN_ROLES`).

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-30
"""

from alembic import op

from infra.migrations.tenancy import create_tenant_table, drop_tenant_table, make_tenant_owned

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# As tenancy/permissions.py grants them when this revision was written.
ROLE_PERMISSIONS = {
    "owner": ["tags:read", "tags:write", "tags:delete"],
    "admin": ["tags:read", "tags:write", "tags:delete"],
    "manager": ["tags:read", "tags:write", "tags:delete"],
    "sales": ["tags:read"],
    "viewer": ["tags:read"],
}
LINKS = {"contact_tags": ("contact_id", "contacts"), "company_tags": ("company_id", "companies")}


def upgrade(app_role: str = "crm_app") -> None:
    create_tenant_table(
        "tags",
        "name varchar(50) not null",
        "color varchar(7) not null default '#9e9e9e' check (color ~ '^#[0-9a-f]{6}$')",
        "deleted_at timestamptz",
        # One index per sort (NAME_*, CREATED_AT_*, UPDATED_AT_DESC).
        indexes=["lower(name), id", "created_at desc, id desc", "updated_at desc, id desc"],
        app_role=app_role)
    # Names are unique per tenant whatever their case, deleted tags included.
    op.execute("create unique index tags_name_key on tags (tenant_id, lower(name))")

    for table, (key, owners) in LINKS.items():
        # The key makes tagging idempotent and serves a customer's tags; the second index
        # serves "customers with this tag" (the lists' tag filter).
        op.execute(f"""
        create table {table} (
            tenant_id uuid not null references tenants (id),
            {key} uuid not null,
            tag_id uuid not null,
            created_at timestamptz not null default now(),
            primary key (tenant_id, {key}, tag_id),
            foreign key (tenant_id, {key}) references {owners} (tenant_id, id),
            foreign key (tenant_id, tag_id) references tags (tenant_id, id)
        )""")
        op.execute(f"create index {table}_tag_idx on {table} (tenant_id, tag_id, {key})")
        make_tenant_owned(table, app_role=app_role, grants="select, insert, delete")

    for role, permissions in ROLE_PERMISSIONS.items():
        op.execute(f"""
        update roles set permissions = array(
            select distinct p from unnest(permissions || array{permissions}::text[]) as p
            order by p)
        where is_builtin and key = '{role}'""")


def downgrade(app_role: str = "crm_app") -> None:
    for table in LINKS:
        drop_tenant_table(table)
    drop_tenant_table("tags")
    op.execute("""
    update roles set permissions = array(
        select p from unnest(permissions) as p where p not like 'tags:%' order by p)
    where is_builtin""")
