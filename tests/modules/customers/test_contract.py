"""Contacts and companies run the kit's contract (tests/modules/kit/contract.py)."""

from __future__ import annotations

from typing import Any

from modules.customers.entities import COMPANY, CONTACT
from tests.modules.kit.contract import EntityContract


class TestContactContract(EntityContract):
    entity = CONTACT
    list_field, get_field = "contacts", "contact"
    create = {"name": "王小明", "phone": "13800138000", "gender": "MALE"}
    update = {"title": "采购经理", "email": "buyer@example.com"}
    unrendered_selection = "address { city }"

    def service_input(self, data: dict[str, Any]) -> dict[str, Any]:
        values = super().service_input(data)
        if "gender" in values:  # the API's enum names its values in capitals
            values["gender"] = values["gender"].lower()
        return values


class TestCompanyContract(EntityContract):
    entity = COMPANY
    list_field, get_field = "companies", "company"
    create = {"name": "深圳云帆物流有限公司", "domain": "yunfan.cn"}
    update = {"industry": "物流", "phone": "+8675588886666"}
    unrendered_selection = "address { city }"
