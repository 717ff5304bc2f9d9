"""Settings refuse what would be unsafe in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from infra.settings import DEVELOPMENT_SECRET_KEY, Settings


@pytest.mark.parametrize("secret", [DEVELOPMENT_SECRET_KEY, "short"])
def test_production_refuses_the_development_or_a_short_secret_key(secret: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(env="production", secret_key=secret)


def test_development_runs_with_the_default_and_production_with_a_real_key() -> None:
    assert Settings(env="development").secret_key == DEVELOPMENT_SECRET_KEY
    assert Settings(env="production", secret_key="x" * 48).is_production
