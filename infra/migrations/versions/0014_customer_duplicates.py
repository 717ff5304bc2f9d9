"""Duplicate check and merge of contacts and companies (查重 and 合并).

- `customer_company_key(name)`: a company's name as duplicates are matched: NFKC (full-width
  letters, digits and brackets become half-width), lower case, a trailing legal form dropped
  (有限公司, 有限责任公司, 股份有限公司, Co., Ltd., Inc., LLC, …), then spaces and punctuation
  removed. Null when nothing is left (a name that is only a legal form matches nothing).
- `customer_name_key(name)`: a contact's name as duplicates within one company are matched:
  NFKC, lower case, spaces removed.
- Generated columns hold both (`companies.name_key`, `contacts.name_key`), so PostgreSQL keeps
  them on every write whoever writes, and the probe computes its side with the same function:
  one definition of "the same name".
- Indexes led by `tenant_id` on what the check matches and the groups group by: emails and
  phones as stored (already normalised on write: lower-cased emails, E.164 phones), and the
  name keys (a contact's within its company). Row-level security keeps a non-leakproof
  condition (`lower(email) = …`) from using an index, which is why the keys are plain
  columns: `=` and `<`/`>` on text and uuid are leakproof, so the app role's own queries read
  these indexes (no SECURITY DEFINER finder needed, unlike the search's LIKE).
- `merged_into`: a source of a merge, soft-deleted, points at the survivor.
- `tenants.duplicate_policy`: `warn` (a duplicate is flagged, and may be saved) or `block` (a
  mobile or email another live record of the kind holds is a VALIDATION error).

Revision ID: 0014
Revises: 0016
Create Date: 2026-11-30
"""

from alembic import op

revision = "0014"
down_revision = "0016"
branch_labels = None
depends_on = None

# Legal forms, longest first where one ends another. Matched at the end of the name only,
# after NFKC and lower-casing; the Latin ones as whole words.
_CN_FORMS = ("集团股份有限公司", "股份有限公司", "有限责任公司", "集团有限公司", "有限公司",
             "总公司", "分公司", "公司")
_LATIN_FORMS = (r"co\.?\s*,?\s*ltd\.?", r"company\s+limited", r"co\.?,?\s*limited",
                r"incorporated", r"inc\.?", r"corporation", r"corp\.?", r"l\.?l\.?c\.?",
                r"limited", r"ltd\.?", r"gmbh", r"plc", r"s\.?a\.?", r"pte\.?", r"co\.?")
_FORMS = "|".join([*_CN_FORMS, *(rf"\m{f}" for f in _LATIN_FORMS)])
_PUNCT = r"[[:space:][:punct:]，。、·・（）【】「」《》“”‘’]"


def upgrade(app_role: str = "crm_app") -> None:
    x = op.execute
    x(f"""
    create function customer_company_key(name text) returns text
    language sql immutable strict parallel safe as $$
        select nullif(regexp_replace(
            regexp_replace(lower(normalize(name, NFKC)),
                           '({_PUNCT}*({_FORMS}){_PUNCT}*)+$', ''),
            '{_PUNCT}+', '', 'g'), '')
    $$""")
    x(f"""
    create function customer_name_key(name text) returns text
    language sql immutable strict parallel safe as $$
        select nullif(regexp_replace(lower(normalize(name, NFKC)), '{_PUNCT}+', '', 'g'), '')
    $$""")
    x("""alter table tenants add column duplicate_policy varchar(10) not null default 'warn'
         check (duplicate_policy in ('warn', 'block'))""")
    x(f"grant execute on function customer_company_key(text), customer_name_key(text) "
      f"to {app_role}")
    for table, function in (("companies", "customer_company_key"),
                            ("contacts", "customer_name_key")):
        x(f"""alter table {table}
              add column name_key text generated always as ({function}(name)) stored,
              add column merged_into uuid,
              add foreign key (tenant_id, merged_into) references {table} (tenant_id, id)""")
    # Each attribute's index serves both the check (an equality, led by tenant_id) and the
    # groups (the attribute's values in order, grouped as read): partial (only rows holding a
    # value) and covering what the groups read (the id, and the owner and deleted_at the record
    # rule tests), so a group page is an index-only scan with no sort. Contacts' phones keep
    # 0001's index too (the list's phone filter).
    for table, columns in (("contacts", ("email", "phone", "company_id, name_key")),
                           ("companies", ("email", "phone", "name_key"))):
        for column in columns:
            lead = column.split(",")[0]
            x(f"""create index {table}_{lead}_dup_idx on {table}
                  (tenant_id, {column}, id) include (owner_id, deleted_at)
                  where {lead} is not null""")


def downgrade(app_role: str = "crm_app") -> None:
    x = op.execute
    for table, leads in (("contacts", ("email", "phone", "company_id")),
                         ("companies", ("email", "phone", "name_key"))):
        for lead in leads:
            x(f"drop index if exists {table}_{lead}_dup_idx")
    for table in ("companies", "contacts"):
        x(f"alter table {table} drop column if exists name_key, "
          "drop column if exists merged_into")
    x("alter table tenants drop column if exists duplicate_policy")
    x("drop function if exists customer_company_key(text)")
    x("drop function if exists customer_name_key(text)")
