"""Custom field definitions run the kit's contract (tests/modules/kit/contract.py)."""

from __future__ import annotations

import itertools
from typing import Any

from modules.custom_fields.entities import CUSTOM_FIELD
from tests.modules.kit.contract import EntityContract

_keys = itertools.count(1)


class TestCustomFieldContract(EntityContract):
    entity = CUSTOM_FIELD
    list_field, get_field = "customFields", "customField"
    name_field = name_column = "label"
    create = {"entity": "COMPANY", "type": "TEXT"}
    update = {"helpText": "填写客户的内部编号"}

    def create_input(self, name: str) -> dict[str, Any]:
        # Keys are unique per tenant and entity: each record its own.
        return {**super().create_input(name), "key": f"field_{next(_keys)}"}

    def service_input(self, data: dict[str, Any]) -> dict[str, Any]:
        values = super().service_input(data)
        for enum in ("entity", "type"):  # the API's enums name their values in capitals
            if enum in values:
                values[enum] = values[enum].lower()
        return values
