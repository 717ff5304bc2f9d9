"""The module kit: one declaration per business entity gives its lists, lookups, writes, audit,
events, rendering and GraphQL wiring. See docs/modules.md for how to add an entity."""

from modules.kit.entity import (
    AtLeast,
    Before,
    Contains,
    Entity,
    Equals,
    EqualsLower,
    Field,
    Filter,
    Present,
    Sort,
    camel,
    like_pattern,
    standard_sorts,
)
from modules.kit.links import Link, LinkedTo, LinkService
from modules.kit.service import EntityService

__all__ = [
    "AtLeast", "Before", "Contains", "Entity", "EntityService", "Equals", "EqualsLower", "Field",
    "Filter", "Link", "LinkService", "LinkedTo", "Present", "Sort", "camel", "like_pattern",
    "standard_sorts",
]
