"""Query limits: measured once per fragment, so no document can make the check itself slow."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query, parse

from graphql_api.limits import Measure, QueryLimits
from tests.conftest import GraphQLClient
from tests.factories import TenantData, TenantFactory

LIMITS = QueryLimits(max_depth=4, max_aliases=30, max_fields=1000)


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the next twice: 2**levels fields once expanded, a few hundred
    tokens written down."""
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}"
                     for i in range(levels))
    return f"query {{ ...F0 }} {chain} fragment F{levels} on Query {{ __typename }}"


def measure(query: str) -> Measure:
    limits = QueryLimits(max_depth=50, max_aliases=10**9, max_fields=10**9)
    fragments = {d.name.value: d for d in parse(query).definitions  # type: ignore[attr-defined]
                 if d.kind == "fragment_definition"}
    operation = next(d for d in parse(query).definitions if d.kind == "operation_definition")
    return limits._selection_set(operation.selection_set, fragments, {}, set(), 0, 0)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("query", "expected"), [
    ("{ a }", Measure(0, 0, 1)),
    ("{ contacts { edges { node { company { name } } } } }", Measure(4, 0, 5)),
    ("{ x: a y: a { z: b } }", Measure(1, 3, 3)),
    # A fragment counts as often as it is spread, and adds depth where it is spread.
    ("{ a { ...F } b { c { ...F } } } fragment F on T { p: d { e } }", Measure(3, 2, 7)),
    ("{ ... on Query { a { b } } }", Measure(1, 0, 2)),
    ("{ ...F0 } fragment F0 on Q { ...F1 ...F1 } fragment F1 on Q { a }", Measure(0, 0, 2)),
])
def test_measures_count_fragments_where_they_are_spread(query: str, expected: Measure) -> None:
    assert measure(query) == expected


def test_an_exponential_fragment_chain_is_measured_in_linear_time() -> None:
    assert measure(fragment_bomb(60)).fields == 2**60  # would never finish if expanded


def test_each_limit_is_reported_with_its_reason() -> None:
    def reason(query: str) -> str | None:
        error = LIMITS.check(parse(query))
        return None if error is None else error.message

    assert reason("{ contacts { edges { node { company { name } } } } }") is None
    assert "deeper than 4" in (reason("{ a { b { c { d { e { f } } } } } }") or "")
    assert "deeper than 4" in (reason(
        "{ a { ...F } } fragment F on T { b { c { d { e { f } } } } }") or "")
    assert "aliases" in (reason("{ " + " ".join(f"a{i}: x" for i in range(31)) + " }") or "")
    assert "fields" in (reason(fragment_bomb(12)) or "")
    many = " ".join(f"fragment G{i} on Query {{ a }}" for i in range(101))
    assert "fragments" in (reason("{ a } " + many) or "")


def test_a_fragment_bomb_is_refused_before_validation_even_anonymously(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant: TenantData = tenants.make()
    for key in (None, tenant.keys["viewer"]):
        error = gql.error(fragment_bomb(40), key=key)
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert "fields" in error["message"]


def test_introspection_adds_no_depth_as_graphiql_and_codegen_need(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    key = tenants.make().keys["viewer"]
    full = get_introspection_query(descriptions=True, specified_by_url=True,
                                   directive_is_repeatable=True, schema_description=True,
                                   input_value_deprecation=True)
    schema = gql.data(full, key=key)["__schema"]  # 14 levels deep; the tests allow 4
    assert any(t["name"] == "Contact" for t in schema["types"])
    # Real depth beside it still counts.
    deep = ("{ __schema { types { name } } contacts { edges { node { company { owner { id } } } }"
            " } }")
    assert gql.error(deep, key=key)["extensions"]["code"] == "QUERY_TOO_COMPLEX"


def test_nesting_is_bounded_inside_introspection_too() -> None:
    query = "{ __schema { types { " + "ofType { " * 70 + "name" + " }" * 70 + " } } }"
    error = LIMITS.check(parse(query))
    assert error is not None and "deeper" in error.message
