"""Custom-field conditions that the application role's plans can use as index conditions.

Row-level security puts the policy's condition before any condition of the query that is not
leakproof, and PostgreSQL then uses such a condition only as a filter, never to search an index
(see 0008). Two kinds of values were compared through functions that are not leakproof:

- texts and option keys, through `lower(value_text)`: a WeChat id's condition read the field's
  every value (or the whole table) instead of the one it names;
- numbers and decimals, through `numeric`'s comparisons (`numeric_ge` & co. are not leakproof).

Each gets a column of its own, kept by PostgreSQL on every write, compared by leakproof
operators (`texteq`, `float8ge`, ...), in an index led by `(tenant_id, field_id)`:

- `value_key`: `lower(value_text)`. Conditions and the sort of text and select fields read it
  (an index condition), replacing the index on `lower(value_text)` (the unique one stays: it
  decides between concurrent writes, not lists).
- `value_float`: `value_number` as a double. Rounding to the nearest double keeps the order
  (`a <= b` gives `float8(a) <= float8(b)`), so `value_float >= float8(m)` holds for every value
  `>= m`: the index condition finds a superset, and the exact `value_number >= m` is checked on
  those rows only. Numbers sort by `(value_float, value_number)`, which is their order (ties of
  the double broken by the exact value): the index of numbers becomes
  `(tenant_id, field_id, value_float, value_number, record_id)`, which serves conditions (by
  the double, the exact value checked in the index) and sorts alike, so that a page sorted by
  a number with a range on it, or after a cursor, searches the index by the double.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from alembic import op

from infra.migrations.tenancy import create_tenant_index

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade(app_role: str = "crm_app") -> None:
    op.execute("""alter table custom_field_values
        add column value_key text generated always as (lower(value_text)) stored,
        add column value_float double precision
            generated always as (value_number::double precision) stored""")
    op.execute("drop index custom_field_values_text_idx")
    create_tenant_index("custom_field_values", "custom_field_values_key_idx",
                        "field_id, value_key, record_id")
    op.execute("drop index custom_field_values_number_idx")
    create_tenant_index("custom_field_values", "custom_field_values_number_idx",
                        "field_id, value_float, value_number, record_id")
    op.execute("analyze custom_field_values")


def downgrade(app_role: str = "crm_app") -> None:
    op.execute("drop index if exists custom_field_values_key_idx")
    op.execute("drop index if exists custom_field_values_number_idx")
    op.execute("alter table custom_field_values drop column if exists value_key, "
               "drop column if exists value_float")
    create_tenant_index("custom_field_values", "custom_field_values_text_idx",
                        "field_id, lower(value_text), record_id")
    create_tenant_index("custom_field_values", "custom_field_values_number_idx",
                        "field_id, value_number, record_id")
