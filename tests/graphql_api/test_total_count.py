"""`totalCount` on every connection that offers it: the rows the caller's list would walk, under
the list's filters and its tenant only."""

from __future__ import annotations

from tests.conftest import GraphQLClient
from tests.factories import TenantFactory

CREATE = 'mutation($n: String!) { createCompany(input: {name: $n}) { id } }'
COUNTS = """{
  members(first: 1) { totalCount nodes { role } }
  apiKeys(first: 1) { totalCount }
  auditLog(first: 1) { totalCount }
  companiesCreated: auditLog(first: 1, filter: {entityType: "company", action: "created"}) {
    totalCount }
  events(first: 1) { totalCount }
  companyEvents: events(first: 1, type: "company.created") { totalCount }
}"""


def test_total_count_works_on_every_list_with_its_filters_and_tenant(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant = tenants.make(members={"ann": "sales", "bob": "viewer"})
    other = tenants.make(members={"eve": "sales"})
    for name in ("甲", "乙", "丙"):
        gql.data(CREATE, {"n": name}, key=tenant.keys["owner"])
    gql.data(CREATE, {"n": "别家"}, key=other.keys["owner"])
    gql.data('mutation { createApiKey(name: "extra", role: "viewer") { secret } }',
             key=other.keys["owner"])

    counts = gql.data(COUNTS, key=tenant.keys["owner"])
    mine = gql.data("""{ auditLog(first: 100) { nodes { id } }
                       events(first: 100) { nodes { id } } }""", key=tenant.keys["owner"])
    assert counts["members"]["totalCount"] == 3  # owner, ann, bob
    assert counts["apiKeys"]["totalCount"] == 4  # one per role but sales
    assert counts["auditLog"]["totalCount"] == len(mine["auditLog"]["nodes"])
    assert counts["companiesCreated"]["totalCount"] == 3
    assert counts["events"]["totalCount"] == len(mine["events"]["nodes"])
    assert counts["companyEvents"]["totalCount"] == 3

    theirs = gql.data(COUNTS, key=other.keys["owner"])
    assert theirs["members"]["totalCount"] == 2
    assert theirs["apiKeys"]["totalCount"] == 5
    assert theirs["companiesCreated"]["totalCount"] == 1
    assert theirs["companyEvents"]["totalCount"] == 1
