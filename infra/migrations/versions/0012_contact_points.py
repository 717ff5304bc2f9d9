"""Several phones and emails per customer, and structured addresses.

- `contacts.phones` / `emails` and `companies.phones` / `emails`: jsonb lists of points
  (`modules.customers.points`), the primary of each still mirrored into `phone` / `email` by
  the same write. On the row, so under its row-level security and record rule as they are.
- Search finds a customer by any of its points: `search_text` and `search_grams` (migration
  0008) are made again with every point's value appended (`customer_points_text`, immutable),
  under the same two indexes and the same finder functions, which need no change.
- Addresses written with names only (`province`, `city`, `district`) get the division codes
  whose names match the data exactly (`modules.customers.addresses.codes_for_names`); the
  others are left as they are and still read. Run as the migrating role: with row-level
  security forced, a role that does not bypass it updates nothing here (no harm: old shapes
  are read as before).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("contacts", "companies")
SEPARATOR = "E'\\x01'"


def _search_columns(table: str, text: str) -> None:
    # Dropping the generated columns drops their indexes; both are made again over `text`.
    op.execute(f"alter table {table} drop column search_text, drop column search_grams")
    op.execute(f"""
    alter table {table}
        add column search_text text generated always as (lower({text})) stored,
        add column search_grams text[] generated always as (
            customer_search_grams(lower({text}))) stored""")
    op.execute(f"""create index {table}_search_trgm_idx on {table}
                   using gin (tenant_id, search_text gin_trgm_ops)""")
    op.execute(f"""create index {table}_search_grams_idx on {table}
                   using gin (tenant_id, search_grams)""")


def _fields(*extra: str) -> str:
    return f" || {SEPARATOR} || ".join(
        ("name", "coalesce(email, '')", "coalesce(phone, '')", *extra))


def upgrade(app_role: str = "crm_app") -> None:
    # Every point's value, separated as the fields of `search_text` are (so no substring spans
    # two of them): the primaries too, which costs a few pieces and keeps search right even if
    # a writer set only the mirrored column.
    op.execute(f"""
    create function customer_points_text(phones jsonb, emails jsonb) returns text
    language sql immutable parallel safe as $$
        select coalesce(string_agg(value, {SEPARATOR}), '')
        from (select p ->> 'number' as value
              from jsonb_array_elements(case jsonb_typeof(phones) when 'array' then phones
                                        else '[]' end) as p
              union all
              select e ->> 'email'
              from jsonb_array_elements(case jsonb_typeof(emails) when 'array' then emails
                                        else '[]' end) as e) as points
        where value is not null
    $$""")
    op.execute(f"grant execute on function customer_points_text(jsonb, jsonb) to {app_role}")
    for table in TABLES:
        op.execute(f"""
        alter table {table}
            add column phones jsonb check (jsonb_typeof(phones) = 'array'),
            add column emails jsonb check (jsonb_typeof(emails) = 'array')""")
        _search_columns(table, _fields("customer_points_text(phones, emails)"))
    _address_codes()


def _address_codes() -> None:
    from modules.customers.addresses import codes_for_names

    bind = op.get_bind()
    for table in TABLES:
        rows = bind.execute(sa.text(
            f"select tenant_id, id, address from {table} "
            "where address ? 'province' and not address ? 'provinceCode' "
            "and coalesce(address ->> 'country', 'CN') = 'CN'")).all()
        for tenant_id, id_, address in rows:
            codes = codes_for_names(address)
            if codes:
                bind.execute(sa.text(
                    f"update {table} set address = address || cast(:codes as jsonb) "
                    "where tenant_id = :t and id = :id"),
                    {"codes": json.dumps(codes), "t": tenant_id, "id": id_})


def downgrade(app_role: str = "crm_app") -> None:
    for table in TABLES:
        _search_columns(table, _fields())
        op.execute(f"alter table {table} drop column phones, drop column emails")
    op.execute("drop function customer_points_text(jsonb, jsonb)")
