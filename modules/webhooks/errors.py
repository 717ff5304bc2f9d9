"""Domain errors of webhooks, each with a stable code (see infra/errors.py)."""

from __future__ import annotations

from infra.errors import Conflict


class SubscriptionDisabled(Conflict):
    """A disabled subscription sends nothing until it is resumed."""

    def __init__(self) -> None:
        super().__init__("this webhook subscription is disabled: resume it first", field="id",
                         reason="DISABLED")
