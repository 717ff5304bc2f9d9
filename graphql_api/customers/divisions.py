"""China's administrative divisions for address pickers: one level at a time, from the server's
data (`modules.customers.divisions`), the one source the addresses are checked against."""

from __future__ import annotations

from enum import Enum

import strawberry

from graphql_api.permissions import needs
from infra.errors import ValidationFailed
from modules.customers import divisions


@strawberry.enum(name="DivisionLevel")
class DivisionLevel(Enum):
    PROVINCE = divisions.PROVINCE
    CITY = divisions.CITY
    DISTRICT = divisions.DISTRICT


@strawberry.type(name="Division", description=(
    "A province, city or district of mainland China (GB/T 2260), with its six-digit code."))
class DivisionType:
    code: str
    name: str = strawberry.field(description="Its Chinese name: 广东省, 深圳市, 南山区.")
    name_en: str = strawberry.field(description="Its name in pinyin, for English pages: "
                                                "Guangdong, Shenzhen, Nanshan.")
    level: DivisionLevel
    parent_code: str | None
    has_children: bool = strawberry.field(description="Whether a level below it exists.")

    @staticmethod
    def of(d: divisions.Division) -> DivisionType:
        return DivisionType(code=d.code, name=d.name, name_en=d.name_en,
                            level=DivisionLevel(d.level), parent_code=d.parent_code,
                            has_children=d.has_children)


@strawberry.type
class DivisionQueries:
    @strawberry.field(extensions=needs(), description=(
        "The provinces (no `parentCode`), or the cities of a province, or the districts of a "
        "city, in the data's order; empty below a district."))
    def divisions(self, parent_code: str | None = None) -> list[DivisionType]:
        if parent_code is not None and divisions.get(parent_code) is None:
            raise ValidationFailed.single("parentCode", "is not a division of mainland China",
                                          "not_found")
        return [DivisionType.of(d) for d in divisions.children_of(parent_code)]
