"""The webhooks' fixtures (tests/modules/webhooks/conftest.py), for the API's tests too."""

from tests.modules.webhooks.conftest import harness, receiver  # noqa: F401
