"""The contract every entity declared through the kit runs: a test module subclasses
`EntityContract` with its case (the entity, its GraphQL names, a valid create input and an
update) and gets every test below.

What it holds the kit and the module to, each checked through GraphQL and, where the GraphQL
layer's own permission check would hide a missing one, against the service directly:
- two tenants: A sees its record (positive control); B cannot list it, fetch it by
  `<entity>(id:)` or `node(id:)`, update, delete or restore it; nor can the kit's own tenant
  filter, with row-level security out of the way, show it to B;
- record rules (owned entities): a sales user sees and changes only their own, a manager sees
  all, an API key owns nothing;
- soft delete: hidden from lists; `includeDeleted` / `deletedOnly` only for roles that may
  delete (others FORBIDDEN); delete and restore idempotent;
- every declared sort walked page by page (1 to 3 rows a page) on the ordinary path, the compiled
  path and the path the database renders, against the order PostgreSQL gives a hand-written
  ORDER BY: names such as "İa", "ß", "Ä" and Chinese ones, equal timestamps and names so the id
  decides, and an update order unlike the creation order;
- one audit row and one outbox event per write: actor, before and after in the API's form,
  global ids;
- refusals: a viewer cannot create, update or delete, a sales user cannot delete.

Callers (tests/modules/kit/world.py) are tenants' members with web sessions and API keys.
`tests/modules/kit/test_contract_coverage.py` fails for a declared entity that runs no contract.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from infra.errors import Forbidden, NotFound
from modules.kit import registry
from modules.kit.entity import Entity
from modules.kit.service import EntityService
from tenancy.context import Actor, CallContext
from tenancy.permissions import Permission
from tests.conftest import LiveServer, Servers
from tests.factories import TenantFactory
from tests.modules.kit.world import Caller, Tenant, World, decode_global_id, global_id

# Sorted by PostgreSQL, these disagree with Python's `str.lower` ("İ"), fold case ("Ib", "ib"),
# repeat ("张三"), and lie outside ASCII ("ß", "Ä", "Zoë").
SORT_NAMES = ("İa", "Ib", "ib", "ß", "Ä", "a", "张三", "张三", "李四", "Zoë")
# Created three requests apart (equal created_at within a request), then updated out of order.
CREATE_BATCHES: tuple[tuple[int, ...], ...] = ((0, 1, 2, 3), (4, 5, 6), (7, 8, 9))
UPDATE_BATCHES: tuple[tuple[int, ...], ...] = ((9, 0, 5), (2,))

# The meaning of the kit's standard sorts, as an ORDER BY of their own (`{name}`: the name
# column); the contract appends the id in the same direction.
STANDARD_ORDERS = {
    "CREATED_AT_DESC": "created_at desc",
    "CREATED_AT_ASC": "created_at asc",
    "UPDATED_AT_DESC": "updated_at desc",
    "NAME_ASC": "lower({name}) asc",
    "NAME_DESC": "lower({name}) desc",
}
PATHS = ("ordinary", "compiled", "rendered")

_counter = itertools.count(1)


def _pascal(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


# -- the contract ------------------------------------------------------------------------------

class EntityContract:
    """Subclass as `Test<Entity>Contract` in `tests/modules/<domain>/test_contract.py`:

        class TestContactContract(EntityContract):
            entity = CONTACT
            list_field, get_field = "contacts", "contact"
            create = {"name": "王小明", "phone": "13800138000"}
            update = {"title": "采购经理"}

    `create` is a valid create input (API names; `name_field` is set per record) and `update`
    an update that changes a record made from it, applicable to several records at once; both
    plain fields, which the service receives with snake_case keys (`service_input`: override
    where the service's values differ from the API's, e.g. enums). An entity
    with sorts of its own states their meaning in `orders` (`{"SCORE_DESC": "score desc"}`);
    one whose names are unique sets `sort_names` to names that are. `unrendered_selection`, a
    node field the database cannot render (`"address { city }"`), adds the compiled path that
    reads rows to the walks.

    An entity whose records are issued and then only acted on (API keys: created, revoked,
    never edited) names its writes in `verbs` (`("create", "revoke")`), sets `update = None`,
    and gives the documents of its own writes by overriding `create_many`, `write`,
    `write_variables` and `service_write`; `after_write` checks what each left in the
    record's after image. `stamp` is the selection that shows whether a record changed.
    """

    entity: ClassVar[Entity]
    list_field: ClassVar[str]
    get_field: ClassVar[str]
    create: ClassVar[dict[str, Any]]
    update: ClassVar[dict[str, Any] | None]
    verbs: ClassVar[tuple[str, ...]] = ()  # () : the kit's (create, update, delete, restore)
    actions: ClassVar[dict[str, str]] = {}  # a verb's audit action, beside the kit's
    stamp: ClassVar[str] = "id updatedAt"
    preexisting: ClassVar[int] = 0  # rows of tenant S not made by the fixture (its key)
    name_field: ClassVar[str] = "name"
    name_column: ClassVar[str] = "name"
    input_type: ClassVar[str | None] = None
    orders: ClassVar[dict[str, str]] = {}
    sort_names: ClassVar[tuple[str, ...]] = SORT_NAMES
    unrendered_selection: ClassVar[str | None] = None

    def create_input(self, name: str) -> dict[str, Any]:
        return {**self.create, self.name_field: name}

    @property
    def writes(self) -> tuple[str, ...]:
        """The writes this entity has: its `verbs`, or the kit's."""
        if self.verbs:
            return self.verbs
        return ("create", "update") + (("delete", "restore") if self.entity.soft_deletes
                                       else ())

    @property
    def changes(self) -> tuple[str, ...]:
        """The writes made to an existing record (by id)."""
        return tuple(v for v in self.writes if v != "create")

    def action(self, verb: str) -> str:
        return {"create": "created", "update": "updated", "delete": "deleted",
                "restore": "restored", **self.actions}[verb]

    def service_write(self, verb: str) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """The service method of a write by id, and its arguments after the id."""
        service = self.service
        if verb == "update":
            return service.update, (self.service_input(self.update or {}),)
        return {"delete": service.delete, "restore": service.restore}[verb], ()

    def after_write(self, verb: str, after: dict[str, Any], previous: dict[str, Any] | None
                    ) -> None:
        """What a write shows in the record's after image."""
        if verb == "update":
            for key, value in (self.update or {}).items():
                assert after[key] == value != previous[key], key  # type: ignore[index]
        if verb in ("delete", "restore"):
            assert (after["deletedAt"] is None) == (verb == "restore")

    # -- parametrisation and fixtures ---------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "sort" in metafunc.fixturenames:
            metafunc.parametrize("sort", [s.name for s in self.entity.sorts])
        if "path" in metafunc.fixturenames:
            paths = [p for p in PATHS if p != "compiled" or self.unrendered_selection]
            metafunc.parametrize("path", paths)

    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, servers: Servers, live_server: LiveServer, tenants: TenantFactory
              ) -> Iterator[World]:
        world = World(servers, live_server, tenants)
        yield world
        world.close()

    @pytest.fixture(scope="class")
    @classmethod
    def sorted_rows(cls, world: World) -> list[uuid.UUID]:
        """Tenant S's rows, created in batches (equal created_at) and updated out of order
        (equal updated_at), and one deleted among them; the live ones in creation order."""
        case, key = cls(), world.s["owner key"]
        ids: list[uuid.UUID] = []
        for batch in CREATE_BATCHES:
            ids += case.create_many(key, [case.create_input(case.sort_names[i]) for i in batch])
        for batch in UPDATE_BATCHES if "update" in case.writes else ():
            case.update_many(key, [ids[i] for i in batch])
        if case.entity.soft_deletes:
            key.data(case.write("delete"), {"id": case.gid(case.make(key))})
        return ids

    # -- GraphQL documents ---------------------------------------------------------------------

    @property
    def service(self) -> EntityService[Any]:
        return registry.service_of(self.entity)

    @property
    def type_name(self) -> str:
        return self.entity.type_name

    def mutation(self, verb: str) -> str:
        return verb + _pascal(self.entity.name)  # `crud_mutations`' names

    @property
    def input_name(self) -> str:
        return self.input_type or f"{self.type_name}Input"

    @property
    def table(self) -> str:
        return str(self.entity.model.__table__.name)

    def gid(self, id: uuid.UUID) -> str:
        return global_id(self.type_name, id)

    def id_of(self, gid: str) -> uuid.UUID:
        type_name, value = decode_global_id(gid)
        assert type_name == self.type_name, gid
        return value

    def create_many(self, caller: Caller, inputs: list[dict[str, Any]], *,
                    request_id: str | None = None) -> list[uuid.UUID]:
        """Created in one request: one transaction, so one created_at."""
        params = ", ".join(f"$i{n}: {self.input_name}!" for n in range(len(inputs)))
        fields = " ".join(f"r{n}: {self.mutation('create')}(input: $i{n}) {{ id }}"
                          for n in range(len(inputs)))
        data = caller.data(f"mutation({params}) {{ {fields} }}",
                           {f"i{n}": value for n, value in enumerate(inputs)},
                           request_id=request_id)
        return [self.id_of(data[f"r{n}"]["id"]) for n in range(len(inputs))]

    def make(self, caller: Caller, *, request_id: str | None = None) -> uuid.UUID:
        return self.create_many(caller, [self.create_input(f"契约记录 {next(_counter)}")],
                                request_id=request_id)[0]

    def update_many(self, caller: Caller, ids: list[uuid.UUID]) -> None:
        params = ", ".join(f"$id{n}: ID!" for n in range(len(ids)))
        fields = " ".join(f"r{n}: {self.mutation('update')}(id: $id{n}, input: $input) {{ id }}"
                          for n in range(len(ids)))
        caller.data(f"mutation($input: {self.input_name}!, {params}) {{ {fields} }}",
                    {"input": self.update, **{f"id{n}": self.gid(i) for n, i in enumerate(ids)}})

    def write(self, verb: str) -> str:
        if verb == "update":
            return (f"mutation($id: ID!, $input: {self.input_name}!) "
                    f"{{ {self.mutation('update')}(id: $id, input: $input) {{ id }} }}")
        if verb == "create":
            return (f"mutation($input: {self.input_name}!) "
                    f"{{ {self.mutation('create')}(input: $input) {{ id }} }}")
        return f"mutation($id: ID!) {{ {self.mutation(verb)}(id: $id) {{ id deletedAt }} }}"

    def write_variables(self, verb: str, id: uuid.UUID | None) -> dict[str, Any]:
        if verb == "create":
            return {"input": self.create_input(f"契约记录 {next(_counter)}")}
        if verb == "update":
            return {"id": self.gid(id), "input": self.update}  # type: ignore[arg-type]
        return {"id": self.gid(id)}  # type: ignore[arg-type]

    def get(self, caller: Caller, id: uuid.UUID, fields: str = "id") -> dict[str, Any]:
        return caller.data(f"query($id: ID!) {{ {self.get_field}(id: $id) {{ {fields} }} }}",
                           {"id": self.gid(id)})[self.get_field]  # type: ignore[no-any-return]

    def get_error(self, caller: Caller, id: uuid.UUID) -> str:
        return caller.error(f"query($id: ID!) {{ {self.get_field}(id: $id) {{ id }} }}",
                            {"id": self.gid(id)})["code"]  # type: ignore[no-any-return]

    def node(self, caller: Caller, id: uuid.UUID) -> dict[str, Any] | None:
        return caller.data("query($id: ID!) { node(id: $id) { __typename id } }",
                           {"id": self.gid(id)})["node"]  # type: ignore[no-any-return]

    def list_query(self, path: str, *, sort: str | None = None, filter: str | None = None,
                   paged: bool = False) -> str:
        nodes = {"ordinary": "id @include(if: true)",  # a directive keeps it off plans
                 "compiled": f"id {self.unrendered_selection}",
                 "rendered": "id"}[path]
        args = ["first: $first", "after: $after"] if paged else ["first: 100"]
        if sort:
            args.append(f"sort: {sort}")
        if filter:
            args.append(f"filter: {{{filter}}}")
        variables = "($first: Int, $after: String)" if paged else ""
        extra = "edges { cursor } pageInfo { hasNextPage endCursor }" if paged else "totalCount"
        return (f"query{variables} {{ {self.list_field}({', '.join(args)}) "
                f"{{ nodes {{ {nodes} }} {extra} }} }}")

    def listed(self, caller: Caller, filter: str | None = None) -> set[uuid.UUID]:
        """The ids a caller lists, asked on the ordinary path and on the path the database
        renders (the second request of a text takes its plan); both must agree, and with
        `totalCount`."""
        answers = []
        for path in ("ordinary", "rendered", "rendered"):
            page = caller.data(self.list_query(path, filter=filter))[self.list_field]
            ids = [self.id_of(n["id"]) for n in page["nodes"]]
            assert len(ids) == len(set(ids)) == page["totalCount"] < 100, page
            answers.append(set(ids))
        assert answers[0] == answers[1] == answers[2], answers
        return answers[0]

    def list_error(self, caller: Caller, filter: str, *, total: bool = False) -> dict[str, Any]:
        # The list's text is the one `listed` compiled: the plan hands the refusal back.
        query = (f"{{ {self.list_field}(filter: {{{filter}}}) {{ totalCount }} }}" if total
                 else self.list_query("rendered", filter=filter))
        return caller.error(query)

    # -- what the database holds, read independently of the kit -------------------------------

    def live(self, world: World, tenant: Tenant, *, owner: uuid.UUID | None = None,
             deleted: bool = False) -> set[uuid.UUID]:
        """Ids of the tenant's live (or deleted) records (of one owner), from the table."""
        conditions = ["tenant_id = %(t)s"]
        if self.entity.soft_deletes:
            conditions.append("deleted_at is not null" if deleted else "deleted_at is null")
        if owner is not None:
            conditions.append(f"{self.entity.owner} = %(o)s")
        rows = world.sql(f"select id from {self.table} where {' and '.join(conditions)}",
                         {"t": tenant.id, "o": owner})
        return {r[0] for r in rows}

    def audit(self, caller: Caller, **filters: Any) -> list[dict[str, Any]]:
        return caller.data(  # type: ignore[no-any-return]
            "query($f: AuditFilter) { auditLog(first: 100, filter: $f) { nodes { action "
            "entityType entityId actorType actorId actorLabel before after requestId } } }",
            {"f": filters})["auditLog"]["nodes"]

    def events(self, caller: Caller, action: str, request_id: str) -> list[dict[str, Any]]:
        nodes = caller.data(
            "query($t: String) { events(first: 100, type: $t) { nodes { eventType "
            "aggregateType aggregateId payload requestId } } }",
            {"t": f"{self.entity.name}.{action}"})["events"]["nodes"]
        return [n for n in nodes if n["requestId"] == request_id]

    # -- callers by what they may do with this entity -----------------------------------------

    def find(self, tenant: Tenant, *, may: tuple[Permission | None, ...] = (),
             may_not: tuple[Permission | None, ...] = (), key: bool = False) -> Caller | None:
        """The least privileged member (or API key) who has `may` and lacks `may_not`."""
        found = sorted(
            (c for name, c in tenant.callers.items() if name.endswith(" key") == key
             and all(c.can(p) for p in may if p is not None)
             and not any(c.can(p) for p in may_not if p is not None)),
            key=lambda c: (len(c.ctx.actor.permissions), c.label))
        return found[0] if found else None

    def caller(self, tenant: Tenant, *, may: tuple[Permission | None, ...] = (),
               may_not: tuple[Permission | None, ...] = (), key: bool = False) -> Caller:
        found = self.find(tenant, may=may, may_not=may_not, key=key)
        if found is None:
            pytest.skip(f"no built-in role has {may} without {may_not}")
        return found

    def non_deleter(self, tenant: Tenant) -> Caller | None:
        """Writes but may not delete, if any built-in role does."""
        e = self.entity
        return self.find(tenant, may=(e.read, e.write), may_not=(e.delete,))

    def full(self, tenant: Tenant, *, key: bool = False) -> Caller:
        """Who reads every record and may write and delete them."""
        e = self.entity
        return self.caller(tenant, may=(e.read, e.read_all, e.write, e.delete), key=key)

    def reader(self, tenant: Tenant) -> Caller:
        """Reads (every record, if owned) but may not write."""
        e = self.entity
        return self.caller(tenant, may=(e.read, e.read_all), may_not=(e.write,))

    def non_writer(self, tenant: Tenant) -> Caller:
        """May not write: a reader if any role reads without writing, else anyone who lacks
        the write permission (where reading and writing are one permission: API keys)."""
        e = self.entity
        return (self.find(tenant, may=(e.read, e.read_all), may_not=(e.write,))
                or self.caller(tenant, may_not=(e.write,)))

    @property
    def edits(self) -> tuple[str, ...]:
        """The writes by id that need the write permission (not the delete one)."""
        return tuple(v for v in self.changes if v not in ("delete", "restore"))

    def own_only(self, tenant: Tenant, second: bool = False) -> Caller:
        """Reads and writes their own records only."""
        e = self.entity
        caller = self.caller(tenant, may=(e.read, e.write), may_not=(e.read_all,))
        if second:
            others = [c for c in tenant.callers.values() if c is not caller
                      and c.ctx.actor.permissions == caller.ctx.actor.permissions
                      and c.ctx.actor.kind == "user"]
            return others[0]
        return caller

    # == the tests =============================================================================

    def test_the_case_names_what_the_schema_has(self, world: World) -> None:
        fields = world.a["owner key"].data(
            "{ q: __type(name: \"Query\") { fields { name } } "
            "m: __type(name: \"Mutation\") { fields { name } } }")
        queries = {f["name"] for f in fields["q"]["fields"]}
        mutations = {f["name"] for f in fields["m"]["fields"]}
        assert {self.list_field, self.get_field} <= queries
        assert {self.mutation(v) for v in self.writes} <= mutations
        if not self.entity.soft_deletes:
            assert not {self.mutation("delete"), self.mutation("restore")} & mutations
        for sort in self.entity.sorts:
            assert sort.name in STANDARD_ORDERS or sort.name in self.orders, (
                f"{sort.name}: say what it means in `orders`, so the walks can check it")

    # -- two tenants ---------------------------------------------------------------------------

    def test_another_tenant_cannot_see_or_touch_a_record(self, world: World) -> None:
        a, b = self.full(world.a), world.b["owner key"]
        mine, theirs = self.make(a), self.make(b)
        before = self.get(a, mine, self.stamp)

        # Positive control: each tenant sees its own record by every route.
        assert mine in self.listed(a)
        assert self.node(a, mine) == {"__typename": self.type_name, "id": self.gid(mine)}
        assert theirs in self.listed(b)
        assert self.get(b, theirs)["id"] == self.gid(theirs)

        assert self.listed(b) == self.live(world, world.b)
        assert mine not in self.listed(b)
        assert self.get_error(b, mine) == "NOT_FOUND"
        assert self.node(b, mine) is None
        for verb in self.changes:
            assert b.error(self.write(verb), self.write_variables(verb, mine))["code"] == \
                "NOT_FOUND", verb
        if self.entity.soft_deletes:  # deleted, it is no more theirs to see or restore
            a.data(self.write("delete"), {"id": self.gid(mine)})
            for condition in ("includeDeleted: true", "deletedOnly: true"):
                assert mine not in self.listed(b, condition)
            assert b.error(self.write("restore"), {"id": self.gid(mine)})["code"] == "NOT_FOUND"
            a.data(self.write("restore"), {"id": self.gid(mine)})

        # A's record is as it was, and only A's writes are in its audit trail.
        after = self.get(a, mine, self.stamp)
        if not self.entity.soft_deletes:
            assert after == before
        trail = self.audit(world.a["owner key"], entityId=self.gid(mine))
        assert {n["action"] for n in trail} <= {"created", "deleted", "restored"}
        assert self.audit(world.b["owner key"], entityId=self.gid(mine)) == []

    def test_the_kits_own_conditions_keep_tenants_apart_without_rls(self, world: World) -> None:
        """Row-level security is the wall; the kit's tenant condition is its own (and what
        keeps plans on the tenant's indexes). With RLS off, it alone must hold."""
        a, b = self.full(world.a), world.b["owner key"]
        mine, theirs = self.make(a), self.make(b)
        service = self.service
        page = world.call_without_rls(b, service.list_page, filters={},
                                      sort=self.entity.sorts[0].name, first=100, after=None)
        assert {row.id for row in page.items} == self.live(world, world.b)
        assert theirs in {row.id for row in page.items}
        assert world.call_without_rls(b, service.count, filters={}) == len(
            self.live(world, world.b))
        loaded = world.call_without_rls(b, service.load_many, [mine, theirs])
        assert loaded[0] is None
        assert loaded[1].id == theirs
        assert world.call_without_rls(b, service.get, theirs).id == theirs
        writes = [self.service_write(verb) for verb in self.changes]
        for method, args in [(service.get, ()), *writes]:
            with pytest.raises(NotFound):
                world.call_without_rls(b, method, mine, *args)
        if self.entity.soft_deletes:
            deleted = world.call_without_rls(b, service.list_page,
                                             filters={"include_deleted": True},
                                             sort=self.entity.sorts[0].name, first=100,
                                             after=None)
            assert mine not in {row.id for row in deleted.items}

    # -- record rules --------------------------------------------------------------------------

    def test_sales_see_and_change_only_their_own_and_managers_see_all(self, world: World
                                                                       ) -> None:
        if self.entity.owner is None:
            pytest.skip(f"{self.entity.name} records are not owned")
        sales, other = self.own_only(world.a), self.own_only(world.a, second=True)
        manager, key = self.full(world.a), self.full(world.a, key=True)
        own, others, managers, keys = (self.make(sales), self.make(other), self.make(manager),
                                       self.make(key))

        mine = self.listed(sales)
        assert own in mine
        assert mine == self.live(world, world.a, owner=sales.ctx.actor.user_id)
        for hidden in (others, managers, keys):
            assert self.get_error(sales, hidden) == "NOT_FOUND"
            assert self.node(sales, hidden) is None
            assert sales.error(self.write("update"), self.write_variables("update", hidden))[
                "code"] == "NOT_FOUND"
        sales.data(self.write("update"), self.write_variables("update", own))
        assert self.get(sales, own)["id"] == self.gid(own)

        everything = self.listed(manager)
        assert {own, others, managers, keys} <= everything
        assert everything == self.live(world, world.a)
        manager.data(self.write("update"), self.write_variables("update", others))
        assert self.node(manager, others) is not None

    def test_an_api_key_owns_nothing(self, world: World) -> None:
        """A key acts for no user: with a role limited to its own records (which the product
        refuses to give a key; here made by hand) it sees none, not even those nobody owns."""
        if self.entity.owner is None:
            pytest.skip(f"{self.entity.name} records are not owned")
        sales = self.own_only(world.a)
        ownerless = self.make(self.full(world.a, key=True))
        owned = self.make(sales)
        actor = Actor("api_key", uuid.uuid4(), world.a.id, sales.role,
                      sales.ctx.actor.permissions, "contract key")
        key = Caller("own-only key", sales.http, CallContext(actor))
        service = self.service
        page = world.call(key, service.list_page, filters={}, sort=self.entity.sorts[0].name,
                          first=100, after=None)
        assert page.items == []
        assert world.call(key, service.count, filters={}) == 0
        assert world.call(key, service.load_many, [ownerless, owned]) == [None, None]
        for id in (ownerless, owned):
            with pytest.raises(NotFound):
                world.call(key, service.get, id)
            with pytest.raises(NotFound):
                world.call(key, service.update, id, self.service_input(self.update))

    # -- soft delete ---------------------------------------------------------------------------

    def test_soft_delete_hides_and_only_deleters_see_deleted(self, world: World) -> None:
        if not self.entity.soft_deletes:
            with pytest.raises(Forbidden):
                world.call(world.a["owner key"], self.service.delete, self.make(self.full(
                    world.a)))
            return
        manager, viewer = self.full(world.a), self.reader(world.a)
        id = self.make(manager)
        deleted = manager.data(self.write("delete"), {"id": self.gid(id)})[
            self.mutation("delete")]
        assert deleted["deletedAt"] is not None

        assert id not in self.listed(manager)
        assert id not in self.listed(viewer)
        assert id in self.listed(manager, "includeDeleted: true")
        assert self.listed(manager, "includeDeleted: true") == (
            self.live(world, world.a) | self.live(world, world.a, deleted=True))
        assert self.listed(manager, "deletedOnly: true") == self.live(world, world.a, deleted=True)
        # By id, who may delete sees it (to restore it); others do not.
        assert self.get(manager, id, "id deletedAt")["deletedAt"] == deleted["deletedAt"]
        assert self.node(manager, id) is not None
        assert self.get_error(viewer, id) == "NOT_FOUND"
        assert self.node(viewer, id) is None
        # A deleted record is restored before it is changed.
        assert manager.error(self.write("update"), self.write_variables("update", id))[
            "code"] == "CONFLICT"

        for caller in filter(None, (self.reader(world.a), self.non_deleter(world.a))):
            for condition in ("includeDeleted: true", "deletedOnly: true"):
                for total in (False, True):
                    error = self.list_error(caller, condition, total=total)
                    assert error["code"] == "FORBIDDEN", (caller.label, condition, error)
                    assert error["permission"] == str(self.entity.delete)
                for flag in ("include_deleted", "deleted_only"):
                    with pytest.raises(Forbidden):
                        world.call(caller, self.service.list_page, filters={flag: True},
                                   sort=self.entity.sorts[0].name, first=10, after=None)
                    with pytest.raises(Forbidden):
                        world.call(caller, self.service.count, filters={flag: True})

        # Idempotent: a second delete (or restore) answers the record and writes nothing.
        again = manager.data(self.write("delete"), {"id": self.gid(id)})[self.mutation("delete")]
        assert again["deletedAt"] == deleted["deletedAt"]
        restored = manager.data(self.write("restore"), {"id": self.gid(id)})[
            self.mutation("restore")]
        assert restored["deletedAt"] is None
        assert manager.data(self.write("restore"), {"id": self.gid(id)})[
            self.mutation("restore")]["deletedAt"] is None
        assert id in self.listed(viewer)
        actions = [n["action"] for n in self.audit(world.a["owner key"], entityId=self.gid(id))]
        assert sorted(actions) == ["created", "deleted", "restored"]

    # -- sorting and cursors -------------------------------------------------------------------

    def expected_order(self, world: World, sort: str) -> list[uuid.UUID]:
        order = self.orders.get(sort) or STANDARD_ORDERS[sort].format(name=self.name_column)
        direction = order.split()[-1]
        live = " and deleted_at is null" if self.entity.soft_deletes else ""
        rows = world.sql(f"select id from {self.table} where tenant_id = %(t)s{live} "
                         f"order by {order}, id {direction}", {"t": world.s.id})
        return [r[0] for r in rows]

    def test_every_sort_walks_every_row_once_in_order(
        self, world: World, sorted_rows: list[uuid.UUID], sort: str, path: str
    ) -> None:
        expected = self.expected_order(world, sort)
        # Every row the fixture made (and rows the world made for its callers: API keys).
        assert set(sorted_rows) <= set(expected)
        assert len(expected) - len(sorted_rows) == self.preexisting
        key = world.s["owner key"]
        query = self.list_query(path, sort=sort, paged=True)
        key.data(query, {"first": 1, "after": None})  # parsed and validated: now it compiles
        plan = world.plans.get(query, None)
        if path == "ordinary":
            assert plan is None
        else:
            assert plan is not None, "this query should compile"
            assert (plan.root.fields[0].render is not None) == (path == "rendered")
        hits = world.plans.hits
        requests = 0
        for size in (1, 2, 3):
            seen: list[uuid.UUID] = []
            after = None
            while True:
                page = key.data(query, {"first": size, "after": after})[self.list_field]
                requests += 1
                ids = [self.id_of(n["id"]) for n in page["nodes"]]
                cursors = [e["cursor"] for e in page["edges"]]
                info = page["pageInfo"]
                assert len(cursors) == len(ids) <= size
                if info["hasNextPage"]:
                    assert len(ids) == size
                if ids:
                    assert cursors[-1] == info["endCursor"]
                seen += ids
                if not info["hasNextPage"]:
                    break
                assert len(seen) < len(expected), f"{sort}: pages past the last row"
                after = info["endCursor"]
            assert seen == expected, f"{sort} by {size} on the {path} path"
        assert world.plans.hits == hits + (0 if path == "ordinary" else requests)

    def test_updated_at_order_follows_updates_not_creation(
        self, world: World, sorted_rows: list[uuid.UUID]
    ) -> None:
        """The data the walks run over tells the two orders apart (else a sort by
        created_at would pass for one by updated_at)."""
        if "UPDATED_AT_DESC" not in self.entity.sort_by_name:
            pytest.skip("no UPDATED_AT_DESC sort")
        by_update = self.expected_order(world, "UPDATED_AT_DESC")
        assert by_update[:4] == [sorted_rows[i] for i in (2, 9, 5, 0)]
        assert by_update != list(reversed(sorted_rows))

    # -- audit and events ----------------------------------------------------------------------

    def test_every_write_leaves_one_audit_row_and_one_event(self, world: World) -> None:
        manager, auditor = self.full(world.a), world.a["owner key"]
        verbs = list(self.writes)
        leaves = self.leaf_fields(auditor)
        id: uuid.UUID | None = None
        previous: dict[str, Any] | None = None
        for verb, writer in [*((v, manager) for v in verbs), ("create", self.full(world.a,
                                                                                  key=True))]:
            request_id = uuid.uuid4().hex
            if verb == "create":
                id = self.create_many(writer, [self.write_variables("create", None)["input"]],
                                      request_id=request_id)[0]
                previous = None
            else:
                writer.data(self.write(verb), self.write_variables(verb, id),
                            request_id=request_id)
            assert id is not None
            action = self.action(verb)
            rows = self.audit(auditor, requestId=request_id)
            assert len(rows) == 1, rows
            row = rows[0]
            actor = writer.ctx.actor
            assert row["action"] == action
            assert row["entityType"] == self.entity.name
            assert row["entityId"] == self.gid(id)
            assert row["actorType"] == actor.kind
            assert row["actorId"] == global_id("User" if actor.kind == "user" else "ApiKey",
                                               actor.id)  # type: ignore[arg-type]
            assert row["actorLabel"] == actor.label
            assert row["before"] == previous
            after = row["after"]
            self.assert_api_form(after, id)
            # The after image is the record as the API answers it.
            now = self.get(auditor, id, " ".join(leaves))
            assert {k: after[k] for k in leaves if k in after} == {
                k: now[k] for k in leaves if k in after}
            assert {"id", "createdAt"} <= after.keys()
            assert ("updatedAt" in after) == ("updated_at" in self.entity.columns)
            self.after_write(verb, after, previous)

            events = self.events(auditor, action, request_id)
            assert len(events) == 1, events
            event = events[0]
            assert event["aggregateType"] == self.entity.name
            assert event["aggregateId"] == self.gid(id)
            payload = event["payload"]
            assert payload["data"] == after
            assert payload["id"] == self.gid(id)
            changed = sorted(k for k in after.keys() | (previous or {}).keys()
                             if k != "updatedAt" and after.get(k) != (previous or {}).get(k))
            assert payload["changed"] == changed
            previous = after

    def assert_api_form(self, image: dict[str, Any], id: uuid.UUID) -> None:
        assert image["id"] == self.gid(id)
        for key, value in image.items():
            assert key == key[0].lower() + key[1:] and "_" not in key, f"{key}: not camelCase"
            assert key != "tenantId"
            if key.endswith("Id") and value is not None:
                decode_global_id(value)  # a global id, not a bare uuid

    def leaf_fields(self, caller: Caller) -> list[str]:
        """The type's fields whose values are scalars or enums."""
        fields = caller.data(
            "query($t: String!) { __type(name: $t) { fields { name args { name } type { kind "
            "ofType { kind ofType { kind ofType { kind } } } } } } }",
            {"t": self.type_name})["__type"]["fields"]

        def kind(t: dict[str, Any]) -> str:
            while t["kind"] in ("NON_NULL", "LIST"):
                t = t["ofType"]
            return t["kind"]  # type: ignore[no-any-return]

        return [f["name"] for f in fields if not f["args"] and kind(f["type"]) in
                ("SCALAR", "ENUM")]

    # -- refusals ------------------------------------------------------------------------------

    def service_input(self, data: dict[str, Any]) -> dict[str, Any]:
        """An input as the service takes it (override where values differ, e.g. enums)."""
        return {_snake(k): v for k, v in data.items()}

    def test_refused_writes_through_graphql_write_nothing(self, world: World) -> None:
        e = self.entity
        id = self.make(self.full(world.a))
        before = self.get(world.a["owner key"], id, self.stamp)
        refusals: list[tuple[Caller, str, Permission | None]] = [
            (self.non_writer(world.a), verb, e.write) for verb in ("create", *self.edits)]
        if e.soft_deletes:
            refusals += [(c, verb, e.delete)
                         for c in filter(None, (self.reader(world.a), self.non_deleter(world.a)))
                         for verb in ("delete", "restore")]
        for caller, verb, permission in refusals:
            request_id = uuid.uuid4().hex
            error = caller.error(self.write(verb), self.write_variables(verb, id),
                                 request_id=request_id)
            assert error["code"] == "FORBIDDEN", (caller.label, verb, error)
            assert error["permission"] == str(permission)
            assert self.audit(world.a["owner key"], requestId=request_id) == []
        assert self.get(world.a["owner key"], id, self.stamp) == before

    def test_the_service_refuses_what_the_role_may_not_do(self, world: World) -> None:
        """Called directly, as a module's job or another service would: the GraphQL field's
        own permission check is not there to hide a missing one in the service."""
        e, service = self.entity, self.service
        viewer = self.non_writer(world.a)
        id = self.make(self.full(world.a))
        sales = self.non_deleter(world.a)

        def refused(caller: Caller, permission: Permission | None, method: Callable[..., Any],
                    *args: Any, **kwargs: Any) -> None:
            with pytest.raises(Forbidden) as raised:
                world.call(caller, method, *args, **kwargs)
            if permission is not None:
                assert raised.value.details.get("permission") == str(permission), raised.value

        refused(viewer, e.write, service.create, self.service_input(self.create_input("拒绝")))
        for verb in self.edits:
            method, args = self.service_write(verb)
            refused(viewer, e.write, method, id, *args)
        if e.soft_deletes:
            owned = self.make(sales) if sales else None  # one the non-deleter may edit
            for method in (service.delete, service.restore):
                refused(viewer, e.delete, method, id)
                if sales and owned:
                    refused(sales, e.delete, method, owned)
        nobody = Caller("no permissions", viewer.http, CallContext(Actor(
            "user", viewer.ctx.actor.id, world.a.id, "none", frozenset(), "nobody")))
        refused(nobody, e.read, service.list_page, filters={}, sort=e.sorts[0].name, first=10,
                after=None)
        refused(nobody, e.read, service.count, filters={})
        refused(nobody, e.read, service.get, id)
        # Positive control: the same calls by who may make them go through.
        full = self.full(world.a)
        for verb in self.edits:
            method, args = self.service_write(verb)
            assert world.call(full, method, id, *args).id == id
        assert world.call(full, service.create, self.service_input(
            self.create_input("允许"))).id is not None
        if e.soft_deletes:
            assert world.call(full, service.delete, id).deleted_at is not None
