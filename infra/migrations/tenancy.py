"""Making a table tenant-owned in one call, so no migration restates the rules by hand.

Every tenant-owned table has `tenant_id` leading its primary key (and so every index that
serves it), row-level security enabled *and forced* with a policy whose USING and WITH CHECK
both compare `tenant_id` with the transaction's `app.tenant_id` (no tenant set: no row visible,
no insert passes), and grants for the application role, which owns nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

READ_WRITE = "select, insert, update, delete"


def create_tenant_table(name: str, *columns: str, app_role: str, grants: str = READ_WRITE,
                        timestamps: bool = True, constraints: Sequence[str] = (),
                        indexes: Sequence[str] = ()) -> None:
    """`create table <name>` with `tenant_id` and `id` (the key `(tenant_id, id)`), the given
    column and constraint definitions (SQL), `created_at`/`updated_at` unless told otherwise,
    then `make_tenant_owned`. `indexes` are column lists; `tenant_id` is put first in each:
    `indexes=["lower(name), id"]` gives `(tenant_id, lower(name), id)`."""
    parts = ["tenant_id uuid not null references tenants (id)", "id uuid not null", *columns]
    if timestamps:
        parts += ["created_at timestamptz not null default now()",
                  "updated_at timestamptz not null default now()"]
    parts += ["primary key (tenant_id, id)", *constraints]
    body = ",\n    ".join(parts)
    op.execute(f"create table {name} (\n    {body}\n)")
    for i, index in enumerate(indexes, 1):
        op.execute(f"create index {name}_{i}_idx on {name} (tenant_id, {index})")
    make_tenant_owned(name, app_role=app_role, grants=grants)


def make_tenant_owned(name: str, *, app_role: str, grants: str = READ_WRITE) -> None:
    """Row-level security enabled and forced, the tenant policy, and the app role's grants."""
    op.execute(f"alter table {name} enable row level security")
    op.execute(f"alter table {name} force row level security")
    op.execute(f"""create policy tenant_isolation on {name}
                   using (tenant_id = app_tenant_id())
                   with check (tenant_id = app_tenant_id())""")
    op.execute(f"grant {grants} on {name} to {app_role}")


def drop_tenant_table(name: str) -> None:
    op.execute(f"drop table if exists {name} cascade")


def create_tenant_index(table: str, name: str, columns: str, *, unique: bool = False,
                        where: str | None = None) -> None:
    """An index of a tenant-owned table led by `tenant_id`: `columns="field_id, value_key"`
    gives `(tenant_id, field_id, value_key)`."""
    kind = "unique index" if unique else "index"
    predicate = f" where {where}" if where else ""
    op.execute(f"create {kind} {name} on {table} (tenant_id, {columns}){predicate}")
