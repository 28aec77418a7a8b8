"""Validation: exported tasks run in the real harnesses, with reference, no-op and
reward-hacking agents."""
