"""Every entity declared through the kit runs the contract (tests/modules/kit/contract.py): one
added without `tests/modules/<domain>/test_contract.py` declaring its case fails here."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import modules
import tenancy
from modules.kit import registry
from tests.modules.kit.contract import EntityContract

TESTS = Path(__file__).resolve().parents[2]


def _contracts(cls: type[EntityContract]) -> list[type[EntityContract]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_contracts(sub)]
    return found


def test_every_declared_entity_runs_the_contract() -> None:
    # Entities register when their module is imported: import every one.
    for package in (modules, tenancy):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(info.name)
    for path in sorted(TESTS.rglob("test_contract.py")):
        importlib.import_module(".".join(path.relative_to(TESTS.parent).with_suffix("").parts))
    declared = {e.name for e in registry.entities()}
    covered = {c.entity.name for c in _contracts(EntityContract) if hasattr(c, "entity")}
    assert declared, "no entities found"
    assert declared <= covered, (
        f"declare a contract case for {sorted(declared - covered)} in "
        "tests/modules/<domain>/test_contract.py")
