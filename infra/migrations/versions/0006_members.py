"""Members as one relation: the `members` view, a membership joined to its user, which the
module kit lists, looks up and renders like a table; and `members:read` for every built-in
role (everyone may see who their colleagues are, as owner pickers need). And the indexes that
sorts declared through the kit lacked (tests/modules/kit/test_sort_indexes.py): contacts and
companies by last change, API keys by creation and by name.

The view is `security_invoker`: the caller's row-level security on `memberships` (their
tenant) and `users` (members of their tenant) applies, as it would to the join written out.
Writes go to `memberships`; the view is never written.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# As tenancy/permissions.py grants it when this revision was written.
ROLES = ("owner", "admin", "manager", "sales", "viewer")
# One per declared sort that had none: (tenant_id, <its keys>, id), in its direction.
SORT_INDEXES = (
    ("contacts_changed_idx", "contacts", "updated_at desc, id desc"),
    ("companies_changed_idx", "companies", "updated_at desc, id desc"),
    ("api_keys_list_idx", "api_keys", "created_at desc, id desc"),
    ("api_keys_name_idx", "api_keys", "lower(name), id"),
)


def upgrade(app_role: str = "crm_app") -> None:
    op.execute("""
    create view members with (security_invoker = true) as
    select m.tenant_id, m.user_id as id, m.role_id, m.status, m.created_at, m.updated_at,
           u.name, u.email
    from memberships m
    join users u on u.id = m.user_id""")
    # UPDATE only so that a lookup may lock the rows it reads (`for update`, which locks the
    # membership and user underneath); the view itself is not updatable.
    op.execute(f"grant select, update on members to {app_role}")
    # Members are listed by name and looked up by user: the lookups' indexes are on the
    # tables (memberships' key leads with tenant_id; users' is their id).
    for name, table, keys in SORT_INDEXES:
        op.execute(f"create index {name} on {table} (tenant_id, {keys})")
    op.execute(f"""
    update roles set permissions = array(
        select distinct p from unnest(permissions || array['members:read']::text[]) as p
        order by p)
    where is_builtin and key in ({", ".join(f"'{r}'" for r in ROLES)})""")


def downgrade(app_role: str = "crm_app") -> None:
    for name, _, _ in SORT_INDEXES:
        op.execute(f"drop index if exists {name}")
    op.execute("drop view if exists members")
    op.execute("""
    update roles set permissions = array(
        select p from unnest(permissions) as p where p <> 'members:read' order by p)
    where is_builtin""")
