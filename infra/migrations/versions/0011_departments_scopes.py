"""Departments, data scopes and shares.

- `departments`: a tree per tenant (parent, sibling position), its managers in
  `department_managers`; a sibling's name is unique under one parent.
- `memberships.department_id` (the one department a member belongs to) and
  `memberships.superior_id` (whom they report to: "subordinates" follow this line, directly or
  not); the `members` view shows both.
- `roles.data_scope`: which owned records a role reads and changes (own, subordinates,
  department, department_tree, all); `all` goes with `customers:read_all`, which the product
  keeps in step (backfilled here from it).
- `record_shares`: a record shared with a member or a department, read-only or read-write.

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30
"""

from alembic import op

from infra.migrations.tenancy import create_tenant_table, drop_tenant_table, make_tenant_owned

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

SCOPES = ("own", "subordinates", "department", "department_tree", "all")


def upgrade(app_role: str = "crm_app") -> None:
    x = op.execute
    create_tenant_table(
        "departments",
        "name varchar(100) not null", "parent_id uuid", "position integer not null default 0",
        constraints=["foreign key (tenant_id, parent_id) references departments (tenant_id, id)",
                     "check (parent_id is null or parent_id <> id)"],
        indexes=["lower(name), id", "created_at desc, id desc", "updated_at desc, id desc",
                 "position, id", "parent_id"],
        app_role=app_role)
    # Names are unique among siblings (the roots are siblings of each other).
    x("""create unique index departments_sibling_name_key on departments
         (tenant_id, coalesce(parent_id, '00000000-0000-0000-0000-000000000000'::uuid),
          lower(name))""")
    x("""
    create table department_managers (
        tenant_id uuid not null references tenants (id),
        department_id uuid not null,
        user_id uuid not null,
        primary key (tenant_id, department_id, user_id),
        foreign key (tenant_id, department_id) references departments (tenant_id, id)
            on delete cascade,
        foreign key (tenant_id, user_id) references memberships (tenant_id, user_id)
    )""")
    x("create index department_managers_user_idx on department_managers (tenant_id, user_id)")
    make_tenant_owned("department_managers", app_role=app_role,
                      grants="select, insert, delete")

    x("""
    alter table memberships
        add column department_id uuid,
        add column superior_id uuid,
        add foreign key (tenant_id, department_id) references departments (tenant_id, id),
        add foreign key (tenant_id, superior_id) references memberships (tenant_id, user_id),
        add check (superior_id is null or superior_id <> user_id)""")
    x("create index memberships_department_idx on memberships (tenant_id, department_id)")
    x("create index memberships_superior_idx on memberships (tenant_id, superior_id)")
    x("""
    create or replace view members with (security_invoker = true) as
    select m.tenant_id, m.user_id as id, m.role_id, m.status, m.created_at, m.updated_at,
           u.name, u.email, m.department_id, m.superior_id
    from memberships m
    join users u on u.id = m.user_id""")

    x(f"""
    alter table roles add column data_scope varchar(20) not null default 'own'
        check (data_scope in ({", ".join(f"'{s}'" for s in SCOPES)}))""")
    x("update roles set data_scope = 'all' where 'customers:read_all' = any(permissions)")

    create_tenant_table(
        "record_shares",
        "entity_type varchar(50) not null", "record_id uuid not null", "user_id uuid",
        "department_id uuid",
        "access varchar(10) not null check (access in ('read', 'write'))",
        "created_by uuid",
        constraints=[
            "check (num_nonnulls(user_id, department_id) = 1)",
            "foreign key (tenant_id, user_id) references memberships (tenant_id, user_id)",
            "foreign key (tenant_id, department_id) references departments (tenant_id, id) "
            "on delete cascade"],
        indexes=["entity_type, record_id"],
        app_role=app_role)
    x("""create unique index record_shares_user_key on record_shares
         (tenant_id, user_id, entity_type, record_id) where user_id is not null""")
    x("""create unique index record_shares_department_key on record_shares
         (tenant_id, department_id, entity_type, record_id) where department_id is not null""")


def downgrade(app_role: str = "crm_app") -> None:
    drop_tenant_table("record_shares")
    op.execute("alter table roles drop column if exists data_scope")
    op.execute("drop view if exists members")
    op.execute("""
    create view members with (security_invoker = true) as
    select m.tenant_id, m.user_id as id, m.role_id, m.status, m.created_at, m.updated_at,
           u.name, u.email
    from memberships m
    join users u on u.id = m.user_id""")
    op.execute(f"grant select, update on members to {app_role}")
    op.execute("""alter table memberships drop column if exists department_id,
                  drop column if exists superior_id""")
    drop_tenant_table("department_managers")
    drop_tenant_table("departments")
