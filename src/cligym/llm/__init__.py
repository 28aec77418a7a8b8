"""The LLM endpoint adapter: the only code that talks to an OpenAI-compatible server."""
