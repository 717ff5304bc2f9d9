"""Webhooks: tenants' subscriptions to events, and the signed, retried, ordered deliveries of
the outbox's events to them (Standard Webhooks)."""
