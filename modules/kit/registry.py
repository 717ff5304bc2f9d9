"""Declared entities by name and by GraphQL type name: what `node(id:)`, loaders, rendered
joins and the kit's test contract find them by. Entities register when their module is
imported; `modules.kit.entity.Entity` does it on creation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modules.kit.entity import Entity
    from modules.kit.links import Link
    from modules.kit.service import EntityService

_BY_NAME: dict[str, Entity] = {}
_BY_TYPE: dict[str, Entity] = {}
_SERVICES: dict[str, EntityService[Any]] = {}
_LINKS: dict[str, Link] = {}  # to-many relations (modules.kit.links), by loader name
_LOADERS: dict[str, Any] = {}  # other per-request loaders' batch functions (custom fields)


def register(entity: Entity) -> None:
    if entity.name in _LINKS:
        raise ValueError(f"an entity and a link are both called {entity.name!r}")
    for table, key in ((_BY_NAME, entity.name), (_BY_TYPE, entity.type_name)):
        existing = table.get(key)
        if existing is not None and existing is not entity:
            raise ValueError(f"two entities declare {key!r}")
        table[key] = entity


def register_link(link: Link) -> None:
    """Links share the loaders' namespace with entities (`loaders.contact_tags`)."""
    existing = _LINKS.get(link.name)
    if link.name in _BY_NAME or (existing is not None and existing is not link):
        raise ValueError(f"two declarations are called {link.name!r}")
    _LINKS[link.name] = link


def register_loader(name: str, batch: Any) -> None:
    """A data loader's batch function `(session, ctx, ids) -> list`, by the loader's name
    (`loaders.contact__custom_fields`); the same name may be registered again (re-imports)."""
    if name in _BY_NAME or name in _LINKS:
        raise ValueError(f"two declarations are called {name!r}")
    _LOADERS[name] = batch


def loader_by_name(name: str) -> Any:
    return _LOADERS.get(name)


def link_by_name(name: str) -> Link | None:
    return _LINKS.get(name)


def register_service(service: EntityService[Any]) -> None:
    """One service per entity (made once, at module level): links, loaders and `node(id:)`
    use this one, so a second would silently split the entity's behaviour."""
    existing = _SERVICES.get(service.entity.name)
    if existing is not None and existing is not service:
        raise ValueError(f"a service for {service.entity.name!r} exists already: "
                         f"{type(existing).__qualname__}; make one instance, at module level")
    _SERVICES[service.entity.name] = service


def entities() -> list[Entity]:
    return list(_BY_NAME.values())


def by_name(name: str) -> Entity | None:
    return _BY_NAME.get(name)


def by_type(type_name: str) -> Entity | None:
    return _BY_TYPE.get(type_name)


def service_of(entity: Entity) -> EntityService[Any]:
    found = _SERVICES.get(entity.name)
    if found is None:
        raise LookupError(f"no service declared for {entity.name}")
    return found
