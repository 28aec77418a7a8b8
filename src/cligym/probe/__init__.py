"""Probe stage: record what each gold-stable test touches (the impact map)."""
