"""Packaging without Docker: issue text, the leak checker, grader, verifier scripts, layouts,
and the manifest (checked with the harnesses' own models and Hugging Face `datasets`)."""

from __future__ import annotations

import gzip
import json
import subprocess
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from cligym.grading.kit import GradeKit
from cligym.grading.verifier import TB_RUN_TESTS, render_test_sh
from cligym.package.export.layouts import ExportItem, render_harbor, render_tb
from cligym.package.export.manifest import manifest_row, write_jsonl, write_parquet
from cligym.package.text.issue import check_issue, clean_excerpt, render_issue
from cligym.package.text.leakcheck import Secrets, find_leaks, redact, secrets_for
from cligym.records import FaultCategory, FaultTarget, IssueText, StabilityReport, Task
from cligym.shipped.grader import grade
from tests.unit.test_catalog import gold as make_gold

LIB = "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6"
TESTS = [f"tests/test_db.py::test_{i}" for i in range(12)]


def _gold():
    g = make_gold("abcdef0123456789", name="demo")
    stab = StabilityReport(runs=2, stable_passing=tuple(TESTS), flaky=(), failing=(), skipped=())
    return g.model_copy(update={"stability": stab})


def _task(errors=None, solution=None, faults=None, steps=None) -> Task:
    return Task(
        id="1501c5fd3e370469",
        name="demo-elf-header-corrupt-1501c5",
        gold_id="abcdef0123456789",
        candidate_id="c" * 16,
        families=("elf-header-corrupt",),
        categories=(FaultCategory.SHARED_LIBRARIES,),
        faults=faults
        or (FaultTarget(family="elf-header-corrupt", resource=f"lib:{LIB}", params=()),),
        steps=steps or (f"printf 'ELF' | dd of={LIB} bs=1 seek=1 conv=notrunc",),
        dockerfile="FROM g/demo:abcdef0123456789\nRUN true\n",
        solution=solution
        or ("apt-get update -qq && apt-get install -y -qq --reinstall libsqlite3-0",),
        restore_paths=(("C", LIB), ("C", "/app/tests/data/x.txt")),
        fail_to_pass=tuple(TESTS[:10]),
        pass_to_pass=tuple(TESTS[10:]),
        errors=errors
        or {
            TESTS[0]: f"E   ImportError: {LIB}: invalid ELF header\nsqlite3/__init__.py:1: Error",
            TESTS[1]: "first line of a long one\n...\nd-line cut\nE   OSError: db locked\nx.py:2",
        },
        signature="sig",
        difficulty=2.0,
        difficulty_label="medium",
        image_tag="cligym-task/demo:x",
        image_id="sha256:t",
        image_bytes_added=1234,
        hints={
            "category": "The problem is in shared libraries.",
            "specific": "A shared library (libsqlite3.so.0) is damaged.",
        },
        created_at=datetime.now(UTC),
    )


# --------------------------------------------------------------------------- leak checker
def test_excerpts_never_show_the_measuring_runs_own_paths():
    text = "ERROR: usage: python -m pytest --junitxml=/run/cligym-results/junit.xml\nboom"
    assert clean_excerpt(text) == "boom"


def test_secrets_cover_target_aliases_versions_and_fix():
    task = _task(
        faults=(
            FaultTarget(family="elf-header-corrupt", resource=f"lib:{LIB}"),
            FaultTarget(family="dist-downgraded", resource="dist:tabulate",
                        params=(("old", "0.8.10"), ("version", "0.9.0"))),
        ),
        solution=("pip install --no-deps 'tabulate==0.9.0'",),
    )
    s = secrets_for(task)
    assert LIB in s.paths and LIB.replace("/usr/lib/", "/lib/") in s.paths
    assert {"0.8.10", "0.9.0"} <= s.versions
    assert "tabulate==0.9.0" in s.fixes
    assert "/app" not in s.paths and "/tmp" not in s.paths  # shared context is not a secret


@pytest.mark.parametrize(
    "planted",
    [
        f"the header of {LIB} is broken",
        "the lib /lib/x86_64-linux-gnu/libsqlite3.so.0.8.6 is broken",  # merged-/usr alias
        "pin tabulate back to 0.9.0 please",
        "apt-get update -qq && apt-get install -y -qq --reinstall libsqlite3-0",
    ],
)
def test_checker_catches_planted_leaks(planted):
    task = _task(
        faults=(
            FaultTarget(family="elf-header-corrupt", resource=f"lib:{LIB}"),
            FaultTarget(family="dist-downgraded", resource="dist:tabulate",
                        params=(("version", "0.9.0"),)),
        )
    )
    secrets = secrets_for(task)
    issue = render_issue(task, _gold(), secrets)
    assert check_issue(issue, secrets) == []
    leaky = issue.model_copy(update={"body": issue.body + "\n" + planted + "\n"})
    assert check_issue(leaky, secrets), planted
    leaky_hint = issue.model_copy(update={"hints": {"specific": planted}})
    assert any(p.startswith("hint specific") for p in check_issue(leaky_hint, secrets))


def test_tokens_match_whole_paths_and_versions_only():
    s = Secrets(paths=frozenset({"/etc/localtime"}), versions=frozenset({"1.2"}))
    assert find_leaks("see /etc/localtime.", s)
    assert find_leaks("under it: /etc/localtime/x", s)  # a target directory's children
    assert not find_leaks("see /etc/localtime2 and /x/etc/localtime", s)
    assert find_leaks("pin v1.2 please", s)
    assert not find_leaks("version 1.2.3 and 11.2", s)
    assert find_leaks("version 1.2 here", s)
    assert redact("x /etc/localtime y 1.2", s) == "x … y …"


# --------------------------------------------------------------------------- issue text
def test_issue_is_deterministic_symptom_only_and_redacted():
    task, gold = _task(), _gold()
    secrets = secrets_for(task)
    a = render_issue(task, gold, secrets, seed=3)
    b = render_issue(task, gold, secrets, seed=3)
    assert (a.title, a.body) == (b.title, b.body)
    bodies = {render_issue(task, gold, secrets, seed=s).body for s in range(8)}
    assert len(bodies) > 1, "phrasings vary with the seed"
    assert TESTS[0] in a.body and "... and 2 more" in a.body
    assert "runuser -u tester" in a.body
    assert "invalid ELF header" in a.body and LIB not in a.body
    assert "reinstall" not in a.body and "apt-get" not in a.body
    assert "Hint:" not in a.instruction("none")
    assert "shared libraries" in a.instruction("category")
    assert "libsqlite3.so.0" in a.instruction("specific")


def test_cut_excerpts_lose_their_partial_first_line():
    text = "summary\n...\nd-line cut\nE   OSError: db locked\nx.py:2"
    assert clean_excerpt(text) == "E   OSError: db locked\nx.py:2"
    assert clean_excerpt("\x1b[31mE   boom\x1b[0m\n\n") == "E   boom"


# --------------------------------------------------------------------------- grader
JUNIT = """<testsuites><testsuite>
<testcase classname="tests.test_db" name="test_0" file="tests/test_db.py" time="0.1"/>
<testcase classname="tests.test_db" name="test_1" file="tests/test_db.py">
  <failure message="boom">trace</failure></testcase>
<testcase classname="tests.test_db" name="test_2" file="tests/test_db.py">
  <skipped message="no"/></testcase>
</testsuite></testsuites>"""


def test_grade_requires_every_expected_test_to_pass():
    ok, _ = grade(JUNIT, {"fail_to_pass": [TESTS[0]], "pass_to_pass": []})
    assert ok
    for bad in (TESTS[1], TESTS[2], TESTS[5]):  # failed, skipped, missing
        ok, lines = grade(JUNIT, {"fail_to_pass": [TESTS[0]], "pass_to_pass": [bad]})
        assert not ok and any(bad in line for line in lines)
    assert grade(None, {"fail_to_pass": [TESTS[0]]})[0] is False
    assert grade("<html/>", {"fail_to_pass": [TESTS[0]]})[0] is False


# --------------------------------------------------------------------------- layouts
def _item(hint="none") -> ExportItem:
    task, gold = _task(), _gold()
    secrets = secrets_for(task)
    issue = render_issue(task, gold, secrets)
    return ExportItem(task, gold, issue, hint, _kit(), secrets)


def _kit() -> GradeKit:
    """A small gold manifest of the shape `grader.py record` writes."""
    manifest = {
        "version": 1,
        "spec": {"container_env": {"PATH": "/opt/venv/bin:/usr/bin:/bin"}},
        "interpreter": "/usr/bin/python3.11",
        "python_home": "/usr",
        "stdlib": "/usr/lib/python3.11",
        "lib_dirs": ["/usr/lib/x86_64-linux-gnu"],
        "loader": "/lib64/ld-linux-x86-64.so.2",
        "trees": {"/usr/lib/python3.11": {"kind": "strict", "files": {
            "/usr/lib/python3.11/os.py": "f:" + "a" * 64,
            "/usr/lib/python3.11/__pycache__/os.cpython-311.pyc": "f:" + "b" * 64,
            "/usr/lib/python3.11/sitecustomize.py": "l:/etc/python3.11/sitecustomize.py"}}},
        "boot": {"stdlib_roots": ["/usr/lib/python3.11"],
                 "stdlib_files": ["/usr/lib/python3.11/os.py",
                                  "/usr/lib/python3.11/sitecustomize.py"],
                 "files": {"/usr/bin/python3.11": "f:" + "c" * 64},
                 "absent": ["/etc/ld.so.preload", "/usr/lib/python311.zip"]},
    }
    return GradeKit(gzip.compress(json.dumps(manifest).encode()), b"BUSYBOX", b"BASH")


def test_verifier_script_trusts_only_its_own_directory(tmp_path: Path):
    item = _item()
    harbor = render_test_sh(item.task.name, item.kit.manifest, 300, "/logs/verifier")
    tb = TB_RUN_TESTS.format(python="/opt/venv/bin/python")
    for name, script in (("test.sh", harbor), ("run-tests.sh", tb)):
        path = tmp_path / name
        path.write_text(script)
        assert subprocess.run(["sh", "-n", str(path)], check=False).returncode == 0, name
    assert harbor.startswith("#!/tests/busybox sh\n")
    # planted reward files are removed before anything runs, and a reward 0 is written first
    assert harbor.index('rm -rf "$L/reward.txt" "$L/reward.json"') < harbor.index("echo 0 >")
    assert harbor.index("echo 0 >") < harbor.index("reap.sh") < harbor.index("sha256sum -c")
    assert harbor.index("sha256sum -c") < harbor.index("grader.py grade")
    # the grading interpreter: a private copy, through the verified loader, isolated
    assert "--inhibit-cache --library-path /usr/lib/x86_64-linux-gnu" in harbor
    assert "-s -S -B -X pycache_prefix=" in harbor and "env -i PYTHONHOME=/usr" in harbor
    assert "/etc/ld.so.preload" in harbor
    kit = item.kit
    assert kit.boot_sha256() == (
        "c" * 64 + "  /usr/bin/python3.11\n" + "a" * 64 + "  /usr/lib/python3.11/os.py\n"
    )
    assert "__pycache__" not in kit.boot_sha256() and "sitecustomize" not in kit.boot_sha256()
    assert kit.stdlib_listing().splitlines() == kit.manifest["boot"]["stdlib_files"]


def test_harbor_layout_loads_in_harbors_own_models():
    from harbor.models.task.config import TaskConfig

    item = _item("specific")
    files = render_harbor(item)
    assert item.dir_name.endswith("-hint-specific")
    assert {"task.toml", "instruction.md", "environment/Dockerfile",
            "environment/docker-compose.yaml", "solution/solve.sh", "tests/test.sh",
            "tests/grader.py", "tests/junitxml.py", "tests/expected.json", "tests/busybox",
            "tests/gold-manifest.json.gz", "tests/boot.sha256", "tests/stdlib.list",
            "tests/reap.sh", "environment/cligym-trusted/bin/bash",
            "environment/.dockerignore"} <= set(files)
    config = TaskConfig.model_validate(tomllib.loads(files["task.toml"].decode()))
    assert config.metadata["cligym_task_id"] == item.task.id
    main = yaml.safe_load(files["environment/docker-compose.yaml"])["services"]["main"]
    assert main["init"] and main["volumes"] == ["./cligym-trusted:/opt/cligym:ro"]
    assert main["environment"]["PATH"] == "/opt/cligym/bin:/opt/venv/bin:/usr/bin:/bin"
    assert config.verifier.collect[0].command == (
        "/opt/cligym/busybox sh /opt/cligym/reap.sh; /opt/cligym/busybox rm -rf "
        "/logs/verifier/reward.txt /logs/verifier/reward.json"
    )
    assert b"Hint: A shared library" in files["instruction.md"]
    expected = json.loads(files["tests/expected.json"])
    assert expected["fail_to_pass"] == list(item.task.fail_to_pass)


def test_tb_layout_loads_in_terminal_benchs_own_model():
    from terminal_bench.handlers.trial_handler import Task as TbTask

    files = render_tb(_item())
    config = TbTask.model_validate(yaml.safe_load(files["task.yaml"]))
    assert config.instruction.startswith("# ") and config.parser_name.value == "pytest"
    assert b"instruction: |" in files["task.yaml"]
    assert yaml.safe_load(files["docker-compose.yaml"])["services"]["client"]["init"] is True
    assert {"run-tests.sh", "solution.sh", "Dockerfile", "tests/test_outputs.py"} <= set(files)


# --------------------------------------------------------------------------- manifest
def test_manifest_round_trips_through_datasets(tmp_path: Path):
    import datasets

    rows = [manifest_row(_item()), manifest_row(_item("category"))]
    assert LIB not in json.dumps(rows[0]["error_excerpts"])
    jsonl = write_jsonl(rows, tmp_path / "m.jsonl")
    parquet = write_parquet(rows, tmp_path / "m.parquet")
    for kind, path in (("json", jsonl), ("parquet", parquet)):
        ds = datasets.load_dataset(kind, data_files=str(path), split="train",
                                   cache_dir=str(tmp_path / "hf"))
        assert ds.num_rows == 2
        assert ds[0]["fail_to_pass"] == list(_task().fail_to_pass)
        assert ds[1]["hint_level"] == "category" and ds[0]["image_bytes_added"] == 1234


def test_the_hf_dataset_holds_each_task_directory_and_loads_as_skyrl_reads_it(tmp_path: Path):
    """One row per task and hint level: the manifest's columns, and the Harbor task directory
    as a tarball in `task_binary` under `path` (what SkyRL's prepare_harbor_dataset.py reads).
    The card's YAML header points the Hub at the Parquet file; the tarball is the same bytes
    for the same files, and unpacks to exactly the files render_harbor wrote, modes kept."""
    import io
    import tarfile

    import datasets
    import pyarrow.parquet as pq

    from cligym.package.export.card import render_card
    from cligym.package.export.layouts import EXECUTABLES
    from cligym.package.export.manifest import HF_DATA_FILE, task_tarball, write_hf_dataset

    items = [_item(), _item("category")]
    files = [render_harbor(i) for i in items]
    rows = [
        {"path": i.dir_name, "task_binary": task_tarball(f), **manifest_row(i)}
        for i, f in zip(items, files, strict=True)
    ]
    assert task_tarball(files[0]) == rows[0]["task_binary"]  # reproducible
    card = render_card(rows, "images/gold-images.tar.gz")
    write_hf_dataset(rows, tmp_path, card)
    header = yaml.safe_load(card.split("---")[1])
    assert header["configs"][0]["data_files"][0]["path"] == "data/train-*.parquet"
    assert "1 tasks (2 rows" in card and "docker load -i images/gold-images.tar.gz" in card
    # SkyRL: pyarrow, the two columns by name
    table = pq.read_table(tmp_path / HF_DATA_FILE)
    assert {"path", "task_binary"} <= set(table.schema.names)
    ds = datasets.load_dataset(
        "parquet", data_files=str(tmp_path / "data" / "*.parquet"), split="train",
        cache_dir=str(tmp_path / "hf"),
    )
    assert ds.num_rows == 2 and ds[1]["hint_level"] == "category"
    for row, written in zip(ds, files, strict=True):
        out = tmp_path / "tasks" / row["path"]
        with tarfile.open(fileobj=io.BytesIO(row["task_binary"]), mode="r:*") as tar:
            tar.extractall(out, filter="data")
        unpacked = {
            str(f.relative_to(out)): f.read_bytes() for f in out.rglob("*") if f.is_file()
        }
        assert unpacked == written
        assert all((out / name).stat().st_mode & 0o111 for name in EXECUTABLES & set(written))
        assert tomllib.loads((out / "task.toml").read_text())["metadata"]["hint_level"] == (
            row["hint_level"]
        )


def test_issue_record_instruction_levels():
    issue = IssueText(task_id="t", writer="template", seed=0, title="T", body="B",
                      hints={"category": "C"}, created_at=datetime.now(UTC))
    assert issue.instruction() == "# T\n\nB\n"
    assert issue.instruction("category").endswith("Hint: C\n")
    assert issue.instruction("specific") == issue.instruction()


# --------------------------------------------------------------------------- LLM issue writer
def test_llm_issue_writer_is_held_to_the_leak_checker():
    from cligym.llm.client import LlmSpec
    from cligym.package.text.llm_issue import write_llm_issue
    from tests.fakellm import FakeLLM, Item

    task, gold = _task(), _gold()
    secrets = secrets_for(task)
    clean = json.dumps({"title": "sqlite tests fail", "body": "Running the suite fails: ..."})
    leaky = json.dumps({"title": "broken lib", "body": f"I think {LIB} is corrupt"})
    with FakeLLM() as fake:
        fake.script("good", [Item(content="Sure!\n" + clean)])
        fake.script("learns", [Item(content=leaky), Item(content=clean)])
        fake.script("stubborn", [Item(content=leaky)])
        fake.script("chatty", [Item(content="no json here")])
        spec = lambda m: LlmSpec(m, fake.url, "sk-test", backoff_max_sec=0.01)  # noqa: E731
        issue, reason, tokens = write_llm_issue(task, gold, secrets, spec("good"))
        assert issue is not None and issue.writer == "llm:good" and tokens == 120
        assert issue.title == "sqlite tests fail" and issue.hints == task.hints
        prompt = fake.requests[0]["messages"][0]["content"]
        assert TESTS[0] in prompt and LIB not in prompt  # symptoms only, redacted
        issue, reason, _ = write_llm_issue(task, gold, secrets, spec("learns"))
        assert issue is not None
        feedback = fake.requests[-1]["messages"][-1]["content"]
        assert "names the fault's target path" in feedback
        issue, reason, tokens = write_llm_issue(task, gold, secrets, spec("stubborn"))
        assert issue is None and reason.startswith("issue text leaks") and tokens == 360
        issue, reason, _ = write_llm_issue(task, gold, secrets, spec("chatty"))
        assert issue is None and "not JSON" in reason


def test_gold_images_go_into_one_archive_that_later_exports_extend(tmp_path: Path):
    """One archive holds every gold image (shared layers once). A later export into the same
    directory adds its images and keeps those already there while they exist; an export of
    images the archive holds writes nothing; files of the one-per-image layout go."""
    from cligym.harness.datasets import archives_by_tag
    from cligym.package.export.writer import GOLD_ARCHIVE, _save_gold_images
    from cligym.progress import NULL_REPORTER
    from cligym.runtime.fake import FakeRuntime

    fake = FakeRuntime()

    def gold_image(tag: str):
        image_id = fake.add_image(tag).id
        return make_gold("a" * 16).model_copy(update={"image_tag": tag, "image_id": image_id})

    a, b = gold_image("g/alpha:1"), gold_image("g/beta:1")
    images = tmp_path / "images"
    images.mkdir()
    (images / "alpha-old.tar.gz").write_bytes(b"old")  # an older export's own file for alpha
    (images / "index.json").write_text(json.dumps({"alpha-old.tar.gz": {"image_tag": a.image_tag}}))

    def saves() -> list[str]:
        return [c.image for c in fake.calls_of("save_image")]

    files = _save_gold_images(fake, [a], images, NULL_REPORTER)
    assert [f.file for f in files] == [f"images/{GOLD_ARCHIVE}"] and saves() == ["g/alpha:1"]
    assert not (images / "alpha-old.tar.gz").exists()
    _save_gold_images(fake, [b], images, NULL_REPORTER)
    assert saves()[-1] == "g/alpha:1 g/beta:1"  # alpha's tasks may still be in the directory
    _save_gold_images(fake, [a, b], images, NULL_REPORTER)
    assert len(saves()) == 2  # the archive holds both already
    index = json.loads((images / "index.json").read_text())
    assert index == {GOLD_ARCHIVE: {"images": {"g/alpha:1": a.image_id, "g/beta:1": b.image_id}}}
    assert archives_by_tag(index) == {"g/alpha:1": GOLD_ARCHIVE, "g/beta:1": GOLD_ARCHIVE}
    assert archives_by_tag({"x.tar.gz": {"image_tag": "g/x:1"}}) == {"g/x:1": "x.tar.gz"}
    del fake.images[a.image_tag]  # gone from this machine: the next archive cannot hold it
    _save_gold_images(fake, [gold_image("g/beta:2")], images, NULL_REPORTER)
    assert saves()[-1] == "g/beta:1 g/beta:2"
