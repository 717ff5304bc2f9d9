"""`customerDuplicates` (the check while a form is typed in), `duplicateGroups` (duplicates
among the records the caller may see) and `mergeContacts` / `mergeCompanies`. The rules are
`modules.customers.duplicates` and `modules.customers.merge`; records are loaded through the
request's data loaders (the record rule again)."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.customers.types import CompanyType, ContactType, Customer
from graphql_api.permissions import needs
from graphql_api.relay import PageInfo, decode_id
from graphql_api.segments.types import CustomerKind  # contact or company: one enum, shared
from infra.errors import FieldError, ValidationFailed
from modules.customers import duplicates, merge
from modules.kit.entity import camel
from tenancy.permissions import Permission

_TYPE_NAMES = {"contact": "Contact", "company": "Company"}


@strawberry.enum(description="What a possible duplicate matched on.")
class DuplicateAttribute(Enum):
    PHONE = strawberry.enum_value("PHONE", description="The mobile or phone number (E.164).")
    EMAIL = strawberry.enum_value("EMAIL", description="The email address, in any case.")
    NAME = strawberry.enum_value("NAME", description="A contact's name at the same company.")
    COMPANY_NAME = strawberry.enum_value("COMPANY_NAME", description=(
        "A company's name, ignoring width, case, spaces, punctuation and the legal form "
        "(有限公司, Co., Ltd., Inc., …)."))


@strawberry.enum(description="Whose a possible duplicate is.")
class DuplicateCategory(Enum):
    MINE = strawberry.enum_value("MINE", description="The caller's own.")
    POOL = strawberry.enum_value("POOL", description="Nobody's: in the shared pool.")
    OTHERS = strawberry.enum_value("OTHERS", description="Someone else's.")


@strawberry.enum(description="What a duplicate mobile number or email does on save.")
class DuplicatePolicy(Enum):
    WARN = strawberry.enum_value("warn", description="The forms warn; saving is allowed.")
    BLOCK = strawberry.enum_value("block", description=(
        "A phone number or email another live record of the kind holds is VALIDATION "
        "(code `taken`) on create and update."))


@strawberry.input(description="What the form holds so far; every field optional.")
class CustomerDuplicatesInput:
    kind: CustomerKind
    name: str | None = None
    company_name: str | None = strawberry.field(default=None, description=(
        "A contact's company as typed: matched against companies' names."))
    company_id: strawberry.ID | None = strawberry.field(default=None, description=(
        "A contact's company as chosen: a contact of the same name there matches."))
    phone: str | None = None
    email: str | None = None
    phones: list[str] | None = strawberry.field(default=None, description=(
        "Every number typed (at most 20), with `phone`."))
    emails: list[str] | None = strawberry.field(default=None, description=(
        "Every email typed (at most 20), with `email`."))
    exclude_id: strawberry.ID | None = strawberry.field(default=None, description=(
        "The record being edited (left out of the answer)."))


@strawberry.type(description=(
    "A record the one being typed in would duplicate. `record` is there only when the caller "
    "may see it; of any other, only whose it is and what matched, never which it is."))
class DuplicateMatch:
    matched_on: DuplicateAttribute
    category: DuplicateCategory
    kind: CustomerKind
    record: Customer | None = strawberry.field(description=(
        "The record, when the caller may see it; null otherwise."))


@strawberry.type(description="Records of one kind sharing an email, a phone or a name.")
class DuplicateGroup:
    group: strawberry.Private[duplicates.DuplicateGroup]
    matched_on: DuplicateAttribute
    size: int = strawberry.field(description="How many records share it (at most 20 listed).")
    records: list[Customer] = strawberry.field(description="Oldest first.")

    @strawberry.field(description="The shared email or phone number; null for names.")
    def value(self) -> str | None:
        return self.group.key if self.group.attribute in ("EMAIL", "PHONE") else None


@strawberry.type(description="A page of duplicate groups; `after` takes `endCursor`.")
class DuplicateGroupConnection:
    nodes: list[DuplicateGroup]
    page_info: PageInfo


@strawberry.input(description="Which record's value of a field the survivor keeps.")
class MergeFieldChoice:
    field: str = strawberry.field(description=(
        "The field, as the type names it: name, phones, emails, title, gender, birthday, "
        "address, notes, companyId, ownerId (contacts); name, domain, industry, phones, "
        "emails, address, notes, ownerId (companies). `phone` and `email` name the lists too: "
        "the survivor keeps that record's numbers (or emails), its primary with them."))
    record_id: strawberry.ID


@strawberry.input(description="Which record's value of a custom field the survivor keeps.")
class MergeCustomFieldChoice:
    key: str
    record_id: strawberry.ID


@strawberry.input(description=(
    "A merge: the sources' interactions, tags, shares (and later deals and orders) move to "
    "the survivor, which keeps its own values except where `keep` names another record's; "
    "the sources are deleted, marked merged into it."))
class MergeInput:
    survivor_id: strawberry.ID
    source_ids: list[strawberry.ID]
    keep: list[MergeFieldChoice] | None = None
    keep_custom_fields: list[MergeCustomFieldChoice] | None = None


async def _load(info: Info, kind: str, ids: list[Any]) -> list[Any]:
    loader = getattr(info.context.loaders, kind)
    return [r for r in await loader.load_many(ids) if r is not None]


_FIELDS = {kind: {camel(f): f for f in fields} for kind, fields in merge.FIELDS.items()}


def _merge(kind: str, node_type: Any) -> Any:
    type_name = _TYPE_NAMES[kind]

    async def resolve(self: Any, info: Info, input: MergeInput) -> Any:
        keep: dict[str, Any] = {}
        errors = []
        for i, choice in enumerate(input.keep or []):
            column = _FIELDS[kind].get(merge.ALIASES.get(choice.field, choice.field))
            if column is None:
                errors.append(FieldError(f"keep.{i}.field", "is not a field merges choose",
                                         "invalid"))
                continue
            keep[column] = decode_id(choice.record_id, type_name, f"keep.{i}.recordId")
        if errors:
            raise ValidationFailed(errors)
        return await info.context.write(
            merge.merge, kind=kind, survivor_id=decode_id(input.survivor_id, type_name,
                                                          "survivorId"),
            source_ids=[decode_id(s, type_name, f"sourceIds.{i}")
                        for i, s in enumerate(input.source_ids)],
            keep=keep,
            keep_custom={c.key: decode_id(c.record_id, type_name, f"keepCustomFields.{i}")
                         for i, c in enumerate(input.keep_custom_fields or [])})

    resolve.__annotations__ = {"self": Any, "info": Info, "input": MergeInput,
                               "return": node_type}
    plural = "companies" if kind == "company" else "contacts"
    return strawberry.mutation(resolver=resolve, extensions=needs(Permission.CUSTOMERS_WRITE),
                               description=(
        f"Merge duplicate {plural} into the survivor (at most {merge.MAX_MERGE} records, all "
        "visible to and writable by the caller, live, of this kind), in one transaction: an "
        f"audit row per source with all it held (`{kind}.merged_away`) and the survivor's "
        f"before and after (`{kind}.merged`)."))


@strawberry.type
class DuplicateQueries:
    @strawberry.field(extensions=needs(Permission.CUSTOMERS_WRITE), description=(
        "Possible duplicates of a contact or company being typed in, across the tenant: "
        "the caller's own, the pool's and others' (only those the caller may see come with "
        "the record). For those who create customers."))
    async def customer_duplicates(self, info: Info, input: CustomerDuplicatesInput
                                  ) -> list[DuplicateMatch]:
        kind = input.kind.value
        type_name = _TYPE_NAMES[kind]
        probe = duplicates.Probe(
            kind=kind, name=input.name, company_name=input.company_name,
            company_id=decode_id(input.company_id, "Company", "companyId")
            if input.company_id else None,
            phone=input.phone, email=input.email, phones=tuple(input.phones or ()),
            emails=tuple(input.emails or ()),
            exclude_id=decode_id(input.exclude_id, type_name, "excludeId")
            if input.exclude_id else None)
        found = await info.context.read(duplicates.check, probe)
        out = []
        for match in found:
            record = None
            if match.record_id is not None:
                record = await getattr(info.context.loaders, match.entity).load(match.record_id)
            out.append(DuplicateMatch(matched_on=DuplicateAttribute(match.attribute),
                                      category=DuplicateCategory(match.category),
                                      kind=CustomerKind(match.entity), record=record))
        return out

    @strawberry.field(extensions=needs(Permission.CUSTOMERS_READ), description=(
        "The tenant's duplicate policy: WARN (the default) or BLOCK."))
    async def duplicate_policy(self, info: Info) -> DuplicatePolicy:
        return DuplicatePolicy(await info.context.read(duplicates.policy))

    @strawberry.field(extensions=needs(Permission.CUSTOMERS_WRITE), description=(
        "Groups of live contacts or companies the caller may see that share a normalised "
        "email or phone number, or (contacts) have the same or a similar name at one company, "
        "(companies) the same name: what to merge."))
    async def duplicate_groups(self, info: Info, kind: CustomerKind, first: int | None = None,
                               after: str | None = None) -> DuplicateGroupConnection:
        context = info.context
        found, more = await context.read(duplicates.groups, kind=kind.value,
                                         first=context.page_size(first), after=after)
        rows = {r.id: r for r in await _load(info, kind.value,
                                             [i for g in found for i in g.record_ids])}
        nodes = [DuplicateGroup(group=g, matched_on=DuplicateAttribute(g.attribute),
                                size=g.size,
                                records=[rows[i] for i in g.record_ids if i in rows])
                 for g in found]
        return DuplicateGroupConnection(nodes=nodes, page_info=PageInfo(
            has_next_page=more, has_previous_page=after is not None,
            start_cursor=duplicates.encode_cursor(found[0]) if found else None,
            end_cursor=duplicates.encode_cursor(found[-1]) if found else None))


@strawberry.type
class MergeMutations:
    merge_contacts: ContactType = _merge("contact", ContactType)  # type: ignore[assignment]
    merge_companies: CompanyType = _merge("company", CompanyType)  # type: ignore[assignment]

    @strawberry.mutation(extensions=needs(Permission.TENANT_MANAGE), description=(
        "Whether a duplicate mobile number or email only warns (the default) or is refused."))
    async def set_duplicate_policy(self, info: Info, policy: DuplicatePolicy) -> DuplicatePolicy:
        return DuplicatePolicy(await info.context.write(duplicates.set_policy, policy.value))
