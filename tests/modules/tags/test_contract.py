"""Tags run the kit's contract (tests/modules/kit/contract.py)."""

from __future__ import annotations

from modules.tags.entities import TAG
from tests.modules.kit.contract import EntityContract


class TestTagContract(EntityContract):
    entity = TAG
    list_field, get_field = "tags", "tag"
    create = {"color": "#1e88e5"}
    update = {"color": "#e53935"}
    # Tag names are unique in a tenant whatever their case: no two of these clash.
    sort_names = ("İa", "Ib", "ic", "ß", "Ä", "a", "张三", "李四", "Zoë", "王五")
