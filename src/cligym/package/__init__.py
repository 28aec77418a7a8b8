"""Packaging: issue text (text/) and task directories for the harnesses (export/)."""
