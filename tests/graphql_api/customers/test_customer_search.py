"""customerSearch over HTTP: contacts and companies in one ranked list, found by part of a
name (Chinese from one character), email, phone or company name, and by typo'd spellings;
under the record rule, tenant isolation, permissions, page limits; hostile input refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient, LiveServer, login
from tests.factories import PASSWORD, TenantData, TenantFactory

SEARCH = """query($q: String!, $first: Int, $after: String) {
  customerSearch(query: $q, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor matchedOn match node { __typename id name } }
  }
}"""
CONTACT = """mutation($input: ContactInput!) { createContact(input: $input) { id } }"""
COMPANY = """mutation($input: CompanyInput!) { createCompany(input: $input) { id } }"""


def _search(gql: GraphQLClient, key: str | None, q: str, first: int | None = None,
            after: str | None = None, client: Any = None) -> dict[str, Any]:
    return gql.data(SEARCH, {"q": q, "first": first, "after": after}, key=key,
                    client=client)["customerSearch"]  # type: ignore[no-any-return]


def _names(result: dict[str, Any]) -> list[str]:
    return [e["node"]["name"] for e in result["edges"]]


@pytest.fixture(scope="module")
def book(tenants: TenantFactory, gql: GraphQLClient) -> TenantData:
    """One tenant's customers, shared by the read-only tests below."""
    tenant = tenants.make(members={"ann": "sales", "bo": "sales"})
    key = tenant.keys["admin"]

    def company(name: str, **fields: Any) -> str:
        return gql.data(COMPANY, {"input": {"name": name, **fields}}, key=key)[
            "createCompany"]["id"]  # type: ignore[no-any-return]

    def contact(name: str, **fields: Any) -> str:
        return gql.data(CONTACT, {"input": {"name": name, **fields}}, key=key)[
            "createContact"]["id"]  # type: ignore[no-any-return]

    bj = company("北京科技有限公司", email="info@bjtech.cn")
    company("上海贸易有限公司")
    company("Acme Trading", phone="+1 201 555 0123")
    contact("张伟", email="zhangwei@example.cn", phone="13800138000", companyId=bj)
    contact("张伟明", phone="13900139000")
    contact("王张", email="wz@example.cn")
    contact("李娜", companyId=bj)
    contact("John Smith", email="john.smith@acme.com")
    contact("Johnny Walker")
    contact("Michael Johnson", email="mj@example.com")
    contact("50% 折扣_客户")
    return tenant


def test_one_chinese_character_finds_names_starting_with_it_first(
    gql: GraphQLClient, book: TenantData
) -> None:
    found = _search(gql, book.keys["viewer"], "张")

    assert _names(found) == ["张伟", "张伟明", "王张"]
    assert [(e["match"], e["matchedOn"]) for e in found["edges"]] == [
        ("PREFIX", "NAME"), ("PREFIX", "NAME"), ("SUBSTRING", "NAME")]
    assert found["totalCount"] == 3


def test_an_exact_name_comes_before_longer_names(gql: GraphQLClient, book: TenantData) -> None:
    found = _search(gql, book.keys["viewer"], "张伟")

    assert _names(found) == ["张伟", "张伟明"]
    assert found["edges"][0]["match"] == "EXACT"


def test_a_company_fragment_finds_the_company_then_its_contacts(
    gql: GraphQLClient, book: TenantData
) -> None:
    found = _search(gql, book.keys["viewer"], "科技")

    assert [(e["node"]["__typename"], e["node"]["name"], e["matchedOn"])
            for e in found["edges"]] == [
        ("Company", "北京科技有限公司", "NAME"),
        ("Contact", "张伟", "COMPANY"), ("Contact", "李娜", "COMPANY")]
    assert _names(_search(gql, book.keys["viewer"], "北京科技"))[0] == "北京科技有限公司"


@pytest.mark.parametrize(("term", "first", "field"), [
    ("zhangwei@", "张伟", "EMAIL"),        # an email's start
    ("ZHANGWEI@EXAMPLE.CN", "张伟", "EMAIL"),  # whatever its case, exact
    ("138 0013", "张伟", "PHONE"),         # part of a mobile number, as typed
    ("13900139000", "张伟明", "PHONE"),     # the whole number without +86
    ("555-0123", "Acme Trading", "PHONE"),  # another country's number
    ("smith", "John Smith", "NAME"),        # a word of an English name
])
def test_emails_and_phones_are_found_as_typed(gql: GraphQLClient, book: TenantData, term: str,
                                              first: str, field: str) -> None:
    found = _search(gql, book.keys["viewer"], term)

    assert found["edges"][0]["node"]["name"] == first
    assert found["edges"][0]["matchedOn"] == field


@pytest.mark.parametrize(("typo", "meant"), [("Jonh Smith", "John Smith"),
                                             ("Micheal Johnson", "Michael Johnson"),
                                             ("smtih", "John Smith")])
def test_a_typo_finds_the_name_meant(gql: GraphQLClient, book: TenantData, typo: str,
                                     meant: str) -> None:
    found = _search(gql, book.keys["viewer"], typo)

    assert found["edges"][0]["node"]["name"] == meant
    assert found["edges"][0]["match"] == "SIMILAR"


def test_exact_and_prefix_matches_come_before_similar_ones(
    gql: GraphQLClient, book: TenantData
) -> None:
    found = _search(gql, book.keys["viewer"], "john")
    matches = [e["match"] for e in found["edges"]]

    # John Smith and Johnny Walker start with it; Michael Johnson has a word starting with it;
    # mj@example.com is not found (no "john" in it, and similar spellings rank after).
    assert _names(found)[:3] == ["John Smith", "Johnny Walker", "Michael Johnson"]
    assert matches == sorted(matches, key=["EXACT", "PREFIX", "SUBSTRING", "SIMILAR"].index)


def test_wildcards_match_themselves(gql: GraphQLClient, book: TenantData) -> None:
    assert _names(_search(gql, book.keys["viewer"], "%")) == ["50% 折扣_客户"]
    assert _names(_search(gql, book.keys["viewer"], "_客")) == ["50% 折扣_客户"]
    assert _names(_search(gql, book.keys["viewer"], "50%")) == ["50% 折扣_客户"]
    assert _search(gql, book.keys["viewer"], "%%%")["edges"] == []


def test_pages_walk_every_result_once_in_rank_order(gql: GraphQLClient,
                                                    book: TenantData) -> None:
    key = book.keys["viewer"]
    everything = _names(_search(gql, key, "n", first=100))
    seen: list[str] = []
    after = None
    while True:
        page = _search(gql, key, "n", first=2, after=after)
        seen += _names(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert len(everything) > 4
    assert seen == everything


def test_a_sales_user_finds_only_their_own_customers(
    gql: GraphQLClient, tenants: TenantFactory, live_server: LiveServer
) -> None:
    tenant = tenants.make(members={"ann": "sales", "bo": "sales"})
    ann, bo = (login(live_server, gql, tenant.members[n].email, PASSWORD) for n in ("ann", "bo"))
    gql.data(CONTACT, {"input": {"name": "张三丰"}}, client=ann)
    gql.data(CONTACT, {"input": {"name": "张无忌"}}, client=bo)
    gql.data(COMPANY, {"input": {"name": "武当派有限公司"}}, client=bo)

    assert _names(_search(gql, None, "张", client=ann)) == ["张三丰"]
    assert _names(_search(gql, None, "张", client=bo)) == ["张无忌"]
    assert _search(gql, None, "武当", client=ann)["totalCount"] == 0
    assert _names(_search(gql, tenant.keys["manager"], "张")) == ["张三丰", "张无忌"]


def test_deleted_customers_are_not_found(gql: GraphQLClient, tenants: TenantFactory) -> None:
    tenant = tenants.make()
    key = tenant.keys["admin"]
    gone = gql.data(CONTACT, {"input": {"name": "赵六"}}, key=key)["createContact"]["id"]
    gql.data("mutation($id: ID!) { deleteContact(id: $id) { id } }", {"id": gone}, key=key)

    assert _search(gql, key, "赵")["edges"] == []


def test_another_tenants_customers_are_never_found(
    gql: GraphQLClient, tenants: TenantFactory, book: TenantData
) -> None:
    other = tenants.make()
    gql.data(CONTACT, {"input": {"name": "张伟"}}, key=other.keys["admin"])

    found = _search(gql, other.keys["admin"], "张")

    assert _names(found) == ["张伟"]  # its own, not book's three
    assert found["totalCount"] == 1


def test_anonymous_callers_are_refused(gql: GraphQLClient) -> None:
    error = gql.error(SEARCH, {"q": "张"})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(("q", "code"), [
    ("", "VALIDATION"), ("   ", "VALIDATION"), ("x" * 10_000, "VALIDATION"),
    ("张\u202e伟", "VALIDATION"), ("a\x07b", "VALIDATION"), ("a\x00b", "VALIDATION"),
])
def test_hostile_queries_are_refused(gql: GraphQLClient, book: TenantData, q: str,
                                     code: str) -> None:
    error = gql.error(SEARCH, {"q": q}, key=book.keys["viewer"])
    assert error["extensions"]["code"] == code


@pytest.mark.parametrize("q", ["\u200b张", "𠮷野家", "ｚｈａｎｇ", "é", "🙂", "'; drop table x;--",
                               "\\", "\\%", "a" * 100, "张" * 100, "ﷺ", "\u0301"])
def test_odd_unicode_and_sql_are_answered(gql: GraphQLClient, book: TenantData,
                                          q: str) -> None:
    found = _search(gql, book.keys["viewer"], q)
    assert isinstance(found["totalCount"], int)


def test_page_size_and_cursors_are_checked(gql: GraphQLClient, book: TenantData) -> None:
    key = book.keys["viewer"]
    assert gql.error(SEARCH, {"q": "张", "first": 101}, key=key)["extensions"]["code"] == (
        "BAD_REQUEST")
    assert gql.error(SEARCH, {"q": "张", "after": "bm90IGEgY3Vyc29y"}, key=key)[
        "extensions"]["code"] == "BAD_REQUEST"
    assert _search(gql, key, "张", first=0)["edges"] == []


LIST_SEARCH = """query($q: String) {
  contacts(filter: {search: $q}) { nodes { name } }
  companies(filter: {search: $q}) { nodes { name } }
}"""


def test_the_lists_search_filter_finds_the_same_fragments(gql: GraphQLClient,
                                                          book: TenantData) -> None:
    key = book.keys["viewer"]
    assert gql.data(LIST_SEARCH, {"q": "科技"}, key=key) == {
        "contacts": {"nodes": []}, "companies": {"nodes": [{"name": "北京科技有限公司"}]}}
    names = {n["name"] for n in gql.data(LIST_SEARCH, {"q": "张"}, key=key)["contacts"]["nodes"]}
    assert names == {"张伟", "张伟明", "王张"}
    assert gql.data(LIST_SEARCH, {"q": "_客"}, key=key)["contacts"] == {
        "nodes": [{"name": "50% 折扣_客户"}]}
    assert gql.data(LIST_SEARCH, {"q": "%%%"}, key=key)["contacts"] == {"nodes": []}


def test_the_lists_search_filter_refuses_a_huge_term(gql: GraphQLClient,
                                                     book: TenantData) -> None:
    error = gql.error("query($q: String) { contacts(filter: {search: $q}) { nodes { name } } }",
                      {"q": "张" * 10_000}, key=book.keys["viewer"])
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["field"] == "filter.search"


def test_among_similar_spellings_the_most_alike_name_comes_first(
    gql: GraphQLClient, tenants: TenantFactory
) -> None:
    tenant = tenants.make()
    key = tenant.keys["admin"]
    for name in ("Jessica Harris", "Jessica Hill", "Jessica Hall"):
        gql.data(CONTACT, {"input": {"name": name}}, key=key)

    found = _search(gql, key, "Jessica Hlil")

    # Hall and Hill share as many trigrams with "hlil" (a tie, by name); Harris shares as
    # many too, but has more of its own: it comes last.
    assert _names(found) == ["Jessica Hall", "Jessica Hill", "Jessica Harris"]
    assert {e["match"] for e in found["edges"]} == {"SIMILAR"}
