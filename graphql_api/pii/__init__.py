"""Sensitive data over GraphQL: reveal, export, erase."""
