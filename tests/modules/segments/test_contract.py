"""Segments run the kit's contract (tests/modules/kit/contract.py). The contract's records are
shared with the tenant (its checks expect a record to be seen tenant-wide), so its writers are
those who may share (segments:manage); privacy, and what a sales user may save, are tested in
tests/graphql_api/segments."""

from __future__ import annotations

from typing import Any

from modules.segments.entities import SEGMENT
from tenancy.permissions import Permission
from tests.modules.kit.contract import EntityContract
from tests.modules.kit.world import Caller, Tenant


class TestSegmentContract(EntityContract):
    entity = SEGMENT
    list_field, get_field = "segments", "segment"
    create = {"kind": "SEGMENT", "entity": "CONTACT", "filter": {"search": "华为"},
              "shared": True}
    update = {"description": "华为的联系人"}

    def full(self, tenant: Tenant, *, key: bool = False) -> Caller:
        e = self.entity
        return self.caller(tenant, may=(e.read, e.write, e.delete, Permission.SEGMENTS_MANAGE),
                           key=key)

    def service_input(self, data: dict[str, Any]) -> dict[str, Any]:
        out = super().service_input(data)
        for key in ("kind", "entity"):
            if key in out:
                out[key] = out[key].lower()
        return out
