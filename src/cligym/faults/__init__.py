"""Fault catalog: one module per category, one small class per family (see base.py)."""
