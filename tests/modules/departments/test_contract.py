"""Departments run the kit's contract (tests/modules/kit/contract.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from modules.departments.entities import DEPARTMENT
from tests.modules.kit.contract import EntityContract


class TestDepartmentContract(EntityContract):
    entity = DEPARTMENT
    list_field, get_field = "departments", "department"
    create: ClassVar[dict[str, Any]] = {"position": 3}
    update: ClassVar[dict[str, Any] | None] = {"position": 7}
    orders: ClassVar[dict[str, str]] = {"POSITION_ASC": "position asc"}
    # Names are unique among siblings, whatever their case (all of these are top ones).
    sort_names = ("İa", "Ib", "ic", "ß", "Ä", "a", "张三", "李四", "Zoë", "王五")
