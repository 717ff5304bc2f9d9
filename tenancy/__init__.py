"""Tenants, users, roles and permissions, authentication, the request context and the audit log."""
