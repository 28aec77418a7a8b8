from datetime import UTC, datetime
from pathlib import Path

import pytest

from cligym.catalog import Catalog
from cligym.errors import CatalogError
from cligym.records import GoldEnv, RecipeSpec, RepoSource, SourceKind, StabilityReport


def gold(gold_id: str, name: str = "demo") -> GoldEnv:
    return GoldEnv(
        id=gold_id,
        name=name,
        source=RepoSource(
            kind=SourceKind.PYPI,
            spec=f"pypi:{name}",
            name=name,
            location="https://x",
            content_sha256="00",
        ),
        recipe=RecipeSpec(),
        base_image="b",
        base_image_id="sha256:b",
        image_tag=f"g/{name}:{gold_id}",
        image_id="sha256:i",
        python_version="3.11.2",
        pip_freeze=("a==1",),
        dockerfile="FROM b\n",
        stability=StabilityReport(
            runs=2, stable_passing=("t::a",), flaky=(), failing=(), skipped=()
        ),
        build_duration_sec=1.0,
        test_duration_sec=1.0,
        created_at=datetime.now(UTC),
    )


def test_put_get_find_list(tmp_path: Path):
    cat = Catalog(tmp_path / "c.sqlite3")
    cat.put_gold(gold("abcdef0123456789"))
    cat.put_gold(gold("1234567890abcdef", name="other"))
    assert cat.get_gold("abcdef0123456789").name == "demo"
    assert [g.id for g in cat.find_gold("abc")] == ["abcdef0123456789"]
    assert [g.id for g in cat.find_gold("other")] == ["1234567890abcdef"]
    assert [g.id for g in cat.find_gold("pypi:demo")] == ["abcdef0123456789"]
    assert len(cat.list_gold()) == 2
    assert "g/demo:abcdef0123456789" in cat.gold_image_refs()
    cat.put_gold(gold("abcdef0123456789"))  # idempotent
    assert len(Catalog(tmp_path / "c.sqlite3").list_gold()) == 2


def test_newer_schema_is_refused(tmp_path: Path):
    path = tmp_path / "c.sqlite3"
    Catalog(path)
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(CatalogError, match="newer cligym"):
        Catalog(path)


def test_garbage_file_is_a_catalog_error(tmp_path: Path):
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError):
        Catalog(path)



def _open_and_write(args: tuple[str, int]) -> str:
    path, worker = args
    try:
        catalog = Catalog(Path(path))
        for i in range(5):
            catalog.put_gold(gold(f"{worker:02d}{i:02d}", name=f"repo{worker}"))
            catalog.list_gold()
    except CatalogError as err:
        return str(err)
    return ""


def test_processes_opening_one_new_catalog_at_once_all_succeed(tmp_path: Path):
    """Ray workers open one fresh catalog together: none may see "database is locked" (or
    race on the schema row) while the file is created and switched to WAL."""
    import multiprocessing

    workers, rounds = 10, 25
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for r in range(rounds):
            path = str(tmp_path / f"round{r}" / "catalog.sqlite3")
            errors = pool.map(_open_and_write, [(path, w) for w in range(workers)])
            assert errors == [""] * workers
            assert len(Catalog(Path(path)).list_gold()) == workers * 5
