"""Background work on Dramatiq over Redis: imports, webhook delivery, automations, usage reporting.

Actors will live here by concern (`workers/imports.py`, `workers/webhooks.py`, …), take ids, open
their own tenant-scoped transaction with `infra.db.Database.scoped`, and key idempotency on the
message id or a business key. The outbox table is their source of domain events.
"""
