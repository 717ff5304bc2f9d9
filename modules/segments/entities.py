"""Segments and saved views, declared once for the kit (`modules.kit`)."""

from __future__ import annotations

from modules.kit import Contains, Entity, Equals, Field, standard_sorts
from modules.segments.models import Segment
from tenancy.permissions import Permission

_SORTS = {s.name: s for s in standard_sorts()}

SEGMENT = Entity(
    name="segment", type_name="Segment", model=Segment,
    read=Permission.SEGMENTS_READ, write=Permission.SEGMENTS_WRITE,
    delete=Permission.SEGMENTS_WRITE,
    # A member's own private ones and every shared one: the kit's rule, in every form.
    personal=("user_id", "shared"),
    sorts=tuple(_SORTS[name] for name in ("NAME_ASC", "NAME_DESC", "CREATED_AT_DESC",
                                          "CREATED_AT_ASC", "UPDATED_AT_DESC")),
    filters={"kind": Equals("kind"), "entity": Equals("entity"), "search": Contains("name"),
             "shared": Equals("shared")},
    fields={"user_id": Field(reference="User"), "kind": Field(enum=True),
            "entity": Field(enum=True)},
)
