from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cligym.api import Workspace, sample_repo_path
from cligym.config import Settings
from cligym.errors import CligymError
from tests.unit.test_catalog import gold


def test_sample_repo_is_shipped_with_enough_tests():
    root = sample_repo_path()
    assert (root / "pyproject.toml").is_file()
    tests = sum(p.read_text().count("\ndef test_") for p in (root / "tests").glob("test_*.py"))
    assert tests >= 40


def test_get_gold_by_id_prefix_name(tmp_path: Path):
    ws = Workspace(Settings(workdir=tmp_path))
    old = gold("aaaa000000000001").model_copy(
        update={"created_at": datetime.now(UTC) - timedelta(1)}
    )
    new = gold("aaaa000000000002")
    ws.catalog.put_gold(old)
    ws.catalog.put_gold(new)
    ws.catalog.put_gold(gold("bbbb000000000003", name="other"))
    assert ws.get_gold("aaaa000000000001").id == old.id
    assert ws.get_gold("demo").id == new.id  # newest of that repo
    assert ws.get_gold("bbbb").name == "other"
    with pytest.raises(CligymError, match="no gold environment"):
        ws.get_gold("zzzz")
    ws.catalog.put_gold(gold("aaaa000000000004", name="third"))
    with pytest.raises(CligymError, match="give more of the id"):
        ws.get_gold("aaaa")
