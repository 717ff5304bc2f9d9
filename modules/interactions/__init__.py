"""Interactions with customers (calls, emails, meetings, …), their types, survey answers, and
the one timeline per customer that merges them with the record's changes."""
