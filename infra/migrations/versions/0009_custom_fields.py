"""Custom fields: the definitions a tenant's admins make for an entity (contacts, companies,
and any later entity declared with `custom_fields=True`), and their values.

Values live in one typed table, a row per (field, record) (a multiple select: a row per chosen
option, `position` 0, 1, …), with a column per kind of value. Every index leads with
`tenant_id, field_id`: a filter (equals, in, range, present) or a keyset sort by one field reads
that field's slice of one index, in order, with no DDL at run time (the app role owns nothing
and cannot create indexes). Unique fields are enforced by partial unique indexes over the rows
flagged `is_unique` (copied from the definition, flipped in one statement when the flag
changes), so two concurrent writes cannot both pass.

Removed fields are soft-deleted; `custom_fields_purge` (security definer, called by the
`custom_fields.purge` periodic job) deletes the values of fields removed longer ago than the
retention, never less than a day ago whatever the caller passes.

Revision ID: 0009
Revises: 0010
Create Date: 2026-11-30
"""

from alembic import op

from infra.migrations.tenancy import create_tenant_table, drop_tenant_table, make_tenant_owned

revision = "0009"
down_revision = "0010"
branch_labels = None
depends_on = None

# As tenancy/permissions.py grants them when this revision was written.
ROLE_PERMISSIONS = {
    "owner": ["fields:read", "fields:manage"],
    "admin": ["fields:read", "fields:manage"],
    "manager": ["fields:read"],
    "sales": ["fields:read"],
    "viewer": ["fields:read"],
}
TYPES = ("text", "number", "decimal", "date", "boolean", "select", "multi_select")


def upgrade(app_role: str = "crm_app") -> None:
    types = ", ".join(f"'{t}'" for t in TYPES)
    create_tenant_table(
        "custom_fields",
        "entity varchar(50) not null",
        "key varchar(40) not null check (key ~ '^[a-z][a-z0-9_]{0,39}$')",
        "label varchar(100) not null",
        f"type varchar(20) not null check (type in ({types}))",
        "required boolean not null default false",
        "is_unique boolean not null default false",
        "position integer not null default 0",
        "help_text varchar(500)",
        "options jsonb not null default '[]'",
        "deleted_at timestamptz",
        # One index per sort the kit declares (CREATED_AT_*, UPDATED_AT_DESC, NAME_* on the
        # label), and the definitions of one entity in their order.
        indexes=["created_at desc, id desc", "updated_at desc, id desc", "lower(label), id",
                 "entity, position, id"],
        app_role=app_role)
    # A key is the field's API name: one per entity, removed fields included (restoring one
    # never clashes; its key is free again once it is purged).
    op.execute("create unique index custom_fields_key_key on custom_fields "
               "(tenant_id, entity, key)")

    op.execute("""
    create table custom_field_values (
        tenant_id uuid not null references tenants (id),
        field_id uuid not null,
        record_id uuid not null,
        position smallint not null default 0,
        value_text text,
        value_number numeric,
        value_date date,
        value_bool boolean,
        is_unique boolean not null default false,
        primary key (tenant_id, field_id, record_id, position),
        foreign key (tenant_id, field_id) references custom_fields (tenant_id, id)
    )""")
    # A record's values (the data loader), and one per kind of value: filters and sorts.
    op.execute("create index custom_field_values_record_idx on custom_field_values "
               "(tenant_id, record_id, field_id)")
    for name, expression in (("text", "lower(value_text)"), ("number", "value_number"),
                             ("date", "value_date"), ("bool", "value_bool")):
        op.execute(f"create index custom_field_values_{name}_idx on custom_field_values "
                   f"(tenant_id, field_id, {expression}, record_id)")
        if name != "bool":
            op.execute(f"create unique index custom_field_values_unique_{name} on "
                       f"custom_field_values (tenant_id, field_id, {expression}) "
                       f"where is_unique and {expression} is not null")
    make_tenant_owned("custom_field_values", app_role=app_role)

    op.execute("""
    create function custom_fields_purge(retention interval, max_rows integer)
    returns integer
    language plpgsql security definer set search_path = public, pg_temp as $$
    declare
        cutoff timestamptz := now() - greatest(retention, interval '1 day');
        gone integer;
    begin
        delete from custom_field_values where ctid in (
            select v.ctid from custom_field_values v
            join custom_fields f on f.tenant_id = v.tenant_id and f.id = v.field_id
            where f.deleted_at < cutoff
            limit max_rows);
        get diagnostics gone = row_count;
        if gone < max_rows then
            -- The definitions whose values are all gone: their keys are free again.
            delete from custom_fields f where f.deleted_at < cutoff and not exists (
                select 1 from custom_field_values v
                where v.tenant_id = f.tenant_id and v.field_id = f.id);
        end if;
        return gone;
    end
    $$""")
    op.execute("revoke all on function custom_fields_purge(interval, integer) from public")
    op.execute(f"grant execute on function custom_fields_purge(interval, integer) to {app_role}")

    for role, permissions in ROLE_PERMISSIONS.items():
        op.execute(f"""
        update roles set permissions = array(
            select distinct p from unnest(permissions || array{permissions}::text[]) as p
            order by p)
        where is_builtin and key = '{role}'""")


def downgrade(app_role: str = "crm_app") -> None:
    op.execute("drop function if exists custom_fields_purge(interval, integer)")
    drop_tenant_table("custom_field_values")
    drop_tenant_table("custom_fields")
    op.execute("""
    update roles set permissions = array(
        select p from unnest(permissions) as p where p not like 'fields:%' order by p)
    where is_builtin""")
