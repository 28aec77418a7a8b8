"""stashkit: a tiny local artifact stash."""

from __future__ import annotations

__version__ = "0.3.1"

__all__ = ["__version__"]
