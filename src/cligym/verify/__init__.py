"""Verification: the contract every task must meet (real, deterministic, repairable, leak-free)."""
