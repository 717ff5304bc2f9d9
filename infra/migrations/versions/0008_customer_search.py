"""Customer search: what contacts and companies are found by, and the indexes that find them.

Each table gets two generated columns, kept by PostgreSQL on every write:

- `search_text`: the name, email and phone lower-cased, joined by U+0001 (which no stored text
  holds, so no substring spans two fields), under a trigram GIN index (`pg_trgm`): substrings of
  three characters or more (`LIKE '%…%'`) and similar spellings (`<%`, word similarity);
- `search_grams`: every one- and two-character piece of each field, under a GIN index: the
  substrings trigrams cannot serve. A trigram needs three characters, so `张` or `科技` would
  leave the trigram index scanning everything; and `pg_trgm` only keeps the characters the
  database's ctype calls alphanumeric, which in the `C` locale (embedded PostgreSQL's default)
  leaves no Chinese character at all. Bigrams are locale-independent: a query with Chinese
  characters, or of one or two characters, needs all of its bigrams (or its one character)
  present, then the `LIKE` rechecks the order.

Both indexes lead with `tenant_id` (`btree_gin` lets a GIN index hold the uuid), as every index
of a tenant-owned table does. Both extensions are trusted: a database owner may create them.

Row-level security keeps these indexes from the application role's own queries: a policy's
condition is checked before any condition of the query that is not leakproof, and no operator
these indexes serve (`LIKE`, `@>`, `<%`) is, so PostgreSQL reads the whole table instead. The
lookup is therefore one narrow `SECURITY DEFINER` function per table, run as the owner (as the
sweeps of 0004 are): `search_contact_ids(...)` / `search_company_ids(...)` return the ids of the
*current tenant's* rows (`app_tenant_id()`, never an argument) whose search text holds a term
or resembles it. Ids only: the caller's own query then reads those rows under row-level
security, by primary key, and applies the record rule and the ranking.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("contacts", "companies")
FINDERS = {"contacts": "search_contact_ids", "companies": "search_company_ids"}
SIMILARITY = 0.3  # pg_trgm's default (0.6) misses a one-word typo such as "Smtih"
FEW = 20  # a term found fewer times than this is looked for among similar spellings too
SEPARATOR = "E'\\x01'"


def upgrade(app_role: str = "crm_app") -> None:
    op.execute("create extension if not exists pg_trgm")
    op.execute("create extension if not exists btree_gin")
    # The pieces one stored text is found by: each field's characters and character pairs.
    op.execute(f"""
    create function customer_search_grams(search_text text) returns text[]
    language sql immutable strict parallel safe as $$
        select coalesce(array_agg(distinct piece), '{{}}')
        from unnest(string_to_array(search_text, {SEPARATOR})) as field(part),
             generate_series(1, char_length(part)) as at(i),
             lateral (values (substr(part, i, 1)), (substr(part, i, 2))) as pieces(piece)
    $$""")
    # The pieces a search term needs: its character pairs (its one character if it has one).
    op.execute("""
    create function customer_search_query_grams(term text) returns text[]
    language sql immutable strict parallel safe as $$
        select case when char_length(term) = 1 then array[term]
                    else (select array_agg(distinct substr(term, i, 2))
                          from generate_series(1, char_length(term) - 1) as at(i)) end
    $$""")
    for table in TABLES:
        op.execute(f"""
        alter table {table}
            add column search_text text generated always as (lower(
                name || {SEPARATOR} || coalesce(email, '') || {SEPARATOR}
                || coalesce(phone, ''))) stored,
            add column search_grams text[] generated always as (customer_search_grams(lower(
                name || {SEPARATOR} || coalesce(email, '') || {SEPARATOR}
                || coalesce(phone, '')))) stored""")
        op.execute(f"""create index {table}_search_trgm_idx on {table}
                       using gin (tenant_id, search_text gin_trgm_ops)""")
        op.execute(f"""create index {table}_search_grams_idx on {table}
                       using gin (tenant_id, search_grams)""")
    for table, function in FINDERS.items():
        # Each argument pair left null skips its index: `grams` + `grams_like` for the bigram
        # index, `trgm_like` for the trigram one. Similar spellings (`similar_to`, word
        # similarity of at least SIMILARITY) are looked for only when the term itself was found
        # fewer than FEW times: they rank last, and checking them is the costly part.
        # A sequential scan is never the right plan here (one tenant's rows, through the
        # index that serves the term), but a cached generic plan of a LIKE can guess it is.
        op.execute(f"""
        create function {function}(grams text[], grams_like text, trgm_like text,
                                   similar_to text) returns setof uuid
        language plpgsql stable security definer
        set search_path = public, pg_temp
        set enable_seqscan = off
        set pg_trgm.word_similarity_threshold = {SIMILARITY} as $$
        declare
            tenant uuid := app_tenant_id();
            found_rows bigint := 0;
            n bigint;
        begin
            if tenant is null then
                return;
            end if;
            if grams is not null then
                return query select t.id from {table} t
                    where t.tenant_id = tenant and t.search_grams @> grams
                      and t.search_text like grams_like;
                get diagnostics n = row_count;
                found_rows := found_rows + n;
            end if;
            if trgm_like is not null then
                return query select t.id from {table} t
                    where t.tenant_id = tenant and t.search_text like trgm_like;
                get diagnostics n = row_count;
                found_rows := found_rows + n;
            end if;
            if similar_to is not null and found_rows < {FEW} then
                return query select t.id from {table} t
                    where t.tenant_id = tenant and similar_to <% t.search_text;
            end if;
        end
        $$""")
        op.execute(f"revoke all on function {function}(text[], text, text, text) from public")
        op.execute(f"grant execute on function {function}(text[], text, text, text) "
                   f"to {app_role}")
    op.execute(f"""grant execute on function customer_search_grams(text),
                   customer_search_query_grams(text) to {app_role}""")


def downgrade(app_role: str = "crm_app") -> None:
    for table in TABLES:
        op.execute(f"drop index if exists {table}_search_trgm_idx")
        op.execute(f"drop index if exists {table}_search_grams_idx")
        op.execute(f"alter table {table} drop column if exists search_text, "
                   "drop column if exists search_grams")
    for function in FINDERS.values():
        op.execute(f"drop function if exists {function}(text[], text, text, text)")
    op.execute("drop function if exists customer_search_grams(text)")
    op.execute("drop function if exists customer_search_query_grams(text)")
