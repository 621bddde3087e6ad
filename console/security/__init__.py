"""Credential vault and redaction."""
