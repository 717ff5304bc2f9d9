"""Compiled execution plans for read queries: the hot path of list-heavy integrations.

graphql-core resolves every field of every row through a general machinery (resolve info, path
tracking, awaitable checks, extension wrappers): about 10 µs a field, so a 50-row page of six fields
spends milliseconds in it. A document seen before is instead turned, once, into a plan: a tree of
the selected fields with their resolvers, argument nodes and serialisers looked up in advance.
Executing a plan calls the very same resolvers, permission checks and services as the normal path,
and serialises with the schema's own scalar and enum serialisers.

Plans are only a faster way to the same answer, never a different one:
- a document gets a plan only after it has run once through Strawberry with no validation error
  (so parsing, validation and the depth, alias and token limits have passed for that exact text);
- only queries made of object fields, lists, scalars and enums, with no fragments, directives,
  interfaces or unions, and fields whose only extension is a permission check, are compiled;
- anything unexpected while executing a plan (a permission refusal, a domain error, a null in a
  non-null field, bad variables) abandons the plan's result and the request is answered by the
  normal path, which produces the errors in the usual shape. Plans run queries only, which read.
"""

from __future__ import annotations

import asyncio
import enum
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    ValueNode,
    VariableNode,
    parse,
)
from graphql.execution.values import get_argument_values, get_variable_values
from orjson import Fragment
from strawberry.permission import PermissionExtension
from strawberry.schema.schema_converter import get_arguments
from strawberry.types import Info

from graphql_api import rendering
from graphql_api.relay import Connection
from graphql_api.unstorable import unstorable_literals
from infra.pagination import RenderSpec

_MISSING = object()


class Abandon(Exception):  # noqa: N818 - control flow, not an error
    """The plan cannot answer this request; the normal path will."""


@dataclass(eq=False)
class FieldPlan:
    key: str  # the response key: the alias or the field name
    node: FieldNode
    gql_field: Any  # GraphQLField
    parent_type: GraphQLObjectType
    strawberry_field: Any  # StrawberryField, or None for __typename
    attr: str | None  # plain attribute to read, for fields without a resolver
    has_args: bool
    permissions: list[Any]
    is_async: bool
    output: Callable[[Any, Execution], Any]  # completes the resolved value
    direct: Callable[[Any], Any] | None = None  # a plain `def f(self)` resolver, called as is
    prefetch: tuple[str, str] | None = None  # (loader, key attribute): see `loaded_by`
    sub_plan: ObjectPlan | None = None  # the loaded object's plan, for prefetched fields
    render: tuple[Any, RenderSpec] | None = None  # a list whose nodes the database renders
    connection_nodes: bool = False  # `Connection.nodes`: rendered pages pass through
    # Arguments written as literals, once converted: (as graphql-core gives them, as the
    # resolver takes them). See `_literal_arguments`.
    literal_args: tuple[dict[str, Any], dict[str, Any]] | None = None
    literal_args_checked: bool = False

    def compute(self) -> Callable[[Any, Execution], Any]:
        """Resolve and complete in one call, for fields that never await."""
        output, attr, direct = self.output, self.attr, self.direct
        if self.connection_nodes:

            def nodes(source: Any, run: Execution) -> Any:
                page = source.page
                if page.rendered:  # each node is JSON text already: spliced in as is
                    return [Fragment(item[0]) for item in page.items]
                return output(page.items, run)

            return nodes
        if self.prefetch is not None:
            key_attr, plan_id = self.prefetch[1], id(self)

            def from_prefetched(source: Any, run: Execution) -> Any:
                key = getattr(source, key_attr)
                return output(None if key is None else run.prefetched[plan_id].get(key), run)

            return from_prefetched
        if attr is not None:
            return lambda source, run: output(getattr(source, attr), run)
        if direct is not None:
            return lambda source, run: output(direct(source), run)
        return lambda source, run: output(_resolve(self, source, run), run)


@dataclass(eq=False)
class ObjectPlan:
    type_name: str
    fields: list[FieldPlan]
    is_async: bool  # any field in this subtree awaits
    computes: list[tuple[str, Callable[[Any, Execution], Any]]] = field(default_factory=list)
    complete: Callable[[Any, Execution], dict[str, Any]] = field(init=False)
    prefetch: list[FieldPlan] = field(default_factory=list)  # loaded for all sources at once


async def _prefetch(plan: ObjectPlan, sources: list[Any], run: Execution) -> None:
    """Load every prefetched field of these sources: one `load_many` per field, so a page of 50
    contacts costs one batch per loader and no coroutine per row."""
    for fp in plan.prefetch:
        loader_name, key_attr = fp.prefetch  # type: ignore[misc]
        keys = list({key for s in sources if (key := getattr(s, key_attr)) is not None})
        if keys:
            values = await getattr(run.context.loaders, loader_name).load_many(keys)
            run.prefetched.setdefault(id(fp), {}).update(zip(keys, values, strict=True))
            if fp.sub_plan is not None and fp.sub_plan.prefetch:  # the next level down
                await _prefetch(fp.sub_plan, [v for v in values if v is not None], run)


class NotCompilable(Exception):  # noqa: N818
    pass


@dataclass
class Execution:
    """One request's run of a plan."""

    context: Any
    variables: Any  # graphql-core's VariableValues
    operation: OperationDefinitionNode
    schema: Any
    infos: dict[int, Info] = field(default_factory=dict)
    prefetched: dict[int, dict[Any, Any]] = field(default_factory=dict)  # by FieldPlan id

    def info(self, fp: FieldPlan) -> Info:
        found = self.infos.get(id(fp))
        if found is None:
            # Resolvers get what they use (context, field, operation, variables); no path.
            fields: dict[str, Any] = {
                "field_name": fp.node.name.value, "field_nodes": [fp.node],
                "return_type": fp.gql_field.type, "parent_type": fp.parent_type, "path": None,
                "schema": self.schema._schema, "fragments": {}, "root_value": None,
                "operation": self.operation, "variable_values": self.variables,
                "context": self.context, "is_awaitable": None, "abort_signal": None,
                "async_helpers": None,
            }
            raw = GraphQLResolveInfo(**fields)
            found = self.infos[id(fp)] = Info(_raw_info=raw, _field=fp.strawberry_field)
        return found


class Plan:
    def __init__(self, schema: Any, operation: OperationDefinitionNode, root: ObjectPlan) -> None:
        self.schema = schema
        self.operation = operation
        self.root = root
        # Runs on the read lane (autocommit, `fetch` only) until it meets work that needs a
        # transaction; the endpoint then clears this.
        self.read_lane = True

    async def execute(self, context: Any, raw_variables: dict[str, Any] | None) -> Any:
        """The response's `data`; raises Abandon when the normal path must answer."""
        coerced = get_variable_values(self.schema._schema,
                                      self.operation.variable_definitions or [],
                                      raw_variables or {})
        if isinstance(coerced, list):  # variable errors
            raise Abandon
        run = Execution(context, coerced, self.operation, self.schema)
        return await _complete_object_async(self.root, None, run)


def _resolve(fp: FieldPlan, source: Any, run: Execution) -> Any:
    if fp.attr is not None:
        return getattr(source, fp.attr)
    if fp.strawberry_field is None:
        return fp.parent_type.name  # __typename
    info = run.info(fp)
    sf = fp.strawberry_field
    literal = fp.literal_args
    if literal is not None:
        kwargs = literal[0]
    else:
        kwargs = get_argument_values(fp.gql_field, fp.node, run.variables) if fp.has_args else {}
    for permission in fp.permissions:
        if not permission.has_permission(source, info, **kwargs):
            raise Abandon
    if literal is not None:
        args, kw = _reserved_arguments(sf, source, info, dict(literal[1]))
    else:
        args, kw = get_arguments(field=sf, source=source, info=info, kwargs=kwargs,
                                 config=run.schema.config,
                                 scalar_registry=run.schema.schema_converter.scalar_registry)
        if not fp.literal_args_checked:
            fp.literal_args = _literal_arguments(fp, kwargs, kw)
            fp.literal_args_checked = True
    return sf.get_result(source, info=info, args=args, kwargs=kw)


# Argument values a cached conversion may hold: nothing a resolver could change in place.
_IMMUTABLE = (str, int, float, bool, type(None), enum.Enum)


def _literal_arguments(fp: FieldPlan, raw: dict[str, Any], converted: dict[str, Any]
                       ) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The field's arguments, raw and converted, when the same for every run of the plan: all
    written as literals (no variable) and all immutable values (`first: 50`, `sort: NAME_ASC`).
    Converting them is then done once instead of per request; input objects and lists are
    converted afresh each time, so no resolver can see another request's objects."""
    if any(_uses_variable(a.value) for a in fp.node.arguments or ()):
        return None
    names = {p.python_name for p in fp.strawberry_field.arguments}
    arguments = {k: v for k, v in converted.items() if k in names}  # not info, root, …
    if not all(isinstance(v, _IMMUTABLE) for v in [*arguments.values(), *raw.values()]):
        return None
    return dict(raw), arguments


def _uses_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_uses_variable(v) for v in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_uses_variable(f.value) for f in value.fields)
    return False


def _reserved_arguments(sf: Any, source: Any, info: Info, kwargs: dict[str, Any]
                        ) -> tuple[list[Any], dict[str, Any]]:
    """What strawberry's `get_arguments` adds to converted arguments: the source and info,
    for resolvers that ask for them."""
    args: list[Any] = []
    resolver = sf.base_resolver
    if resolver is not None:
        if resolver.self_parameter:
            args.append(source)
        if (parent := resolver.parent_parameter) is not None:
            kwargs[parent.name] = source
        if (root := resolver.root_parameter) is not None:
            kwargs[root.name] = source
        if (info_parameter := resolver.info_parameter) is not None:
            kwargs[info_parameter.name] = info
    return args, kwargs


def _complete_object(plan: ObjectPlan, source: Any, run: Execution) -> dict[str, Any]:
    return plan.complete(source, run)


def _generate_completer(plan: ObjectPlan) -> Callable[[Any, Execution], dict[str, Any]]:
    """One function per object plan that builds the response dict in a single expression.

    Plain attributes of String, ID and Boolean type are inlined (their serialisers return such
    values unchanged); every other field calls its compute closure. Only GraphQL names (aliases,
    validated by the parser) and Python attribute names of our own types reach the source.
    """
    namespace: dict[str, Any] = {"Abandon": Abandon}
    entries = []
    for i, fp in enumerate(plan.fields):
        if not fp.key.isidentifier() or (fp.attr is not None and not fp.attr.isidentifier()):
            return lambda source, run: {k: c(source, run) for k, c in plan.computes}
        leaf = _inlinable(fp)
        if leaf is None:
            namespace[f"c{i}"] = plan.computes[i][1]
            entries.append(f"{fp.key!r}: c{i}(s, run)")
            continue
        python_type, non_null = leaf
        namespace[f"t{i}"] = python_type
        namespace[f"o{i}"] = fp.output  # the general path, for a value of another type
        # The condition runs first and binds _v; o{i} raises Abandon for a null in a non-null.
        read = f"(_v := s.{fp.attr})"
        ok = (f"{read}.__class__ is t{i}" if non_null
              else f"{read} is None or _v.__class__ is t{i}")
        entries.append(f"{fp.key!r}: _v if ({ok}) else o{i}(_v, run)")
    source = "def complete(s, run):\n    return {" + ", ".join(entries) + "}\n"
    exec(compile(source, f"<plan {plan.type_name}>", "exec"), namespace)  # noqa: S102
    return namespace["complete"]  # type: ignore[no-any-return]


def _inlinable(fp: FieldPlan) -> tuple[type, bool] | None:
    if fp.attr is None:
        return None
    gql_type, non_null = fp.gql_field.type, False
    if isinstance(gql_type, GraphQLNonNull):
        gql_type, non_null = gql_type.of_type, True
    if not isinstance(gql_type, GraphQLScalarType) or gql_type.name not in _PASSTHROUGH:
        return None
    return _PASSTHROUGH[gql_type.name], non_null


async def _complete_object_async(plan: ObjectPlan, source: Any, run: Execution
                                 ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fp, (_key, compute) in zip(plan.fields, plan.computes, strict=True):
        if not fp.is_async:
            out[fp.key] = compute(source, run)
            continue
        if fp.connection_nodes and source.page.rendered:  # its objects rendered too
            out[fp.key] = [Fragment(item[0]) for item in source.page.items]
            continue
        token = rendering.REQUESTED.set(fp.render) if fp.render is not None else None
        try:
            value = _resolve(fp, source, run)
            if isinstance(value, Awaitable):
                value = await value
        finally:
            if token is not None:
                rendering.REQUESTED.reset(token)
        value = fp.output(value, run)
        if isinstance(value, Awaitable):
            value = await value
        out[fp.key] = value
    return out


# Built-in scalars whose serialiser returns a value of this Python type unchanged.
_PASSTHROUGH = {"String": str, "ID": str, "Boolean": bool}


def _leaf(gql_type: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """The schema's own serialiser, skipped only where it would return its input as is."""
    serialize = gql_type.serialize
    python_type = _PASSTHROUGH.get(gql_type.name) if isinstance(gql_type,
                                                                GraphQLScalarType) else None
    if python_type is None:
        return serialize
    return lambda value: value if type(value) is python_type else serialize(value)


def _output_for(gql_type: GraphQLOutputType, node: FieldNode, compiler: Compiler, *,
                prefetched: bool = False) -> tuple[Callable[[Any, Execution], Any], bool]:
    """A completer for values of this type, and whether it awaits.

    `prefetched`: the caller has already run `_prefetch` for these values.
    """
    if isinstance(gql_type, GraphQLNonNull):
        if isinstance(gql_type.of_type, GraphQLScalarType | GraphQLEnumType):
            leaf = _leaf(gql_type.of_type)

            def non_null_leaf(value: Any, run: Execution) -> Any:
                if value is None:
                    raise Abandon
                return leaf(value)

            return non_null_leaf, False
        inner, is_async = _output_for(gql_type.of_type, node, compiler, prefetched=prefetched)

        def non_null(value: Any, run: Execution) -> Any:
            if value is None:
                raise Abandon
            return inner(value, run)

        if not is_async:
            return non_null, False

        async def non_null_async(value: Any, run: Execution) -> Any:
            if value is None:
                raise Abandon
            result = inner(value, run)
            if isinstance(result, Awaitable):
                result = await result
            if result is None:
                raise Abandon
            return result

        return non_null_async, True

    if isinstance(gql_type, GraphQLList):
        item_type = gql_type.of_type
        if isinstance(item_type, GraphQLNonNull):
            item_type = item_type.of_type
        if isinstance(item_type, GraphQLObjectType):
            item_plan = compiler.object_plan(item_type, node.selection_set)
            if item_plan.prefetch and not item_plan.is_async:
                non_null_items = isinstance(gql_type.of_type, GraphQLNonNull)

                async def list_prefetched(value: Any, run: Execution) -> Any:
                    if value is None:
                        return None
                    if non_null_items and any(v is None for v in value):
                        raise Abandon
                    await _prefetch(item_plan, [v for v in value if v is not None], run)
                    return [None if v is None else _complete_object(item_plan, v, run)
                            for v in value]

                return list_prefetched, True
        item, is_async = _output_for(gql_type.of_type, node, compiler)
        if not is_async:
            return (lambda value, run: None if value is None
                    else [item(v, run) for v in value]), False

        async def list_async(value: Any, run: Execution) -> Any:
            if value is None:
                return None
            results = [item(v, run) for v in value]
            return list(await asyncio.gather(*results))

        return list_async, True

    if isinstance(gql_type, GraphQLScalarType | GraphQLEnumType):
        leaf = _leaf(gql_type)
        return (lambda value, run: None if value is None else leaf(value)), False

    if isinstance(gql_type, GraphQLObjectType):
        plan = compiler.object_plan(gql_type, node.selection_set)
        if plan.prefetch and not plan.is_async and not prefetched:

            async def object_prefetched(value: Any, run: Execution) -> Any:
                if value is None:
                    return None
                await _prefetch(plan, [value], run)
                return _complete_object(plan, value, run)

            return object_prefetched, True
        if not plan.is_async:
            return (lambda value, run: None if value is None
                    else _complete_object(plan, value, run)), False

        async def object_async(value: Any, run: Execution) -> Any:
            if value is None:
                return None
            return await _complete_object_async(plan, value, run)

        return object_async, True

    raise NotCompilable(f"type {gql_type} (interfaces and unions are not compiled)")


_CONNECTION_NODES = Connection.nodes  # the resolver function itself


def _connection_rendering(gql_type: Any, selection: FieldNode) -> tuple[Any, RenderSpec] | None:
    """For a connection whose `nodes` selection the database can render (and which reads
    nodes nowhere else, e.g. `edges { node }`): its node model and JSON select expression."""
    if isinstance(gql_type, GraphQLNonNull):
        gql_type = gql_type.of_type
    if not isinstance(gql_type, GraphQLObjectType) or selection.selection_set is None:
        return None
    nodes_field = gql_type.fields.get("nodes")
    sf = nodes_field.extensions.get("strawberry-definition") if nodes_field else None
    if sf is None or sf.base_resolver is None or \
            sf.base_resolver.wrapped_func is not _CONNECTION_NODES:
        return None
    nodes = []
    for sel in selection.selection_set.selections:
        if not isinstance(sel, FieldNode):
            return None
        if sel.name.value == "nodes":
            nodes.append(sel)
        elif sel.name.value == "edges" and sel.selection_set is not None and any(
                not isinstance(s, FieldNode) or s.name.value not in ("cursor", "__typename")
                for s in sel.selection_set.selections):
            return None
    if len(nodes) != 1:
        return None
    node_type = nodes_field.type  # type: ignore[union-attr]
    while isinstance(node_type, GraphQLNonNull | GraphQLList):
        node_type = node_type.of_type
    if not isinstance(node_type, GraphQLObjectType):
        return None
    return rendering.json_select(node_type, nodes[0].selection_set)


class Compiler:
    def __init__(self, schema: Any) -> None:
        self.schema = schema

    def object_plan(self, gql_type: GraphQLObjectType, selection_set: Any) -> ObjectPlan:
        if selection_set is None:
            raise NotCompilable("object without selection")
        fields: list[FieldPlan] = []
        seen: set[str] = set()
        for selection in selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.directives:
                raise NotCompilable("fragments and directives are not compiled")
            name = selection.name.value
            key = selection.alias.value if selection.alias else name
            if key in seen:
                raise NotCompilable("a response key selected twice")  # merging not compiled
            seen.add(key)
            if name == "__typename":
                fields.append(FieldPlan(key, selection, None, gql_type, None, None, False, [],
                                        False, lambda value, run: value))
                continue
            if name.startswith("__"):
                raise NotCompilable("introspection")
            gql_field = gql_type.fields[name]
            sf = gql_field.extensions.get("strawberry-definition")
            if sf is None:
                raise NotCompilable(f"field {name} has no Strawberry definition")
            permissions: list[Any] = []
            for extension in sf.extensions:
                if not isinstance(extension, PermissionExtension):
                    raise NotCompilable(f"field {name} has extension {extension}")
                permissions += extension.permissions
            resolver = sf.base_resolver
            loaded_by = getattr(resolver.wrapped_func, "loaded_by", None) if resolver else None
            if loaded_by and not permissions and not selection.arguments:
                prefetched = self._prefetched_field(key, selection, gql_field, gql_type, sf,
                                                    loaded_by)
                if prefetched is not None:
                    fields.append(prefetched)
                    continue
            output, output_async = _output_for(gql_field.type, selection, self)
            attr = sf.python_name if resolver is None and not permissions else None
            is_async = output_async or bool(resolver and resolver.is_async)
            direct = None
            if (resolver is not None and not resolver.is_async and resolver.self_parameter
                    and not (resolver.info_parameter or resolver.root_parameter
                             or resolver.parent_parameter or resolver.arguments
                             or sf.extensions)):
                direct = resolver.wrapped_func
            fp = FieldPlan(key, selection, gql_field, gql_type, sf, attr,
                           bool(selection.arguments), permissions, is_async, output, direct)
            if resolver is not None and resolver.is_async:
                fp.render = _connection_rendering(gql_field.type, selection)
            fp.connection_nodes = bool(resolver and resolver.wrapped_func is _CONNECTION_NODES)
            fields.append(fp)
        plan = ObjectPlan(gql_type.name, fields, any(f.is_async for f in fields))
        plan.prefetch = [f for f in fields if f.prefetch is not None]
        plan.computes = [(f.key, f.compute()) for f in fields]
        plan.complete = _generate_completer(plan)
        return plan

    def _prefetched_field(self, key: str, selection: FieldNode, gql_field: Any,
                          parent: GraphQLObjectType, sf: Any, loaded_by: tuple[str, str]
                          ) -> FieldPlan | None:
        """A `loaded_by` field whose object completes without awaiting once its own
        prefetched fields are loaded; None if it must stay an ordinary async field."""
        gql_type = gql_field.type
        non_null = isinstance(gql_type, GraphQLNonNull)
        if non_null:
            gql_type = gql_type.of_type
        if not isinstance(gql_type, GraphQLObjectType):
            return None
        sub_plan = self.object_plan(gql_type, selection.selection_set)
        if sub_plan.is_async:
            return None

        def output(value: Any, run: Execution) -> Any:
            if value is None:
                if non_null:
                    raise Abandon
                return None
            return _complete_object(sub_plan, value, run)

        fp = FieldPlan(key, selection, gql_field, parent, sf, None, False, [], False, output,
                       None, loaded_by)
        fp.sub_plan = sub_plan
        return fp

    def compile(self, query: str, operation_name: str | None) -> Plan:
        document = parse(query)
        if unstorable_literals(query, document):  # refused before validation; never planned
            raise NotCompilable("a literal text cannot hold")
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != len(document.definitions):
            raise NotCompilable("fragments are not compiled")
        if operation_name:
            operations = [o for o in operations if o.name and o.name.value == operation_name]
        if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
            raise NotCompilable("only single read queries are compiled")
        operation = operations[0]
        if operation.directives:
            raise NotCompilable("operation directives")
        query_type = self.schema._schema.query_type
        root = self.object_plan(query_type, operation.selection_set)
        root.is_async = True
        return Plan(self.schema, operation, root)


class PlanCache:
    """Plans by (query text, operation name), least recently used out first."""

    def __init__(self, schema: Any, maxsize: int = 512) -> None:
        self.compiler = Compiler(schema)
        self.maxsize = maxsize
        self.hits = 0  # requests a plan answered
        self.abandoned = 0  # requests a plan handed back to the normal path
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()

    def get(self, query: str, operation_name: str | None) -> Plan | None:
        key = (query, operation_name)
        plan = self._plans.get(key, _MISSING)
        if plan is _MISSING:
            return None
        self._plans.move_to_end(key)
        return plan  # type: ignore[return-value]

    def known(self, query: str, operation_name: str | None) -> bool:
        return (query, operation_name) in self._plans

    def learn(self, query: str, operation_name: str | None) -> Plan | None:
        """Called after the document ran through Strawberry and passed validation."""
        try:
            plan: Plan | None = self.compiler.compile(query, operation_name)
        except (NotCompilable, KeyError):
            plan = None
        self._plans[(query, operation_name)] = plan
        if len(self._plans) > self.maxsize:
            self._plans.popitem(last=False)
        return plan
