"""Tenancy's kit entities run its contract (tests/modules/kit/contract.py): API keys as issued
records (created with a name and a role, then only revoked) and members."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from tenancy.entities import API_KEY, MEMBER
from tests.modules.kit.contract import EntityContract
from tests.modules.kit.world import Caller


class TestApiKeyContract(EntityContract):
    entity = API_KEY
    list_field, get_field = "apiKeys", "apiKey"
    create: ClassVar[dict[str, Any]] = {"role": "manager"}
    update = None
    verbs = ("create", "revoke")
    actions: ClassVar[dict[str, str]] = {"revoke": "revoked"}
    stamp = "id revokedAt"
    preexisting = 1  # tenant S's own "owner key", with which the contract calls
    # `role` is loaded per batch of keys, not rendered by the database.
    unrendered_selection = "role"

    CREATE = ("mutation($name: String!, $role: String!) "
              "{ createApiKey(name: $name, role: $role) { apiKey { id } secret } }")

    def create_many(self, caller: Caller, inputs: list[dict[str, Any]], *,
                    request_id: str | None = None) -> list[uuid.UUID]:
        params = ", ".join(f"$n{i}: String!, $r{i}: String!" for i in range(len(inputs)))
        fields = " ".join(f"k{i}: createApiKey(name: $n{i}, role: $r{i}) {{ apiKey {{ id }} "
                          "secret }" for i in range(len(inputs)))
        variables: dict[str, Any] = {}
        for i, value in enumerate(inputs):
            variables[f"n{i}"], variables[f"r{i}"] = value["name"], value["role"]
        data = caller.data(f"mutation({params}) {{ {fields} }}", variables,
                           request_id=request_id)
        for i in range(len(inputs)):
            assert data[f"k{i}"]["secret"].startswith("crm_")  # shown once, at issue
        return [self.id_of(data[f"k{i}"]["apiKey"]["id"]) for i in range(len(inputs))]

    def write(self, verb: str) -> str:
        if verb == "create":
            return self.CREATE
        assert verb == "revoke", verb
        return "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }"

    def write_variables(self, verb: str, id: uuid.UUID | None) -> dict[str, Any]:
        if verb == "create":
            return {**self.create_input(f"契约密钥 {uuid.uuid4().hex[:6]}"),
                    "input": self.create_input(f"契约密钥 {uuid.uuid4().hex[:6]}")}
        return {"id": self.gid(id)}  # type: ignore[arg-type]

    def service_write(self, verb: str) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        assert verb == "revoke", verb
        return self.service.revoke, ()  # type: ignore[attr-defined]

    def after_write(self, verb: str, after: dict[str, Any], previous: dict[str, Any] | None
                    ) -> None:
        assert "keyHash" not in after and "secret" not in after
        assert after["roleId"] is not None and after["displayPrefix"]
        if verb == "revoke":
            assert previous is not None and previous["revokedAt"] is None
            assert after["revokedAt"] is not None


class TestMemberContract(EntityContract):
    """Members, read from the `members` view: added with an email and a role, their role or
    status changed; the kit lists, looks them up and renders them like any table's rows."""

    entity = MEMBER
    list_field, get_field = "members", "member"
    create: ClassVar[dict[str, Any]] = {"role": "sales"}
    update: ClassVar[dict[str, Any]] = {"status": "disabled"}
    preexisting = 1  # tenant S's owner
    unrendered_selection = "role user { name }"
    MUTATIONS: ClassVar[dict[str, tuple[str, str]]] = {
        "create": ("addMember", "AddMemberInput"), "update": ("updateMember", "UpdateMemberInput")}

    def mutation(self, verb: str) -> str:
        return self.MUTATIONS[verb][0] if verb in self.MUTATIONS else super().mutation(verb)

    def create_input(self, name: str) -> dict[str, Any]:
        return {**self.create, "name": name, "email": f"m-{uuid.uuid4().hex[:10]}@example.com"}

    def create_many(self, caller: Caller, inputs: list[dict[str, Any]], *,
                    request_id: str | None = None) -> list[uuid.UUID]:
        params = ", ".join(f"$i{n}: AddMemberInput!" for n in range(len(inputs)))
        fields = " ".join(f"r{n}: addMember(input: $i{n}) {{ id }}" for n in range(len(inputs)))
        data = caller.data(f"mutation({params}) {{ {fields} }}",
                           {f"i{n}": value for n, value in enumerate(inputs)},
                           request_id=request_id)
        return [self.id_of(data[f"r{n}"]["id"]) for n in range(len(inputs))]

    def update_many(self, caller: Caller, ids: list[uuid.UUID]) -> None:
        params = ", ".join(f"$id{n}: ID!" for n in range(len(ids)))
        fields = " ".join(f"r{n}: updateMember(id: $id{n}, input: $input) {{ id }}"
                          for n in range(len(ids)))
        caller.data(f"mutation($input: UpdateMemberInput!, {params}) {{ {fields} }}",
                    {"input": self.update, **{f"id{n}": self.gid(i) for n, i in enumerate(ids)}})

    def write(self, verb: str) -> str:
        name, input_type = self.MUTATIONS[verb]
        if verb == "create":
            return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ id }} }}"
        return (f"mutation($id: ID!, $input: {input_type}!) "
                f"{{ {name}(id: $id, input: $input) {{ id }} }}")
