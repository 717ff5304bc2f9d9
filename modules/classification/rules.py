"""A tenant's classification rules: the window, the RFM thresholds and the level rules, with
their validation. Stored as one JSON document per tenant (`classification_rules`); a tenant
that never set any gets `DEFAULT`.

Scores are by thresholds the tenant sets (four ascending thresholds make five bands), not by
quintiles: a customer's score then depends on their own history and the rules only, so the
score of one customer can be computed alone, at once, when an order changes it; quintiles
would move every customer's score with each order of any customer.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from infra.errors import ValidationFailed
from infra.validation import Validator

_LEVEL_KEY = re.compile(r"[A-Za-z0-9_]{1,20}")
MAX_LEVELS = 10
MAX_MONEY = Decimal("1e15")


@dataclass(frozen=True)
class LevelRule:
    """A customer level (`A`) and what it takes: every condition given must hold. Rules are
    tried in order; the first that holds gives the level; a rule without conditions catches
    every customer who bought at least once."""

    key: str
    label: str
    min_monetary: Decimal | None = None  # spent in the window, at least
    min_frequency: int | None = None  # orders in the window, at least
    max_recency_days: int | None = None  # last purchase at most this many days ago
    min_rfm: int | None = None  # R + F + M scores, at least (3 to 15)


@dataclass(frozen=True)
class Rules:
    window_days: int  # orders and money count over this many days back
    recency_days: tuple[int, ...]  # 4 ascending: at most [0] days ago is R5, ... beyond [3] R1
    frequency: tuple[int, ...]  # 4 ascending order counts: at least [3] is F5, ... below [0] F1
    monetary: tuple[Decimal, ...]  # 4 ascending amounts: at least [3] is M5, ... below [0] M1
    levels: tuple[LevelRule, ...]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["monetary"] = [str(m) for m in self.monetary]
        out["levels"] = [{k: (str(v) if isinstance(v, Decimal) else v)
                          for k, v in asdict(r).items()} for r in self.levels]
        return out

    @staticmethod
    def from_json(data: dict[str, Any]) -> Rules:
        return Rules(
            window_days=int(data["window_days"]),
            recency_days=tuple(int(x) for x in data["recency_days"]),
            frequency=tuple(int(x) for x in data["frequency"]),
            monetary=tuple(Decimal(x) for x in data["monetary"]),
            levels=tuple(LevelRule(
                key=r["key"], label=r["label"],
                min_monetary=Decimal(r["min_monetary"]) if r.get("min_monetary") is not None
                else None,
                min_frequency=r.get("min_frequency"), max_recency_days=r.get("max_recency_days"),
                min_rfm=r.get("min_rfm")) for r in data["levels"]))


DEFAULT = Rules(
    window_days=365,
    recency_days=(30, 90, 180, 365),
    frequency=(2, 4, 8, 12),
    monetary=(Decimal(1000), Decimal(5000), Decimal(20000), Decimal(100000)),
    levels=(LevelRule("A", "A", min_monetary=Decimal(100000), min_frequency=12),
            LevelRule("B", "B", min_monetary=Decimal(20000)),
            LevelRule("C", "C")),
)


def _ints(v: Validator, field: str, value: Any, *, low: int, high: int) -> tuple[int, ...]:
    if (not isinstance(value, list) or len(value) != 4
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in value)):
        v.fail(field, "must be 4 whole numbers, ascending")
        return ()
    if not all(low <= x <= high for x in value) or sorted(set(value)) != value:
        v.fail(field, f"must be 4 whole numbers from {low} to {high}, strictly ascending",
               "out_of_range")
    return tuple(value)


def _money(v: Validator, field: str, value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        v.fail(field, "must be an amount, e.g. \"100000\"")
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        v.fail(field, "must be an amount, e.g. \"100000\"")
        return None
    if not number.is_finite() or number < 0 or number >= MAX_MONEY:
        v.fail(field, "must be an amount from 0 to 10^15", "out_of_range")
        return None
    return number.quantize(Decimal("0.01"))


def validate(data: dict[str, Any]) -> Rules:
    """Rules from the API's input (snake_case keys); VALIDATION with every error at once."""
    v = Validator()
    window = data.get("window_days")
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 3660:
        v.fail("windowDays", "must be a number of days from 1 to 3660", "out_of_range")
    recency = _ints(v, "recencyDays", data.get("recency_days"), low=0, high=3660)
    frequency = _ints(v, "frequency", data.get("frequency"), low=1, high=100000)
    raw = data.get("monetary")
    monetary: tuple[Decimal, ...] = ()
    if not isinstance(raw, list) or len(raw) != 4:
        v.fail("monetary", "must be 4 amounts, ascending")
    else:
        found = [_money(v, f"monetary.{i}", x) for i, x in enumerate(raw)]
        if all(x is not None for x in found):
            monetary = tuple(found)  # type: ignore[arg-type]
            if sorted(set(monetary)) != list(monetary):
                v.fail("monetary", "must be strictly ascending", "out_of_range")
    levels = _levels(v, data.get("levels"))
    if v.errors:
        raise ValidationFailed(v.errors)
    return Rules(window, recency, frequency, monetary, levels)  # type: ignore[arg-type]


def _levels(v: Validator, raw: Any) -> tuple[LevelRule, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LEVELS:
        v.fail("levels", f"must be 1 to {MAX_LEVELS} level rules")
        return ()
    out: list[LevelRule] = []
    seen: set[str] = set()
    for i, r in enumerate(raw):
        where = f"levels.{i}"
        if not isinstance(r, dict):
            v.fail(where, "must be a level rule")
            continue
        key = r.get("key")
        if not isinstance(key, str) or not _LEVEL_KEY.fullmatch(key):
            v.fail(f"{where}.key", "must be 1 to 20 letters, digits or _ (A, VIP)")
            continue
        if key.upper() in seen:
            v.fail(f"{where}.key", "is given twice", "duplicate")
        seen.add(key.upper())
        label = v.text(f"{where}.label", r.get("label") or key, max_len=50, required=True)
        money = (_money(v, f"{where}.minMonetary", r["min_monetary"])
                 if r.get("min_monetary") is not None else None)
        counts = {}
        for name, api, low, high in (("min_frequency", "minFrequency", 0, 100000),
                                     ("max_recency_days", "maxRecencyDays", 0, 3660),
                                     ("min_rfm", "minRfm", 3, 15)):
            x = r.get(name)
            if x is not None and (not isinstance(x, int) or isinstance(x, bool)
                                  or not low <= x <= high):
                v.fail(f"{where}.{api}", f"must be a whole number from {low} to {high}",
                       "out_of_range")
                x = None
            counts[name] = x
        out.append(LevelRule(key.upper(), label or key, min_monetary=money, **counts))
    return tuple(out)
