"""Segments and saved views: saved filters over contacts or companies (issue 12, item 3)."""
