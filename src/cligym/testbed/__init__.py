"""The gold image as every stage sees it: its layout, the documented test command, and
running fault steps plus the tests in one container."""
