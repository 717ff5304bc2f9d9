"""Customers: companies and the contacts who work for them."""
