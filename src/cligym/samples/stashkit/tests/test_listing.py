"""Tabular listings rendered with tabulate."""

from __future__ import annotations

from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def listing() -> ModuleType:
    from stashkit import listing

    return listing


def test_simple_table(listing: ModuleType, sample_entries) -> None:
    lines = listing.render_table(sample_entries).splitlines()
    assert lines[0].split() == list(listing.HEADERS)
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 2 + len(sample_entries)
    row = lines[2].split()
    assert row[:5] == ["app-1.0.whl", "1000", "400", "40%", "aaaaaaaaaaaa"]
    assert "2024-07-14 12:30 UTC" in lines[2]
    assert lines[3].rstrip().endswith("ci,logs")


def test_github_format(listing: ModuleType, sample_entries) -> None:
    text = listing.render_table(sample_entries[:1], tablefmt="github")
    header, rule, row = text.splitlines()
    assert header.startswith("| name")
    assert set(rule) <= {"|", "-", ":"}
    assert row.startswith("| app-1.0.whl")


def test_custom_size_formatter(listing: ModuleType, sample_entries) -> None:
    text = listing.render_table(sample_entries[:1], size_fmt=lambda n: f"{n / 1000:.1f}k")
    assert "1.0k" in text and "0.4k" in text


def test_empty_and_unknown_format(listing: ModuleType, sample_entries) -> None:
    import tabulate

    assert listing.render_table([]) == listing.EMPTY_MESSAGE
    assert "github" in tabulate.tabulate_formats
    with pytest.raises(ValueError, match="unknown table format 'fancy-pants'"):
        listing.render_table(sample_entries, tablefmt="fancy-pants")
