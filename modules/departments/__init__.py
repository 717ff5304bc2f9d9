"""Departments (a tree per tenant, with managers and members), roles' data scopes, and records
shared with a member or a department: who sees which owned records (modules/kit/scopes.py)."""
