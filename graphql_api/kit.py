"""GraphQL wiring derived from an entity's declaration (`modules.kit`).

A module's GraphQL layer declares its object type with `@node(ENTITY)`, its references with
`reference(...)`, and gets its list and lookup fields from `list_field` / `get_field` and its
create, update, delete and restore mutations from `crud_mutations`; to-many relations
(`modules.kit.links`) give a list field (`linked`) and attach / detach (`link_mutations`).
Everything the read path
needs (global ids, `node(id:)`, data loaders, compiled plans, rendering by the database, the
read lane) is wired here, so no module's resolvers, services or repository know about it.

No `from __future__ import annotations` here: resolvers are built at run time with real
annotations, which Strawberry reads to make the schema.
"""

import contextlib
import enum
import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

import strawberry
from strawberry.types import Info
from strawberry.types.base import get_object_definition

from graphql_api.custom_values import (
    CustomFieldSort,
    CustomFieldValueType,
    condition_dict,
)
from graphql_api.permissions import needs
from graphql_api.relay import Connection, Node, decode_id, to_global_id
from graphql_api.rendering import Related, global_id_sql, renders, requested
from infra.errors import ValidationFailed
from modules.kit import custom_values, links, registry
from modules.kit.entity import Entity, camel
from modules.kit.links import Link, LinkService
from modules.kit.repository import join_rule
from modules.kit.service import EntityService

# GraphQL node types by type name, with the loader that fetches them: for `node(id:)`.
NODE_LOADERS: dict[str, str] = {}


def _read_lane(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A kit read that only fetches (lists, counts, batches): it may run on the read lane."""

    async def call(session: Any, ctx: Any, *args: Any, **kwargs: Any) -> Any:
        return await fn(session, ctx, *args, **kwargs)

    call.reads_only = True  # type: ignore[attr-defined]
    return call


def node(entity: Entity, *, description: str | None = None) -> Callable[[type], Any]:
    """Class decorator: a Strawberry object type for `entity`'s rows, with its global `id`,
    registered for `node(id:)` and data loaders, and rendered by the database where every
    selected field has an SQL form (plain columns, `id`, and `reference` fields)."""

    def wrap(cls: type) -> Any:
        if not issubclass(cls, Node):
            raise TypeError(f"{cls.__name__} must implement Node: class {cls.__name__}(Node)")

        def id(self: Any) -> strawberry.ID:
            return strawberry.ID(to_global_id(entity.type_name, self.id))

        cls.id = strawberry.field(resolver=id, description="The global ID.")  # type: ignore[attr-defined]
        model = entity.model

        def is_type_of(_cls: Any, obj: Any, info: Info) -> bool:
            return isinstance(obj, model) or getattr(obj, "kit_entity", None) is entity

        cls.is_type_of = classmethod(is_type_of)  # type: ignore[attr-defined]
        out = strawberry.type(cls, name=entity.type_name, description=description)
        declared: dict[str, Any] = {"id": global_id_sql(entity.type_name)}
        for sf in out.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            resolver = sf.base_resolver
            related = getattr(resolver.wrapped_func, "kit_related", None) if resolver else None
            if related is not None:
                declared[sf.python_name] = related()
        renders(model, **declared)(out)
        out.__kit_loader__ = entity.name  # type: ignore[attr-defined]
        out.__kit_join__ = join_rule(entity)  # type: ignore[attr-defined]
        NODE_LOADERS[entity.type_name] = entity.name
        return out

    return wrap


def reference(target: Any, key: str, *, description: str | None = None,
              join: Callable[[str, str], str] | None = None) -> Any:
    """A to-one reference field: the `target` node whose id is in column `key`, or null (also
    when the caller may not see it). Loaded in batches; rendered by the database as a join on
    the target's own visibility rule (`join` overrides it where a narrower rule is provably
    the same, e.g. owners)."""
    loader = target.__kit_loader__

    async def resolve(self: Any, info: Info) -> Any:
        value = getattr(self, key)
        if value is None:
            return None
        return await getattr(info.context.loaders, loader).load(value)

    resolve.__annotations__ = {"self": Any, "info": Info, "return": target | None}
    resolve.loaded_by = (loader, key)  # type: ignore[attr-defined]
    resolve.kit_related = lambda: Related(  # type: ignore[attr-defined]
        target.__sql_rendering__[0], key, join or target.__kit_join__)
    return strawberry.field(resolver=resolve, description=description)


def sort_enum(entity: Entity, name: str, *, description: str | None = None) -> Any:
    """The API's enum of `entity`'s orderings, from its declaration."""
    python_enum = enum.Enum(name, {  # type: ignore[misc]
        s.name: strawberry.enum_value(s.name, description=s.description) for s in entity.sorts})
    return strawberry.enum(python_enum, name=name, description=description)


def input_values(entity: Entity, data: Any, prefix: str = "") -> dict[str, Any]:
    """The fields of a Strawberry input the caller sent, as services take them: UNSET fields
    left out, enums as their values, nested inputs as dicts of what was sent in them, and the
    global ids of declared references (`Field(reference=...)`) decoded and checked."""
    values: dict[str, Any] = {}
    for key, value in vars(data).items():
        if value is strawberry.UNSET:
            continue
        api_name = prefix + camel(key)
        if value is None:
            pass
        elif key == "custom_fields" and isinstance(value, list):
            value = [{"key": v.key, "value": v.value} for v in value]
        elif isinstance(value, enum.Enum):
            value = value.value
        elif get_object_definition(value) is not None:
            value = {camel(k): v for k, v in input_values(entity, value, f"{api_name}.").items()}
        elif isinstance(value, list) and any(get_object_definition(v) is not None
                                             for v in value):
            value = [{camel(k): x for k, x in input_values(entity, v, f"{api_name}.{i}.").items()}
                     for i, v in enumerate(value)]  # a list of inputs: phones, emails
        elif (spec := entity.fields.get(key)) is not None and spec.reference:
            value = decode_id(value, spec.reference, api_name)
        elif key == entity.owner:
            value = decode_id(value, "User", api_name)
        values[key] = value
    return values


_DELETED_FLAGS = ("include_deleted", "deleted_only")

# Conditions of a filter input that stand for others, read at request time: `segment`, a
# saved filter (`graphql_api.segments`). `expand(info, entity, value, filters)` returns the
# filters with the condition replaced by what it stands for.
FilterExpansion = Callable[[Info, Entity, Any, dict[str, Any]], Awaitable[dict[str, Any]]]
FILTER_EXPANSIONS: dict[str, FilterExpansion] = {}


async def expanded_filters(info: Info, entity: Entity, data: Any) -> dict[str, Any]:
    """`filter_values`, with the conditions that stand for others expanded: what every list,
    count, bulk operation and export by a filter acts on."""
    filters = filter_values(entity, data)
    for key, expand in FILTER_EXPANSIONS.items():
        if key in filters:
            filters = await expand(info, entity, filters.pop(key), filters)
    return filters


def filter_values(entity: Entity, data: Any) -> dict[str, Any]:
    """A filter input as the kit's lists take it: the conditions given (None and empty lists
    left out; `false` is a value like any other, except for the deleted-records flags, whose
    default it is), references' global ids decoded (and those of conditions that take ids:
    `Filter.id_type`, one id or a list). A condition this entity's list does not have (an
    input shared by several lists) is refused, never silently ignored."""
    if data is None:
        return {}
    values: dict[str, Any] = {}
    for key, value in vars(data).items():
        if value is None or value == [] or (key in _DELETED_FLAGS and value is False):
            continue
        if key == "custom_fields" and entity.custom_fields:
            values[key] = [condition_dict(c) for c in value]
            continue
        if key in FILTER_EXPANSIONS:
            values[key] = value
            continue
        if key not in entity.filters and key not in _DELETED_FLAGS:
            raise ValidationFailed.single(f"filter.{camel(key)}",
                                          f"does not apply to {entity.noun} lists",
                                          "not_applicable")
        condition = entity.filters.get(key)
        id_type = condition.id_type() if condition is not None else None
        if id_type is not None:
            where = f"filter.{camel(key)}"
            values[key] = ([decode_id(v, id_type, where) for v in value]
                           if isinstance(value, list) else decode_id(value, id_type, where))
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        spec = entity.fields.get(key)
        if isinstance(value, str) and ((spec is not None and spec.reference)
                                       or key == entity.owner):
            value = decode_id(value, spec.reference if spec and spec.reference else "User",
                              f"filter.{camel(key)}")
        values[key] = value
    return values


def list_field(service: EntityService[Any], node_type: Any, *, filter: Any, sort: Any,
               description: str | None = None) -> Any:
    """`<entities>(first, after, filter, sort): <Type>Connection`, keyset-paginated, with
    `totalCount`; rendered by the database and run on the read lane by compiled plans."""
    entity = service.entity
    list_page, count = _read_lane(service.list_page), _read_lane(service.count)
    default_sort = sort[entity.sorts[0].name]

    async def run(info: Info, first: Any, after: Any, filter: Any, sort: Any, sort_by: Any
                  ) -> Any:
        context = info.context
        size = context.page_size(first)
        filters = await expanded_filters(info, entity, filter)
        by_field = ({"custom_field": sort_by.custom_field, "descending": sort_by.descending}
                    if sort_by is not None else None)
        # A list sorted by a custom field reads rows (its two-part query renders nothing).
        rendered = requested(entity.model) if by_field is None else None
        extra = {"sort_by": by_field} if by_field is not None else {}
        # The joins' parameters (every entity's rule) are the kit's: `repository.page`.
        page = await context.read(list_page, filters=filters, sort=sort.value, first=size,
                                  after=after, rendered=rendered, **extra)
        return Connection(page=page, counter=lambda: context.read(count, filters=filters))

    annotations = {"self": Any, "info": Info, "first": int | None, "after": str | None,
                   "filter": filter | None, "sort": sort}
    if entity.custom_fields:
        async def resolve(self: Any, info: Info, first: Any = None, after: Any = None,
                          filter: Any = None, sort: Any = default_sort, sort_by: Any = None
                          ) -> Any:
            return await run(info, first, after, filter, sort, sort_by)

        annotations["sort_by"] = Annotated[CustomFieldSort | None, strawberry.argument(
            description="Sorts by one of the tenant's custom fields instead of `sort`.")]
    else:
        async def resolve(self: Any, info: Info, first: Any = None,  # type: ignore[misc]
                          after: Any = None, filter: Any = None, sort: Any = default_sort
                          ) -> Any:
            return await run(info, first, after, filter, sort, None)

    resolve.__annotations__ = {**annotations, "return": Connection[node_type]}
    return strawberry.field(resolver=resolve, extensions=needs(entity.read),
                            description=description)


def get_field(service: EntityService[Any], node_type: Any, *,
              description: str | None = None) -> Any:
    """`<entity>(id: ID!): <Type>!`: NOT_FOUND when absent or not visible to the caller."""
    entity = service.entity

    async def resolve(self: Any, info: Info, id: strawberry.ID) -> Any:
        return await info.context.read(service.get, decode_id(id, entity.type_name))

    resolve.__annotations__ = {"self": Any, "info": Info, "id": strawberry.ID,
                               "return": node_type}
    return strawberry.field(resolver=resolve, extensions=needs(entity.read),
                            description=description)


def crud_mutations(service: EntityService[Any], node_type: Any, input_type: Any) -> Any:
    """`create<Type>`, `update<Type>` (fields sent only; null clears), and for deletable
    entities `delete<Type>` (soft; idempotent) and `restore<Type>`: each in its own savepoint,
    permission-checked, audited and evented by the service."""
    entity, name = service.entity, service.entity.type_name
    fields: dict[str, Any] = {}

    async def create(self: Any, info: Info, input: Any) -> Any:
        return await info.context.write(service.create, input_values(entity, input))

    async def update(self: Any, info: Info, id: strawberry.ID, input: Any) -> Any:
        return await info.context.write(service.update, decode_id(id, name),
                                        input_values(entity, input))

    create.__annotations__ = {"self": Any, "info": Info, "input": input_type,
                              "return": node_type}
    update.__annotations__ = {"self": Any, "info": Info, "id": strawberry.ID,
                              "input": input_type, "return": node_type}
    fields[f"create_{entity.name}"] = strawberry.mutation(
        resolver=create, extensions=needs(entity.write))
    fields[f"update_{entity.name}"] = strawberry.mutation(
        resolver=update, extensions=needs(entity.write),
        description="Changes only the fields sent; null clears.")
    if entity.delete is not None:
        for verb, method, text in (
                ("delete", service.delete,
                 f"Soft delete (idempotent); `restore{name}` undoes it."),
                ("restore", service.restore, "Undoes a soft delete (idempotent).")):
            fields[f"{verb}_{entity.name}"] = strawberry.mutation(
                resolver=_by_id(method, name, node_type), extensions=needs(entity.delete),
                description=text)
    return strawberry.type(type(f"{name}Mutations", (), fields))


def _by_id(method: Callable[..., Awaitable[Any]], type_name: str, node_type: Any) -> Any:
    async def resolve(self: Any, info: Info, id: strawberry.ID) -> Any:
        return await info.context.write(method, decode_id(id, type_name))

    resolve.__annotations__ = {"self": Any, "info": Info, "id": strawberry.ID,
                               "return": node_type}
    return resolve


def custom_fields(entity: Entity) -> Any:
    """`customFields: [CustomFieldValue!]!` for an entity declared with `custom_fields=True`:
    the record's values of the tenant's live fields, in the fields' order (fields without a
    value left out). Loaded by a per-request data loader: two queries per batch of records."""
    if not entity.custom_fields:
        raise ValueError(f"{entity.name} is not declared with custom_fields=True")
    loader = f"{entity.name}__custom_fields"
    registry.register_loader(loader, _read_lane(
        lambda session, ctx, ids: custom_values.read(session, ctx, entity.name, ids)))

    async def resolve(self: Any, info: Info) -> Any:
        values = await getattr(info.context.loaders, loader).load(self.id)
        return [CustomFieldValueType.of(v) for v in values]

    resolve.__annotations__ = {"self": Any, "info": Info,
                               "return": list[CustomFieldValueType]}
    return strawberry.field(resolver=resolve, description=(
        "Its values of the tenant's custom fields, in the fields' order; fields it holds no "
        "value of are left out."))


def linked(link: Link, target: Any, *, description: str | None = None) -> Any:
    """A to-many field: the owner's live `target` nodes through `link` that the caller may
    see, in the link's order (at most `link.limit`, so a plain list). Loaded by the link's
    per-request data loader: one query per batch of owners, never one per row."""
    loader = link.name

    async def resolve(self: Any, info: Info) -> Any:
        return await getattr(info.context.loaders, loader).load(self.id)

    resolve.__annotations__ = {"self": Any, "info": Info, "return": list[target]}
    return strawberry.field(resolver=resolve, description=description)


def link_mutations(service: LinkService, owner_type: Any, *, attach: str, detach: str) -> Any:
    """`<attach>(id: ID!, <link.field>: [ID!]!): <Owner>!` and the same for `<detach>`: link or
    unlink targets (idempotent), each in its own savepoint, checked, audited and evented by the
    service. The answer is the owner, whose list then reads what the write left."""
    link = service.link
    owner_name, target_name = link.owner_entity.type_name, link.target.type_name
    ids_type = Annotated[list[strawberry.ID], strawberry.argument(name=link.field)]

    def mutation(method: Callable[..., Awaitable[Any]], name: str, text: str) -> Any:
        async def resolve(self: Any, info: Info, id: strawberry.ID, ids: Any) -> Any:
            owner_id = decode_id(id, owner_name)
            target_ids = [decode_id(v, target_name, link.field) for v in ids]
            row = await info.context.write(method, owner_id, target_ids)
            with contextlib.suppress(KeyError):  # loaded before in this request: stale
                getattr(info.context.loaders, link.name).clear(owner_id)
            return row

        resolve.__annotations__ = {"self": Any, "info": Info, "id": strawberry.ID,
                                   "ids": ids_type, "return": owner_type}
        return strawberry.mutation(resolver=resolve, name=name, description=text,
                                   extensions=needs(link.owner_entity.write, link.target.read))

    target, owner = link.target.noun, link.owner_entity.noun
    fields = {
        attach: mutation(service.attach, attach,
                         f"Puts these {target}s on the {owner} (idempotent); a {owner} "
                         f"carries at most {link.limit}."),
        detach: mutation(service.detach, detach,
                         f"Takes these {target}s off the {owner} (idempotent: those it does "
                         "not carry are ignored)."),
    }
    return strawberry.type(type(f"{owner_name}{link.name.title().replace('_', '')}Mutations",
                                (), fields))


@functools.cache
def entity_loader(name: str) -> Callable[..., Awaitable[list[Any]]] | None:
    """The batch function of a registered entity's data loader, or of a link's (the owners'
    lists of targets)."""
    entity = registry.by_name(name)
    if entity is None and (extra := registry.loader_by_name(name)) is not None:
        return extra
    if entity is None:
        link = registry.link_by_name(name)
        if link is None:
            return None

        async def lists(session: Any, ctx: Any, ids: Sequence[uuid.UUID]) -> list[Any]:
            return await links.linked(session, ctx, link, ids)

        return _read_lane(lists)
    service = registry.service_of(entity)
    return _read_lane(service.load_many)


def load_fn(context: Any, name: str) -> Callable[[Sequence[uuid.UUID]], Awaitable[list[Any]]]:
    batch = entity_loader(name)
    if batch is None:
        raise AttributeError(name)

    async def load(ids: Sequence[uuid.UUID]) -> list[Any]:
        return await context.read(batch, ids)  # type: ignore[no-any-return]

    return load
