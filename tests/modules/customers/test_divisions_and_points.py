"""The divisions' tree as the addresses rely on it, English names, and the points' rules that
need no database (the HTTP tests cover the rest)."""

from __future__ import annotations

import pytest

from infra.validation import Validator
from modules.customers import divisions, points
from modules.customers.addresses import codes_for_names, validate_address


def _all() -> list[divisions.Division]:
    out, todo = [], divisions.children_of(None)
    while todo:
        d = todo.pop()
        out.append(d)
        todo += divisions.children_of(d.code)
    return out


def test_every_division_is_in_a_three_level_tree_of_six_digit_codes() -> None:
    every = _all()
    assert len({d.code for d in every}) == len(every) > 3000
    for d in every:
        assert len(d.code) == 6 and d.code.isdigit(), d
        parent = divisions.get(d.parent_code) if d.parent_code else None
        expected = {divisions.PROVINCE: None, divisions.CITY: divisions.PROVINCE,
                    divisions.DISTRICT: divisions.CITY}[d.level]
        assert (parent.level if parent else None) == expected, d
        assert d.has_children == bool(divisions.children_of(d.code)), d
        if d.level != divisions.PROVINCE:  # GB/T 2260: a code starts with its parent's
            assert parent is not None
            prefix = 2 if d.level == divisions.CITY else 4
            assert d.code[:prefix] == parent.code[:prefix], d
    assert len(divisions.children_of(None)) == 34


@pytest.mark.parametrize(("name", "english"), [
    ("广东省", "Guangdong"), ("深圳市", "Shenzhen"), ("南山区", "Nanshan"),
    ("广西壮族自治区", "Guangxi"), ("恩施土家族苗族自治州", "Enshi"), ("重庆市", "Chongqing"),
])
def test_english_names_are_the_pinyin_without_the_suffix(name: str, english: str) -> None:
    assert divisions.english_name(name) == english


def test_conventional_english_names_where_pinyin_misleads() -> None:
    names = {d.name: d.name_en for d in divisions.children_of(None)}
    assert names["陕西省"] == "Shaanxi" and names["山西省"] == "Shanxi"
    assert names["香港特别行政区"] == "Hong Kong"


def test_codes_for_names_only_where_the_chain_matches() -> None:
    assert codes_for_names({"province": "广东省", "city": "深圳市", "district": "南山区"}) == {
        "provinceCode": "440000", "cityCode": "440300", "districtCode": "440305"}
    assert codes_for_names({"province": "广东省", "city": "北京市"}) == {
        "provinceCode": "440000"}
    assert codes_for_names({"city": "深圳市"}) == {}


def test_an_address_without_codes_keeps_its_names_and_drops_empty_ones() -> None:
    v = Validator()
    assert validate_address(v, "address", {"province": " 广东省 ", "city": None}) == {
        "province": "广东省"}
    assert validate_address(v, "address", {"country": "CN"}) is None
    assert validate_address(v, "address", [1, 2]) is None
    assert [e.field for e in v.errors] == ["address"]


PHONES = [{"number": "+8613800138000", "label": "MOBILE", "primary": True},
          {"number": "+861012345678", "label": "WORK", "primary": False}]


def test_setting_the_primary_alone() -> None:
    held = points.with_primary(PHONES, points.PHONES, "+861012345678")
    assert [p["primary"] for p in held] == [False, True]
    replaced = points.with_primary(PHONES, points.PHONES, "+8613900139000")
    assert replaced[0] == {"number": "+8613900139000", "label": "MOBILE", "primary": True}
    assert points.with_primary(PHONES, points.PHONES, None) == [
        {"number": "+861012345678", "label": "WORK", "primary": True}]
    assert points.with_primary([], points.PHONES, "+861012345678") == [
        {"number": "+861012345678", "label": "WORK", "primary": True}]
    assert PHONES[0]["primary"] is True  # the input is not changed


@pytest.mark.parametrize(("number", "region", "shown"), [
    ("+8613800138000", "CN", "138 0013 8000"),
    ("+861012345678", "CN", "010 1234 5678"),
    ("+16502530000", "CN", "+1 650-253-0000"),
    ("+8613800138000", "US", "+86 138 0013 8000"),
])
def test_formatted_nationally_at_home_internationally_otherwise(number: str, region: str,
                                                                shown: str) -> None:
    assert points.formatted(number, region) == shown
