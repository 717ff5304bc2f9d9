"""Customer search: one ranked list of the contacts and companies a term finds by name, email,
phone number, or (contacts) their company's name.

Ranked in tiers: exact matches, then prefixes (of the name, of a word of it, of the email, of
the national phone number), then substrings, then contacts of a company whose name matched,
then similar spellings (typos, trigram word similarity; the most alike names first). Within
the other tiers, shorter names first (`张` finds `张伟` before `张伟明`), then by name.

Every path is index-backed (migration 0008): terms with a run of three ASCII letters or digits
use the trigram index on `search_text`; all others (Chinese, one or two characters, other
scripts, punctuation) the bigram index on `search_grams`, with the `LIKE` as the recheck. The
record rule is the kit's (`modules.kit.repository.record_rule`): a sales user finds only their
own customers, nobody finds deleted ones.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import orjson
import phonenumbers
from psycopg.rows import namedtuple_row, scalar_row
from sqlalchemy import ARRAY, Uuid, bindparam, literal_column
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.ext.asyncio import AsyncSession

from infra.db import fetch
from infra.errors import BadRequest, FieldError, ValidationFailed
from infra.pagination import Page, build_page
from infra.validation import clean_text
from modules.customers.entities import COMPANY, CONTACT
from modules.customers.schemas import SEARCH_MAX_TERM, phone_search_term, search_route
from modules.kit import repository as kit_repository
from modules.kit.entity import Entity
from modules.kit.repository import LIVE, record_rule
from tenancy.context import CallContext

MAX_TERM = SEARCH_MAX_TERM  # characters; no name is searched for by a paragraph
SIMILARITY = 0.3  # word similarity a typo'd term needs: the finder functions' (migration 0008)
COMPANY_FANOUT = 50  # contacts are found through the best this many matching companies
_DIALECT = postgresql_psycopg.dialect()

Route = Literal["trgm", "grams"]
Kind = Literal["Contact", "Company"]


@dataclass(frozen=True)
class SearchTerm:
    """A query as the search runs it. `route`: which index finds its substrings; `phone`: what
    to look for in stored (E.164) phone numbers when the term looks like one, if that differs
    from the term itself; `similar`: whether typo'd spellings are looked for too."""

    text: str
    route: Route
    phone: str | None
    phone_route: Route | None
    phone_prefix: str | None  # the number as it starts when stored: +86 then the term's digits
    similar: bool


def _route(text: str) -> Route:
    return "trgm" if search_route(text) == "trgm" else "grams"


def parse_term(query: str, region: str, field: str = "query") -> SearchTerm:
    """The term to search for, or VALIDATION: empty, too long, or holding control or
    text-direction characters (NUL is refused before any resolver runs)."""
    try:
        text = clean_text(query)
    except ValueError as exc:
        raise ValidationFailed([FieldError(field, str(exc))]) from None
    if "\n" in text or "\t" in text:
        text = " ".join(text.split())
    if not text:
        raise ValidationFailed([FieldError(field, "must not be empty", "required")])
    if len(text) > MAX_TERM:
        raise ValidationFailed([FieldError(field, f"must be at most {MAX_TERM} characters",
                                           "too_long")])
    phone: str | None = phone_search_term(text, region)
    phone_prefix = None
    if not phone or (phone == text and not text.isdigit()):
        phone = None  # not a phone number, nor a part of one
    elif phone.isdigit():
        code = phonenumbers.country_code_for_region(region)
        phone_prefix = f"+{code}{phone}" if code else None
    return SearchTerm(text=text, route=_route(text), phone=phone,
                      phone_route=_route(phone) if phone else None, phone_prefix=phone_prefix,
                      similar=phone is None and _route(text) == "trgm")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def term_params(term: SearchTerm) -> dict[str, Any]:
    """The statement's parameters for a term (lower-cased by PostgreSQL, as the stored text)."""
    q = _escape(term.text)
    params: dict[str, Any] = {
        "q": term.text, "q_any": f"%{q}%", "q_start": f"{q}%", "q_word": f"% {q}%",
        "similarity": str(SIMILARITY)}
    if term.phone is not None:
        p = _escape(term.phone)
        params.update(p=term.phone, p_any=f"%{p}%",
                      p_start=f"{_escape(term.phone_prefix or term.phone)}%")
    return params


# -- the statement ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchShape:
    route: Route
    phone_route: Route | None
    similar: bool
    contacts_read_all: bool
    companies_read_all: bool
    seek: bool


def _rule(entity: Entity, alias: str, read_all: bool) -> str:
    # The caller's data scope and shares: parameters `scope_owners` and `<entity>_shared`
    # (`kit_repository.scope_params`), as every list of the kit has them.
    rule = record_rule(entity, lambda name: literal_column(f'{alias}."{name}"'),
                       tenant_id=bindparam("tenant_id"), read_all=read_all,
                       owners=bindparam("scope_owners", type_=ARRAY(Uuid)),
                       shared=bindparam(f"{entity.name}_shared", type_=ARRAY(Uuid)),
                       deleted=LIVE)
    return str(rule.compile(dialect=_DIALECT))


def _finder_args(route: Route, term: str, pattern: str, similar: bool) -> str:
    """The arguments of `search_contact_ids` / `search_company_ids` (migration 0008) for one
    term: those of the index that cannot serve it are null, and find nothing."""
    lowered = f"lower(%({pattern})s)"
    grams = (f"customer_search_query_grams(lower(%({term})s)), {lowered}, null"
             if route == "grams" else f"null, null, {lowered}")
    return f"{grams}, {'lower(%(q)s)' if similar else 'null'}"


def _candidates(function: str, shape: SearchShape) -> str:
    """The ids of the tenant's rows the term (or its phone form) finds, as an array."""
    found = [f"select {function}({_finder_args(shape.route, 'q', 'q_any', shape.similar)})"]
    if shape.phone_route is not None:
        found.append(f"select {function}({_finder_args(shape.phone_route, 'p', 'p_any', False)})")
    return f"array({' union '.join(found)})"


def _ranked(alias: str, shape: SearchShape, company_hit: str | None) -> str:
    """tier, penalty and field of a row: the rank the results are ordered by, and why it
    matched."""
    name, email, phone = f"lower({alias}.name)", f"{alias}.email", f"{alias}.phone"
    q = "lower(%(q)s)"
    exact = [f"{name} = {q}", f"{email} = {q}"]
    start = [f"{name} like lower(%(q_start)s)", f"{name} like lower(%(q_word)s)",
             f"{email} like lower(%(q_start)s)"]
    any_ = [f"{alias}.search_text like lower(%(q_any)s)"]
    phone_any = "false"
    if shape.phone_route is not None:
        exact.append(f"{phone} = %(p)s")
        start.append(f"{phone} like %(p_start)s")
        any_.append(f"{phone} like %(p_any)s")
        any_.append(f"{alias}.search_text like %(p_any)s")  # a phone that is not the primary
        phone_any = f"{phone} like %(p_any)s"
    tiers = [("0", " or ".join(exact)), ("1", " or ".join(start)), ("2", " or ".join(any_))]
    if company_hit is not None:
        tiers.append(("3", company_hit))
    tier = "case " + " ".join(f"when {c} then {t}" for t, c in tiers) + " else 4 end"
    # Similar spellings: by how alike the whole name is (`Jessica Hlil` is `Jessica Hill`
    # before `Jessica Harris`, which shares as many of its trigrams but has more of its own).
    similar = f"similarity({q}, {name})" if shape.similar else "0"
    field = (f"case when {name} like lower(%(q_any)s) then 'NAME' "
             f"when {email} like lower(%(q_any)s) then 'EMAIL' "
             f"when {phone} like lower(%(q_any)s) or {phone_any} then 'PHONE' "
             # Another of its phones or emails (migration 0012 put them into search_text).
             + (f"when {alias}.search_text like lower(%(q_any)s) "
                + (f"or {alias}.search_text like %(p_any)s " if shape.phone_route is not None
                   else "")
                + "then case when %(q)s ~ '[[:alpha:]@]' then 'EMAIL' else 'PHONE' end ")
             + (f"when {company_hit} then 'COMPANY' " if company_hit else "")
             + (f"when word_similarity({q}, {name}) >= %(similarity)s::real then 'NAME' "
                "else 'EMAIL' end" if shape.similar else "else 'NAME' end"))
    penalty = (f"case when ({tier}) < 4 then char_length({alias}.name) "
               f"else 1000 - (1000 * {similar})::int end")
    return f"({tier}) as tier, ({penalty}) as penalty, ({field}) as field"


@lru_cache(maxsize=256)
def _hits_sql(shape: SearchShape) -> str:
    """The matching rows of both tables with their rank: a CTE the page and the count share.

    The candidates come from the finder functions (the indexes, which row-level security keeps
    from this role's own conditions); the rows are then read here, under row-level security,
    by primary key (and contacts by company), and the record rule applies to them."""
    company_rule = _rule(COMPANY, "co", shape.companies_read_all)
    contact_rule = _rule(CONTACT, "c", shape.contacts_read_all)
    company_name_hit = "lower(co.name) like lower(%(q_any)s)"
    company_ids = ("array(select id from companies_found where name_hit "
                   f"order by tier, penalty, lname, id limit {COMPANY_FANOUT})")
    return f"""
    with company_candidates as materialized (
        select {_candidates("search_company_ids", shape)} as ids
    ), contact_candidates as materialized (
        select {_candidates("search_contact_ids", shape)} as ids
    ), companies_found as (
        select co.id, lower(co.name) as lname, {company_name_hit} as name_hit,
               {_ranked("co", shape, None)}
        from companies co
        where {company_rule} and co.id = any((select ids from company_candidates)::uuid[])
    ), company_ids as materialized (select {company_ids} as ids),
    contacts_found as (
        select c.id, lower(c.name) as lname,
               {_ranked("c", shape, "c.company_id = any((select ids from company_ids)::uuid[])")}
        from contacts c
        where {contact_rule}
          and (c.id = any((select ids from contact_candidates)::uuid[])
               or c.company_id = any((select ids from company_ids)::uuid[]))
    ), hits as (
        select 'Company' as kind, id, tier, penalty, lname, field from companies_found
        union all
        select 'Contact' as kind, id, tier, penalty, lname, field from contacts_found
    )"""


@lru_cache(maxsize=256)
def page_sql(shape: SearchShape) -> str:
    seek = ("where (tier, penalty, lname, kind, id) > "
            "(%(k_tier)s::int, %(k_penalty)s::int, %(k_lname)s::text, %(k_kind)s::text, "
            "%(k_id)s::uuid)") if shape.seek else ""
    return (_hits_sql(shape) + f"""
    select kind, id, tier, penalty, lname, field from hits {seek}
    order by tier, penalty, lname, kind, id limit %(limit)s""")


@lru_cache(maxsize=256)
def count_sql(shape: SearchShape) -> str:
    return _hits_sql(shape) + "\n    select count(*) from hits"


# -- the service -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchHit:
    kind: Kind
    id: uuid.UUID
    tier: int
    penalty: int
    lname: str
    field: str  # NAME, EMAIL, PHONE, COMPANY

    @property
    def match(self) -> str:
        return ("EXACT", "PREFIX", "SUBSTRING", "COMPANY", "SIMILAR")[self.tier]

    def key(self) -> tuple[Any, ...]:
        return (self.tier, self.penalty, self.lname, self.kind, self.id)


def encode_cursor(hit: SearchHit) -> str:
    raw = orjson.dumps([hit.tier, hit.penalty, hit.lname, hit.kind, str(hit.id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tier, penalty, lname, kind, id_ = orjson.loads(raw)
        if not (isinstance(tier, int) and isinstance(penalty, int) and isinstance(lname, str)
                and kind in ("Contact", "Company") and "\x00" not in lname
                and abs(tier) < 2**31 and abs(penalty) < 2**31):
            raise ValueError
        return {"k_tier": tier, "k_penalty": penalty, "k_lname": lname, "k_kind": kind,
                "k_id": uuid.UUID(id_)}
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadRequest("the cursor is not valid for this search", field="after") from None


def _shape(ctx: CallContext, term: SearchTerm, *, seek: bool) -> SearchShape:
    return SearchShape(route=term.route, phone_route=term.phone_route, similar=term.similar,
                       contacts_read_all=CONTACT.reads_all(ctx),
                       companies_read_all=COMPANY.reads_all(ctx), seek=seek)


async def _prepare(session: AsyncSession, ctx: CallContext, term: SearchTerm
                   ) -> dict[str, Any]:
    ctx.require(CONTACT.read)
    ctx.require(COMPANY.read)
    await kit_repository.prepare(session, ctx, (CONTACT, COMPANY))
    return {**term_params(term), "tenant_id": ctx.tenant_id,
            "actor_user_id": ctx.actor.user_id, "scope_owners": [],
            **kit_repository.scope_params(CONTACT, ctx),
            **kit_repository.scope_params(COMPANY, ctx)}


async def search(session: AsyncSession, ctx: CallContext, term: SearchTerm, *, first: int,
                 after: str | None) -> Page[SearchHit]:
    """A page of hits, best first; `after` a previous page's end cursor."""
    params = await _prepare(session, ctx, term)
    if after:
        params.update(decode_cursor(after))
    params["limit"] = first + 1
    rows = await fetch(session, page_sql(_shape(ctx, term, seek=bool(after))), params,
                       namedtuple_row)
    hits = [SearchHit(r.kind, r.id, r.tier, r.penalty, r.lname, r.field) for r in rows]
    return build_page(hits, SearchHit.key, first, after)


async def count(session: AsyncSession, ctx: CallContext, term: SearchTerm) -> int:
    params = await _prepare(session, ctx, term)
    rows = await fetch(session, count_sql(_shape(ctx, term, seek=False)), params, scalar_row)
    return int(rows[0])
