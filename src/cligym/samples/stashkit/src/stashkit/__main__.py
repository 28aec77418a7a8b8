"""Allow ``python -m stashkit``."""

from stashkit.cli import main

raise SystemExit(main())
