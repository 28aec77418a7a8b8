"""Issue text: templates, the optional LLM rewrite, and leak checks on what agents read."""
