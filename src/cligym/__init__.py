"""cligym: environment-repair tasks for terminal agents, made by environment inversion."""

__version__ = "0.1.0"
