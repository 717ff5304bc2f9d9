"""Search finds a phone number however it was typed, as input normalises it (in the tenant's
region), and still finds names and emails."""

from __future__ import annotations

import pytest

from tests.conftest import GraphQLClient
from tests.factories import TenantFactory

SEARCH = """query($q: String) {
  contacts(filter: {search: $q}) { nodes { name } }
  companies(filter: {search: $q}) { nodes { name } }
}"""


@pytest.mark.parametrize("term", ["010-6552 9988", "01065529988", "65529988", "6552 9988",
                                  "+86 10 6552 9988", "(010) 6552-9988", "010-6552",
                                  "０１０-６５５２９９８８"])
def test_a_landline_is_found_as_typed(gql: GraphQLClient, tenants: TenantFactory,
                                      term: str) -> None:
    tenant = tenants.make()
    key = tenant.keys["admin"]
    gql.data('mutation { createContact(input: {name: "王府井店", phone: "010-6552 9988"}) '
             "{ id } }", key=key)
    gql.data('mutation { createCompany(input: {name: "北京分公司", phone: "010-6552 9988"}) '
             "{ id } }", key=key)
    gql.data('mutation { createContact(input: {name: "别人", phone: "13800138000"}) { id } }',
             key=key)
    found = gql.data(SEARCH, {"q": term}, key=key)
    assert found == {"contacts": {"nodes": [{"name": "王府井店"}]},
                     "companies": {"nodes": [{"name": "北京分公司"}]}}


def test_the_tenants_region_reads_a_number_without_country_code(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant = tenants.make(region="US")
    key = tenant.keys["admin"]
    gql.data('mutation { createContact(input: {name: "Ann", phone: "(201) 555-0123"}) '
             "{ id } }", key=key)
    for term in ("201-555-0123", "2015550123", "+1 201 555 0123", "555-0123"):
        assert gql.data(SEARCH, {"q": term}, key=key)["contacts"] == {
            "nodes": [{"name": "Ann"}]}, term


def test_names_and_emails_with_digits_are_still_found(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant = tenants.make()
    key = tenant.keys["admin"]
    gql.data('mutation { createContact(input: {name: "Agent 007", email: "bond007@mi6.uk"}) '
             "{ id } }", key=key)
    gql.data('mutation { createContact(input: {name: "诸葛亮", phone: "13700000001"}) '
             "{ id } }", key=key)
    for term, name in [("007", "Agent 007"), ("BOND007", "Agent 007"), ("诸葛", "诸葛亮"),
                       ("137 0000 0001", "诸葛亮"), ("+8613700000001", "诸葛亮")]:
        assert gql.data(SEARCH, {"q": term}, key=key)["contacts"] == {
            "nodes": [{"name": name}]}, term
