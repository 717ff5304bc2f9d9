"""Sensitive data: sealed fields, masking, audited reveal, export and erasure, key rotation."""
