"""Several phones and emails per customer, structured addresses and China's divisions, over
HTTP: writes, primary switching, the mirrored `phone` / `email`, validation with field paths,
hostile input, search by a point that is not the primary, tenants, roles, audit rows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory

POINTS = """
  id phone email
  phones { number formatted label primary }
  emails { email label primary }
  address { country province provinceCode city cityCode district districtCode street
            postalCode latitude longitude }
"""
CREATE = f"mutation($input: ContactInput!) {{ createContact(input: $input) {{ {POINTS} }} }}"
UPDATE = ("mutation($id: ID!, $input: ContactInput!) "
          f"{{ updateContact(id: $id, input: $input) {{ {POINTS} }} }}")
GET = f"query($id: ID!) {{ contact(id: $id) {{ {POINTS} }} }}"
CREATE_COMPANY = (f"mutation($input: CompanyInput!) {{ createCompany(input: $input) "
                  f"{{ {POINTS} }} }}")
LIST = """query($filter: CustomerFilter) {
  contacts(first: 50, filter: $filter) { nodes { id name phone phones { number primary } } }
}"""
SEARCH = """query($q: String!) {
  customerSearch(query: $q) { edges { matchedOn match node { id name } } }
}"""
DIVISIONS = """query($parent: String) {
  divisions(parentCode: $parent) { code name nameEn level parentCode hasChildren }
}"""
AUDIT = """query($filter: AuditFilter) {
  auditLog(first: 10, filter: $filter) { nodes { action before after } }
}"""


@pytest.fixture
def tenant(tenants: TenantFactory) -> TenantData:
    return tenants.make()


def _create(gql: GraphQLClient, key: str, **fields: Any) -> dict[str, Any]:
    return gql.data(CREATE, {"input": {"name": "李娜", **fields}}, key=key)[  # type: ignore
        "createContact"]


def _fields(error: dict[str, Any]) -> dict[str, str]:
    assert error["extensions"]["code"] == "VALIDATION", error
    return {f["field"]: f["code"] for f in error["extensions"]["fields"]}


def test_several_phones_and_emails_with_labels_one_primary_mirrored(
        gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["admin"]
    contact = _create(gql, key, phones=[
        {"number": "138 0013 8000", "label": "MOBILE"},
        {"number": "010-12345678", "label": "WORK", "primary": True},   # Beijing landline
        {"number": "0755 1234 5678"},                                    # Shenzhen, no label
        {"number": "+1 650 253 0000", "label": "HOME"},                  # abroad
    ], emails=[{"email": "Li.Na@Example.COM", "label": "WORK"},
               {"email": "lina@home.cn", "label": "HOME"}])
    assert contact["phones"] == [
        {"number": "+8613800138000", "formatted": "138 0013 8000", "label": "MOBILE",
         "primary": False},
        {"number": "+861012345678", "formatted": "010 1234 5678", "label": "WORK",
         "primary": True},
        {"number": "+8675512345678", "formatted": "0755 1234 5678", "label": "WORK",
         "primary": False},
        {"number": "+16502530000", "formatted": "+1 650-253-0000", "label": "HOME",
         "primary": False}]
    assert contact["phone"] == "+861012345678"  # the primary, in the column lists sort by
    assert contact["emails"] == [{"email": "li.na@example.com", "label": "WORK", "primary": True},
                                 {"email": "lina@home.cn", "label": "HOME", "primary": False}]
    assert contact["email"] == "li.na@example.com"  # none marked: the first is primary

    # Switching the primary moves the mirror in the same write.
    switched = gql.data(UPDATE, {"id": contact["id"], "input": {"phones": [
        {"number": "13800138000", "label": "MOBILE", "primary": True},
        {"number": "010-12345678", "label": "WORK"}]}}, key=key)["updateContact"]
    assert switched["phone"] == "+8613800138000"
    assert [p["number"] for p in switched["phones"]] == ["+8613800138000", "+861012345678"]
    assert switched["emails"] == contact["emails"]  # not sent: left alone

    # `phone` alone: a number held becomes primary; another replaces the primary's number.
    again = gql.data(UPDATE, {"id": contact["id"], "input": {"phone": "01012345678"}},
                     key=key)["updateContact"]
    assert again["phone"] == "+861012345678"
    assert [(p["number"], p["primary"]) for p in again["phones"]] == [
        ("+8613800138000", False), ("+861012345678", True)]
    replaced = gql.data(UPDATE, {"id": contact["id"], "input": {"phone": "13900139000"}},
                        key=key)["updateContact"]
    assert [(p["number"], p["primary"]) for p in replaced["phones"]] == [
        ("+8613800138000", False), ("+8613900139000", True)]
    # null removes the primary; the next point takes its place.
    cleared = gql.data(UPDATE, {"id": contact["id"], "input": {"phone": None}},
                       key=key)["updateContact"]
    assert cleared["phone"] == "+8613800138000"
    assert cleared["phones"] == [{"number": "+8613800138000", "formatted": "138 0013 8000",
                                  "label": "MOBILE", "primary": True}]
    emptied = gql.data(UPDATE, {"id": contact["id"], "input": {"emails": []}},
                       key=key)["updateContact"]
    assert emptied["emails"] == [] and emptied["email"] is None

    # The list keeps showing the primary, and the points read back as written.
    nodes = gql.data(LIST, {}, key=key)["contacts"]["nodes"]
    assert [(n["phone"], len(n["phones"])) for n in nodes] == [("+8613800138000", 1)]
    assert gql.data(GET, {"id": contact["id"]}, key=key)["contact"] == emptied


def test_each_write_of_points_is_audited_with_before_and_after(
        gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["admin"]
    contact = _create(gql, key, phones=[{"number": "13800138000"}])
    gql.data(UPDATE, {"id": contact["id"], "input": {"phones": [
        {"number": "13800138000"}, {"number": "13900139000", "primary": True}]}}, key=key)
    rows = gql.data(AUDIT, {"filter": {"entityId": contact["id"]}}, key=key)["auditLog"]["nodes"]
    update = next(r for r in rows if r["action"] == "updated")
    assert update["before"]["phone"] == "+8613800138000"
    assert update["after"]["phone"] == "+8613900139000"
    assert update["before"]["phones"] == [
        {"number": "+8613800138000", "label": "MOBILE", "primary": True}]
    assert update["after"]["phones"] == [
        {"number": "+8613800138000", "label": "MOBILE", "primary": False},
        {"number": "+8613900139000", "label": "MOBILE", "primary": True}]
    # Sending the same points again changes nothing and writes no audit row.
    gql.data(UPDATE, {"id": contact["id"], "input": {"phones": [
        {"number": "138 0013 8000"}, {"number": "139 0013 9000", "primary": True}]}}, key=key)
    rows = gql.data(AUDIT, {"filter": {"entityId": contact["id"]}}, key=key)["auditLog"]["nodes"]
    assert [r["action"] for r in rows].count("updated") == 1


def test_invalid_points_are_refused_with_the_field_path_of_each(
        gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["admin"]
    error = gql.error(CREATE, {"input": {"name": "王强", "phones": [
        {"number": "13800138000"},
        {"number": "1380013800"},            # a digit short: not a mainland mobile
        {"number": "87654321"},              # a landline without its area code
        {"number": "+86 138 0013 8000"},     # the first again, written otherwise
        {"number": "13900139000", "primary": True},
        {"number": "13700137000", "primary": True},   # a second primary
    ], "emails": [{"email": "a@example.com"}, {"email": "A@EXAMPLE.COM"},
                  {"email": "not an email"}]}}, key=tenant.keys["admin"])
    assert _fields(error) == {
        "phones.1.number": "invalid_phone", "phones.2.number": "needs_area_code",
        "phones.3.number": "duplicate", "phones.5.primary": "invalid",
        "emails.1.email": "duplicate", "emails.2.email": "invalid_email"}
    messages = {f["field"]: f["message"] for f in error["extensions"]["fields"]}
    assert "area code" in messages["phones.2.number"]
    # Both forms of one kind at once are refused; nothing was written.
    error = gql.error(CREATE, {"input": {"name": "王强", "phone": "13800138000",
                                         "phones": [{"number": "13900139000"}]}}, key=key)
    assert _fields(error) == {"phone": "invalid"}
    assert gql.data(LIST, {}, key=key)["contacts"]["nodes"] == []


@pytest.mark.parametrize(("phones", "code"), [
    ([{"number": "1380013\x008000"}], "VALIDATION"),   # NUL inside: refused before resolving
    ([{"number": "x" * 10_000}], "VALIDATION"),
    ([{"number": "13800138000", "label": "BOSS"}], "GRAPHQL_VALIDATION_FAILED"),  # not a label
    ([{"label": "MOBILE"}], "GRAPHQL_VALIDATION_FAILED"),                         # no number
    ("13800138000", "GRAPHQL_VALIDATION_FAILED"),              # a string for a list of objects
    ([["13800138000"]], "GRAPHQL_VALIDATION_FAILED"),
    ([{"number": {"$gt": ""}}], "GRAPHQL_VALIDATION_FAILED"),
])
def test_hostile_and_misshapen_points_are_client_errors(
        gql: GraphQLClient, tenant: TenantData, phones: Any, code: str) -> None:
    response = gql.post(CREATE, {"input": {"name": "王强", "phones": phones}},
                        key=tenant.keys["admin"])
    assert response.status_code in (200, 400), response.text
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == [code], body
    assert not (body.get("data") or {}).get("createContact")
    assert gql.data(LIST, {}, key=tenant.keys["admin"])["contacts"]["nodes"] == []


def test_ten_thousand_phones_are_refused_not_stored(gql: GraphQLClient,
                                                   tenant: TenantData) -> None:
    response = gql.post(CREATE, {"input": {"name": "王强", "phones": [
        {"number": f"+86138{i:08d}"} for i in range(10_000)]}}, key=tenant.keys["admin"])
    assert response.status_code == 200, response.text
    assert _fields(response.json()["errors"][0]) == {"phones": "too_many"}
    assert gql.data(LIST, {}, key=tenant.keys["admin"])["contacts"]["nodes"] == []


def test_structured_address_names_come_from_the_codes(gql: GraphQLClient,
                                                      tenant: TenantData) -> None:
    key = tenant.keys["admin"]
    contact = _create(gql, key, address={
        "provinceCode": "440000", "cityCode": "440300", "districtCode": "440305",
        "province": "typed by hand", "street": "科技园南区高新南一道 8 号",
        "postalCode": "518057", "latitude": 22.5405, "longitude": 113.9345})
    assert contact["address"] == {
        "country": "CN", "province": "广东省", "provinceCode": "440000", "city": "深圳市",
        "cityCode": "440300", "district": "南山区", "districtCode": "440305",
        "street": "科技园南区高新南一道 8 号", "postalCode": "518057", "latitude": 22.5405,
        "longitude": 113.9345}
    # The district alone: the city and province are filled in from it.
    moved = gql.data(UPDATE, {"id": contact["id"], "input": {"address": {
        "provinceCode": None, "cityCode": None, "districtCode": "110105",
        "postalCode": "100020"}}}, key=key)["updateContact"]["address"]
    assert (moved["province"], moved["city"], moved["district"]) == ("北京市", "北京市",
                                                                      "朝阳区")
    # Abroad: the country and free lines, no codes.
    abroad = gql.data(UPDATE, {"id": contact["id"], "input": {"address": {
        "country": "US", "provinceCode": None, "cityCode": None, "districtCode": None,
        "province": "CA", "city": "Mountain View", "district": None,
        "street": "1600 Amphitheatre Pkwy", "postalCode": "94043",
        "latitude": None, "longitude": None}}}, key=key)["updateContact"]["address"]
    assert abroad == {"country": "US", "province": "CA", "provinceCode": None,
                      "city": "Mountain View", "cityCode": None, "district": None,
                      "districtCode": None, "street": "1600 Amphitheatre Pkwy",
                      "postalCode": "94043", "latitude": None, "longitude": None}


@pytest.mark.parametrize(("address", "fields"), [
    ({"provinceCode": "440000", "cityCode": "440300", "districtCode": "110105"},
     {"address.districtCode": "mismatch"}),                       # 朝阳区 is not in 深圳市
    ({"provinceCode": "320000", "cityCode": "440300"}, {"address.cityCode": "mismatch"}),
    ({"provinceCode": "320000", "districtCode": "440305"}, {"address.districtCode": "mismatch"}),
    ({"provinceCode": "440300"}, {"address.provinceCode": "not_found"}),   # a city
    ({"districtCode": "999999"}, {"address.districtCode": "not_found"}),
    ({"districtCode": "44'; --"}, {"address.districtCode": "not_found"}),
    ({"country": "US", "provinceCode": "440000"}, {"address.country": "invalid"}),
    ({"country": "USA"}, {"address.country": "invalid"}),
    ({"country": "C1"}, {"address.country": "invalid"}),
    ({"postalCode": "51805"}, {"address.postalCode": "invalid"}),
    ({"street": "x", "latitude": 91, "longitude": 0}, {"address.latitude": "out_of_range"}),
    ({"street": "x", "latitude": 0, "longitude": -180.5},
     {"address.longitude": "out_of_range"}),
    ({"street": "x", "latitude": 30}, {"address.longitude": "required"}),
])
def test_bad_addresses_are_refused_on_their_field(gql: GraphQLClient, tenant: TenantData,
                                                  address: dict[str, Any],
                                                  fields: dict[str, str]) -> None:
    error = gql.error(CREATE, {"input": {"name": "王强", "address": address}},
                      key=tenant.keys["admin"])
    assert _fields(error) == fields


def test_an_old_address_with_names_only_still_reads(gql: GraphQLClient, tenant: TenantData
                                                    ) -> None:
    contact = _create(gql, tenant.keys["admin"], address={
        "country": "CN", "province": "广东省", "city": "深圳市", "district": "南山区"})
    assert contact["address"]["province"] == "广东省"
    assert contact["address"]["provinceCode"] is None


def test_divisions_one_level_at_a_time(gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["viewer"]  # reference data: anyone signed in
    provinces = gql.data(DIVISIONS, {}, key=key)["divisions"]
    assert len(provinces) == 34
    guangdong = next(p for p in provinces if p["code"] == "440000")
    assert guangdong == {"code": "440000", "name": "广东省", "nameEn": "Guangdong",
                         "level": "PROVINCE", "parentCode": None, "hasChildren": True}
    cities = gql.data(DIVISIONS, {"parent": "440000"}, key=key)["divisions"]
    assert {"code": "440300", "name": "深圳市", "nameEn": "Shenzhen", "level": "CITY",
            "parentCode": "440000", "hasChildren": True} in cities
    districts = gql.data(DIVISIONS, {"parent": "440300"}, key=key)["divisions"]
    assert {"code": "440305", "name": "南山区", "nameEn": "Nanshan", "level": "DISTRICT",
            "parentCode": "440300", "hasChildren": False} in districts
    # A municipality is its own city.
    assert [c["name"] for c in gql.data(DIVISIONS, {"parent": "110000"}, key=key)[
        "divisions"]] == ["北京市"]
    assert gql.data(DIVISIONS, {"parent": "440305"}, key=key)["divisions"] == []
    assert _fields(gql.error(DIVISIONS, {"parent": "nope"}, key=key)) == {
        "parentCode": "not_found"}
    assert gql.error(DIVISIONS, {})["extensions"]["code"] == "UNAUTHENTICATED"


def test_search_finds_a_contact_by_a_phone_or_email_that_is_not_the_primary(
        gql: GraphQLClient, tenant: TenantData) -> None:
    key = tenant.keys["admin"]
    contact = _create(gql, key, phones=[{"number": "13800138000", "primary": True},
                                        {"number": "0755-8765 4321"}],
                      emails=[{"email": "main@example.cn"}, {"email": "side.door@corp.cn"}])
    _create(gql, key, name="张伟", phone="13900139000")
    for term, field in (("0755-87654321", "PHONE"), ("87654321", "PHONE"),
                        ("+8675587654321", "PHONE"), ("side.door", "EMAIL"),
                        ("corp.cn", "EMAIL")):
        edges = gql.data(SEARCH, {"q": term}, key=key)["customerSearch"]["edges"]
        assert [e["node"]["id"] for e in edges] == [contact["id"]], term
        assert (edges[0]["matchedOn"], edges[0]["match"]) == (field, "SUBSTRING"), term
    found = gql.data(LIST, {"filter": {"search": "8765 4321"}}, key=key)["contacts"]["nodes"]
    assert [n["id"] for n in found] == [contact["id"]]
    # Replaced points are no longer found.
    gql.data(UPDATE, {"id": contact["id"], "input": {"phones": [{"number": "13800138000"}]}},
             key=key)
    assert gql.data(SEARCH, {"q": "87654321"}, key=key)["customerSearch"]["edges"] == []


def test_another_tenant_sees_no_points_and_a_viewer_cannot_write_them(
        gql: GraphQLClient, tenants: TenantFactory) -> None:
    ours, theirs = tenants.make(), tenants.make()
    contact = _create(gql, ours.keys["admin"], phones=[{"number": "13800138000"},
                                                        {"number": "13900139000"}])
    other = theirs.keys["admin"]
    assert gql.error(GET, {"id": contact["id"]}, key=other)["extensions"]["code"] == "NOT_FOUND"
    assert gql.data(SEARCH, {"q": "13900139000"}, key=other)["customerSearch"]["edges"] == []
    error = gql.error(UPDATE, {"id": contact["id"], "input": {"phones": []}}, key=other)
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = gql.error(UPDATE, {"id": contact["id"], "input": {"phones": [
        {"number": "13700137000"}]}}, key=ours.keys["viewer"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    phones = gql.data(GET, {"id": contact["id"]}, key=ours.keys["viewer"])["contact"]["phones"]
    assert [p["number"] for p in phones] == ["+8613800138000", "+8613900139000"]


def test_companies_have_the_same_points(gql: GraphQLClient, tenant: TenantData) -> None:
    company = gql.data(CREATE_COMPANY, {"input": {
        "name": "深圳前海科技有限公司",
        "phones": [{"number": "0755-2345 6789", "label": "WORK"},
                   {"number": "400 810 8888", "label": "OTHER", "primary": True}],
        "emails": [{"email": "info@qianhai.cn"}],
        "address": {"districtCode": "440305", "street": "前海大道 1 号"}}},
        key=tenant.keys["admin"])["createCompany"]
    assert company["phone"] == "+864008108888"
    assert [p["label"] for p in company["phones"]] == ["WORK", "OTHER"]
    assert company["address"]["city"] == "深圳市"


def test_a_contact_written_before_points_reads_its_columns_as_its_points(
        gql: GraphQLClient, tenant: TenantData, owner_conn: Any) -> None:
    contact = _create(gql, tenant.keys["admin"], phone="13800138000",
                      email="old@example.cn")
    # As a row written before migration 0012 (or by a path that set only the columns).
    owner_conn.execute("update contacts set phones = null, emails = null "
                       "where tenant_id = %s", (tenant.id,))
    owner_conn.commit()
    fetched = gql.data(GET, {"id": contact["id"]}, key=tenant.keys["admin"])["contact"]
    assert fetched["phones"] == [{"number": "+8613800138000", "formatted": "138 0013 8000",
                                  "label": "MOBILE", "primary": True}]
    assert fetched["emails"] == [{"email": "old@example.cn", "label": "WORK", "primary": True}]
    # Adding a second phone keeps the first.
    updated = gql.data(UPDATE, {"id": contact["id"], "input": {"phones": [
        *({"number": p["number"], "label": p["label"], "primary": p["primary"]}
          for p in fetched["phones"]), {"number": "13900139000"}]}},
        key=tenant.keys["admin"])["updateContact"]
    assert [p["number"] for p in updated["phones"]] == ["+8613800138000", "+8613900139000"]


@pytest.mark.parametrize("coordinate", [float("nan"), float("inf"), "22.5", True])
def test_coordinates_that_are_not_finite_numbers_are_client_errors(
        gql: GraphQLClient, tenant: TenantData, coordinate: Any) -> None:
    # As a client that writes NaN and Infinity into its JSON would (Python's json reads them).
    body = json.dumps({"query": CREATE, "variables": {"input": {"name": "王强", "address": {
        "street": "x", "latitude": coordinate, "longitude": 113.9}}}})
    response = gql.http.post("/graphql", content=body, headers={
        "Authorization": f"Bearer {tenant.keys['admin']}", "Content-Type": "application/json"})
    assert response.status_code in (200, 400), response.text
    codes = {e["extensions"]["code"] for e in response.json()["errors"]}
    assert codes <= {"VALIDATION", "GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST"}, codes
    assert gql.data(LIST, {}, key=tenant.keys["admin"])["contacts"]["nodes"] == []


def test_a_sales_user_finds_only_their_own_customers_by_a_secondary_point(
        gql: GraphQLClient, tenants: TenantFactory, live_server: LiveServer) -> None:
    tenant = tenants.make(members={"ann": "sales", "bo": "sales"})
    ann, bo = (login(live_server, gql, tenant.members[n].email, PASSWORD) for n in ("ann", "bo"))
    mine = gql.data(CREATE, {"input": {"name": "安的客户", "phones": [
        {"number": "13800138000"}, {"number": "020-8888 6666"}]}}, client=ann)["createContact"]
    found = gql.data(SEARCH, {"q": "88886666"}, client=ann)["customerSearch"]["edges"]
    assert [e["node"]["id"] for e in found] == [mine["id"]]
    assert gql.data(SEARCH, {"q": "88886666"}, client=bo)["customerSearch"]["edges"] == []
    assert gql.data(LIST, {"filter": {"search": "88886666"}}, client=bo)["contacts"][
        "nodes"] == []
    error = gql.error(UPDATE, {"id": mine["id"], "input": {"phones": []}}, client=bo)
    assert error["extensions"]["code"] == "NOT_FOUND"
