"""Bulk operations on contacts and companies, and the transfer of a member's customers."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from graphql_api.customers.types import CustomerFilter
from graphql_api.kit import expanded_filters
from graphql_api.permissions import needs
from graphql_api.relay import decode_id, to_global_id
from modules.customers import bulk
from modules.customers.entities import COMPANY, CONTACT
from tenancy.permissions import Permission


@strawberry.enum(description="What a bulk operation does to each record.")
class BulkAction(Enum):
    TAG = "tag"
    UNTAG = "untag"
    ASSIGN = "assign"
    DELETE = "delete"
    RESTORE = "restore"


@strawberry.type(description="A record a bulk operation could not change, and why.")
class BulkFailure:
    id: strawberry.ID
    code: str = strawberry.field(description="NOT_FOUND, FORBIDDEN, CONFLICT or VALIDATION: "
                                 "what the single write would have answered.")
    message: str


@strawberry.type(description="What a bulk operation did.")
class BulkResult:
    matched: int = strawberry.field(description="Records named, or found by the filter.")
    changed: int = strawberry.field(description="Records changed: one audit row and one "
                                    "event each.")
    unchanged: int = strawberry.field(description="Records already so (nothing written).")
    failed: list[BulkFailure]


@strawberry.type(description="How many records of one kind moved.")
class TransferCount:
    type: str = strawberry.field(description="The records' GraphQL type (`Contact`).")
    count: int


@strawberry.type(description="What a transfer moved.")
class TransferResult:
    moved: list[TransferCount]
    remaining: int = strawberry.field(description="Records the member still owns (a book "
                                      "larger than 2,000 of a kind moves in parts): call "
                                      "again to move them.")


def _bulk(kind: str, type_name: str) -> object:
    entity = CONTACT if kind == "contact" else COMPANY

    async def resolve(self: object, info: Info, action: BulkAction,
                      ids: list[strawberry.ID] | None = None,
                      filter: CustomerFilter | None = None,
                      tag_ids: list[strawberry.ID] | None = None,
                      owner_id: strawberry.ID | None = None) -> BulkResult:
        record_ids = ([decode_id(i, type_name, "ids") for i in ids]
                      if ids is not None else None)
        filters = await expanded_filters(info, entity, filter) if filter is not None else None
        result = await info.context.write(
            bulk.bulk_update, kind=kind, action=action.value, ids=record_ids, filters=filters,
            tag_ids=[decode_id(t, "Tag", "tagIds") for t in tag_ids or []],
            owner_id=decode_id(owner_id, "User", "ownerId") if owner_id else None)
        return BulkResult(
            matched=result.matched, changed=result.changed, unchanged=result.unchanged,
            failed=[BulkFailure(id=strawberry.ID(to_global_id(type_name, f.id)), code=f.code,
                                message=f.message) for f in result.failed])

    return strawberry.mutation(resolver=resolve, extensions=needs(Permission.CUSTOMERS_WRITE),
                               description=(
        f"Tag, untag, assign an owner to (ownerId; null: none), delete or restore {kind}s, "
        "named by `ids` or found by `filter` (the list's own filter and visibility), at most "
        f"{bulk.BULK_LIMIT} per call. Each {kind} is written as a single write would be (one "
        "audit row and event each) or fails alone, with its code."))


@strawberry.type
class BulkMutations:
    bulk_update_contacts: BulkResult = _bulk("contact", "Contact")  # type: ignore[assignment]
    bulk_update_companies: BulkResult = _bulk("company", "Company")  # type: ignore[assignment]

    @strawberry.mutation(extensions=needs(Permission.CUSTOMERS_READ_ALL), description=(
        "Everything a member owns (contacts and companies, deleted ones too; later deals and "
        "orders) becomes another active member's: for a leaving employee. One audit row and "
        "event per record. For managers."))
    async def transfer_customers(self, info: Info, from_user_id: strawberry.ID,
                                 to_user_id: strawberry.ID) -> TransferResult:
        result = await info.context.write(
            bulk.transfer_customers, from_user_id=decode_id(from_user_id, "User", "fromUserId"),
            to_user_id=decode_id(to_user_id, "User", "toUserId"))
        from modules.kit import registry

        return TransferResult(
            moved=[TransferCount(type=registry.by_name(name).type_name,  # type: ignore[union-attr]
                                 count=n) for name, n in result.moved.items()],
            remaining=result.remaining)
