"""Leak audit, diff cleaning, restore plan, dedupe signatures, difficulty, attempt judging."""

import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from cligym.dedupe import error_signature, normalize_error
from cligym.faults.registry import families
from cligym.invert.search import plan_selection, plan_singles
from cligym.records import DEFAULT_LAYOUT, Candidate, FaultCategory, FaultTarget
from cligym.testbed.attempt import judge, render_attempt_script
from cligym.verify.contract import RestorePlan, clean_diff, render_task_dockerfile
from cligym.verify.leaks import PathStat, audit_leaks, parse_stat_lines
from cligym.verify.noise import with_noise
from cligym.verify.scoring import difficulty
from tests.unit.fault_fixtures import TESTS, context

GOLD_TIME = 1_700_000_000
OLD = PathStat("regular file", GOLD_TIME - 100, 10)
NEW = PathStat("regular file", GOLD_TIME + 100, 10)


def leaks_of(diff, stats):
    return [
        (leak.path, leak.reason)
        for leak in audit_leaks(diff, stats, GOLD_TIME, ("/etc/profile.d",))
    ]


def test_each_kind_of_leak_is_caught():
    diff = [
        ("C", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6"),
        ("A", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6.bak"),
        ("A", "/root/.bash_history"),
        ("A", "/root/.cache/pip/http/abc"),
        ("A", "/var/cache/apt/archives/tar.deb"),
        ("C", "/var/log/dpkg.log"),
        ("D", "/usr/bin/tar"),
        ("A", "/opt/stash/tar"),
        ("A", "/tmp/break.sh"),
        ("C", "/etc/ssl/openssl.cnf"),
        ("A", "/etc/profile.d/zz-path.sh"),
    ]
    stats = {p: NEW for _, p in diff}
    stats["/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6"] = OLD
    found = dict(leaks_of(diff, stats))
    assert found == {
        "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6.bak": "backup file",
        "/root/.bash_history": "shell history",
        "/root/.cache/pip/http/abc": "package cache",
        "/var/cache/apt/archives/tar.deb": "package cache",
        "/var/log/dpkg.log": "log written by the fault",
        "/opt/stash/tar": "copy of a removed file",
        "/tmp/break.sh": "leftover file",
        "/etc/ssl/openssl.cnf": "modified file has a new mtime",
        "/etc/profile.d/zz-path.sh": "added file has a new mtime",
    }


def test_clean_fault_has_no_leaks():
    diff = [
        ("C", "/usr"),
        ("C", "/usr/bin"),
        ("D", "/usr/bin/tar"),
        ("C", "/usr/lib/libx.so"),
        ("A", "/etc/profile.d/zz-path.sh"),
    ]
    stats = {
        "/usr/lib/libx.so": OLD,
        "/etc/profile.d/zz-path.sh": OLD,
        "/usr": PathStat("directory", GOLD_TIME + 5, 0),
    }
    assert leaks_of(diff, stats) == []


def test_parse_stat_lines():
    stats = parse_stat_lines("/a b|regular file|123|9\n/dir|directory|5|4096\ngarbage\n")
    assert stats["/a b"] == PathStat("regular file", 123, 9) and stats["/dir"].kind == "directory"


def test_stat_of_many_paths_parses_across_exec_chunks():
    """A fault that touches every file of a big repo (app-read-only on 1,160 files) is stat'ed
    200 paths per exec; the joined output must parse into one row per path."""
    from types import SimpleNamespace

    from cligym.verify.contract import _stat
    from cligym.verify.leaks import stat_rows

    paths = [f"/app/pkg/mod_{i}.py" for i in range(450)] + ["/app/odd|name.py"]

    class FakeRuntime:
        def exec(self, box, cmd, timeout_sec):
            chunk = cmd[4:]  # sh -c SCRIPT stat PATH...
            lines = "".join(f"{p}|regular file|644|0|0|1700000000\n" for p in chunk)
            return SimpleNamespace(output=lines)

    text = _stat(FakeRuntime(), None, paths, "%n|%F|%a|%u|%g|%Y")  # type: ignore[arg-type]
    rows = stat_rows(text, 6)
    assert [r[0] for r in rows] == paths
    assert stat_rows("\nstat: garbage\n/a|directory|755|0|0|1\n", 6) == [
        ("/a", "directory", "755", "0", "0", "1")
    ]


def test_rejection_reasons_quote_whole_last_lines():
    from cligym.testbed.attempt import last_line
    from cligym.verify.contract import is_network_error

    apt = (
        "Err:1 http://deb.debian.org/debian bookworm InRelease\n"
        "E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  \n\n"
    )
    assert last_line(apt) == "E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease"
    assert last_line("") == "(no output)"
    assert is_network_error(apt)
    assert is_network_error("pip._vendor.urllib3.exceptions.NewConnectionError: Failed to ...")
    assert not is_network_error("E: Unable to locate package libffi9")  # a wrong fix, not flaky
    assert last_line("x" * 500) == "…" + "x" * 160


def test_clean_diff_drops_docker_runtime_noise():
    raw = [
        ("C", "/usr"),
        ("C", "/usr/sbin"),
        ("A", "/usr/sbin/docker-init"),
        ("C", "/etc"),
        ("C", "/etc/hosts"),
        ("C", "/opt"),
        ("C", "/opt/x"),
        ("C", "/usr/bin"),
        ("D", "/usr/bin/tar"),
    ]
    assert clean_diff(raw) == [
        ("C", "/usr"),
        ("C", "/opt"),
        ("C", "/opt/x"),
        ("C", "/usr/bin"),
        ("D", "/usr/bin/tar"),
    ]


def test_restore_plan_script_and_task_dockerfile():
    plan = RestorePlan(
        archives=(("/usr/bin", b"tar"),),
        remove=("/etc/profile.d/zz x.sh",),
        dir_meta=(("/usr/bin", "755", "0", "0", "1700000000"),),
    )
    script = plan.script()
    assert script.startswith("rm -rf -- '/etc/profile.d/zz x.sh' && chown 0:0 /usr/bin")
    assert RestorePlan((), (), ()).script() == "true"
    ctx = context()
    text = render_task_dockerfile(ctx.gold, ["chmod 0600 /x", "rm -f /y"])
    lines = text.splitlines()
    assert lines[0] == f"FROM {ctx.gold.image_tag}" and len(lines) == 2
    assert lines[1] == f"RUN {with_noise(['chmod 0600 /x', 'rm -f /y'])}"
    assert lines[1].index("( chmod 0600 /x )") < lines[1].index("( rm -f /y )")
    assert render_task_dockerfile(ctx.gold, []) == f"FROM {ctx.gold.image_tag}\n"


def _times(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_ctime_ns


def test_noise_refreshes_change_times_only_and_never_hides_a_failed_step(tmp_path: Path):
    """Run for real under sh, over a scratch tree instead of the image's roots."""
    tree = tmp_path / "tree"
    for i in range(400):
        (tree / f"d{i % 7}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i % 7}" / f"f{i}").write_text(str(i))
    (tree / "keep.bak").write_text("backup-looking")
    files = sorted(p for p in tree.rglob("*") if p.is_file())
    os.utime(tree / "keep.bak", ns=(10**18, 10**18))
    for f in files:
        os.utime(f, ns=(10**18, 10**18))  # an mtime of 2001, the change time now
    before = {f: _times(f) for f in files}
    data = {f: f.read_bytes() for f in files}
    time.sleep(0.05)
    marker = tmp_path / "marker"
    ok = subprocess.run(
        ["sh", "-c", with_noise(["true", f"touch {marker}"], roots=(str(tree),))], check=False
    )
    assert ok.returncode == 0 and marker.exists()
    after = {f: _times(f) for f in files}
    refreshed = [f for f in files if after[f][1] != before[f][1]]
    assert 0 < len(refreshed) < len(files)  # about SHARE of them
    assert all(after[f][0] == before[f][0] and f.read_bytes() == data[f] for f in files)
    assert tree / "keep.bak" not in refreshed
    assert sorted(p for p in tree.rglob("*") if p.is_file()) == files  # nothing created
    # a failed step fails the whole command, and no later step runs
    marker.unlink()
    failed = subprocess.run(
        ["sh", "-c", with_noise(["false", f"touch {marker}"], roots=(str(tree),))], check=False
    )
    assert failed.returncode != 0 and not marker.exists()
    # the same steps get the same noise; other steps other noise
    assert with_noise(["a"]) == with_noise(["a"]) != with_noise(["b"])


def test_error_signature_ignores_noise():
    a = {"t1": "Traceback ...\nOSError: [Errno 13] Permission denied: '/tmp/pytest-1/x' at 0xdead"}
    b = {"t9": "OSError: [Errno 13] Permission denied: '/tmp/pytest-7/y' at 0xbeef"}
    assert normalize_error(a["t1"]) == normalize_error(b["t9"])
    assert error_signature(a) == error_signature(b)
    assert error_signature({"t": "ImportError: no module named yaml"}) != error_signature(a)


def _candidate(faults, failing, categories):
    return Candidate(
        id="c",
        gold_id="g",
        faults=faults,
        families=tuple(f.family for f in faults),
        categories=categories,
        steps=("true",),
        solution=("true",),
        needs_network=False,
        failing=failing,
        created_at=datetime.now(UTC),
    )


def test_difficulty_grows_with_faults_distance_and_subtlety():
    near = _candidate(
        (FaultTarget(family="dist-removed", resource="dist:PyYAML", params=(("module", "yaml"),)),),
        ("t1",) * 50,
        (FaultCategory.DEPENDENCIES,),
    )
    easy, label = difficulty(
        near, {"t1": "ModuleNotFoundError: No module named 'yaml'"}, 100, False
    )
    far = _candidate(
        (
            FaultTarget(family="elf-header-corrupt", resource="lib:/usr/lib/libffi.so.8"),
            FaultTarget(family="path-truncated", resource="env:PATH"),
        ),
        ("t1",),
        (FaultCategory.SHARED_LIBRARIES, FaultCategory.ENVIRONMENT),
    )
    hard, hard_label = difficulty(far, {"t1": "Segmentation fault"}, 100, False)
    assert easy < hard and label == "easy" and hard_label == "hard"


def test_judge_counts_missing_and_collection_errors_as_failing():
    junit = """<testsuites><testsuite>
      <testcase classname="tests.test_a" name="test_ok" file="tests/test_a.py"/>
      <testcase classname="" name="tests.test_b" file="tests/test_b.py">
        <error message="collection failure">ImportError: boom</error></testcase>
    </testsuite></testsuites>"""
    stable = ["tests/test_a.py::test_ok", "tests/test_b.py::test_x", "tests/test_c.py::test_y"]
    failing, errors, seen, broken = judge(stable, None, junit)
    assert failing == ("tests/test_b.py::test_x", "tests/test_c.py::test_y")
    assert "boom" in errors["tests/test_b.py::test_x"] and not broken and seen == 2
    failing, _, _, broken = judge(stable, None, None)
    assert broken and failing == tuple(sorted(stable))


def test_attempt_script_applies_steps_then_runs_tests_unprivileged():
    script = render_attempt_script(["chmod 0600 /x"], "pytest -q", DEFAULT_LAYOUT)
    lines = script.splitlines()
    assert lines[0] == "set -e" and lines[1] == "( chmod 0600 /x )"
    assert "runuser -u tester -- bash -lc 'pytest -q'" in lines[-1]


def test_plans_are_deterministic_and_spread_over_families():
    ctx = context()
    fams = families()
    first = plan_singles(ctx, fams, seed=3)
    assert first == plan_singles(ctx, fams, seed=3)
    assert first != plan_singles(ctx, fams, seed=4)
    head = [t.family for t in first[:15]]
    assert len(set(head)) == 15  # round-robin: no family twice before all had a turn
    assert plan_selection(TESTS, TESTS[:1], seed=1) is None  # small suites always run whole
    big = [f"t::{i}" for i in range(1000)]
    chosen = plan_selection(big, big[:3], seed=1)
    assert chosen is not None and set(big[:3]) <= set(chosen) and len(chosen) == 23


def test_a_slow_suite_runs_a_selection_whatever_its_size():
    """A 60 s suite of 200 tests: an attempt runs what the impact map predicts plus a sample,
    not the whole suite (only one that fails something runs it whole, to confirm)."""
    slow = [f"t::{i}" for i in range(200)]
    assert plan_selection(slow, slow[:3], seed=1, run_sec=5.0) is None
    chosen = plan_selection(slow, slow[:3], seed=1, run_sec=60.0)
    assert chosen is not None and set(slow[:3]) <= set(chosen) and len(chosen) == 23
    # a selection as large as the suite is the suite
    assert plan_selection(slow[:10], slow[:3], seed=1, run_sec=60.0) is None


def test_single_picker_defers_resources_that_broke_nothing():
    from datetime import UTC, datetime

    from cligym.invert.search import NO_FAILURE, SinglePicker, _SearchState
    from cligym.records import Attempt

    def target(family: str, resource: str, tests: tuple[str, ...]) -> FaultTarget:
        return FaultTarget(family=family, resource=resource, predicted_tests=tests)

    def attempt(accepted: bool, reason: str) -> Attempt:
        return Attempt(
            id="a", gold_id="g", run_id="r", seed=0, index=0, families=("f",), resources=("env:X",),
            accepted=accepted, reason=reason, failing_count=0, duration_sec=0.1,
            created_at=datetime.now(UTC),
        )

    order = [
        target("sitecustomize-hook", "env:SSL_CERT_FILE", ("t1",)),
        target("elf-header-corrupt", "lib:/usr/lib/libssl.so.3", ("t1",)),
        target("profile-env-poisoned", "env:SSL_CERT_FILE", ("t1",)),
        target("stale-bytecode", "module:json", ("t2",)),
        target("ld-library-path-shadow", "lib:/usr/lib/libssl.so.3", ("t1",)),
    ]
    state, picker = _SearchState(), SinglePicker(list(order))
    first = picker.next(state)
    assert first == order[0]
    picker.record(state, first, attempt(False, NO_FAILURE))  # SSL_CERT_FILE is inert
    second = picker.next(state)
    assert second == order[1]
    picker.record(state, second, attempt(True, "ok"))  # libssl broke tests: stays in the queue
    picks = [picker.next(state) for _ in range(4)]
    # the other SSL_CERT_FILE target waits until every other resource had its turn
    assert picks == [order[3], order[4], order[2], None]

    state, picker = _SearchState(), SinglePicker(list(order))
    picker.record(state, order[0], attempt(False, "steps failed: no such file"))
    assert [picker.next(state) for _ in range(5)] == order  # only a no-failure run is evidence


def test_compositions_only_of_faults_that_each_fail_tests_of_their_own():
    from cligym.invert.search import every_part_shows

    def single(family: str, category: FaultCategory, failing: tuple[str, ...]) -> Candidate:
        fault = FaultTarget(family=family, resource=f"env:{family}")
        return _candidate((fault,), failing, (category,))

    everything = single("tmp-not-writable", FaultCategory.FILESYSTEM, ("t1", "t2", "t3"))
    json_only = single("stale-bytecode", FaultCategory.INTERPRETER, ("t1",))
    yaml_only = single("dist-removed", FaultCategory.DEPENDENCIES, ("t2",))
    yaml_and_json = single("lib-truncated", FaultCategory.SHARED_LIBRARIES, ("t1", "t2"))
    assert every_part_shows([json_only, yaml_only])
    assert every_part_shows([json_only, yaml_only, single("x", FaultCategory.ENVIRONMENT, ("t3",))])
    assert not every_part_shows([everything, json_only])  # the broken /tmp masks the module
    assert not every_part_shows([json_only, yaml_only, yaml_and_json])  # nothing of its own


def test_a_faults_own_added_file_must_not_be_newer_than_gold():
    """Exempt from the name patterns (a shim under /home), not from the timestamp check."""
    diff = [("A", "/home/tester/.local/bin/tar"), ("A", "/home/tester/.local/bin/gzip")]
    stats = {"/home/tester/.local/bin/tar": NEW, "/home/tester/.local/bin/gzip": OLD}
    leaks = audit_leaks(diff, stats, GOLD_TIME, allowed=("/home/tester/.local",))
    assert [(x.path, x.reason) for x in leaks] == [
        ("/home/tester/.local/bin/tar", "added file has a new mtime")
    ]
