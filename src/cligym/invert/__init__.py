"""Inversion: from a gold env to broken environments (procedural search, later an LLM agent)."""
