"""The Docker adapter against the real engine: limits, labels, timeouts, copy, diff, gc."""

from __future__ import annotations

from pathlib import Path

import pytest

from cligym.errors import CommandTimeoutError, DockerUnavailableError
from cligym.runtime.docker import LABEL_IMAGE, LABEL_RUN, DockerRuntime

pytestmark = pytest.mark.docker


def test_run_applies_limits_labels_and_removes_container(runtime, workspace, no_new_containers):
    base = workspace.settings.base_image
    result, files = runtime.run(
        base,
        [
            "sh",
            "-c",
            "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max;"
            " mkdir -p /tmp/out && echo hi > /tmp/out/f.txt",
        ],
        stage="test",
        timeout_sec=30,
        collect=["/tmp/out"],
    )
    assert result.ok, result.output
    assert result.output.strip() == str(runtime.limits.pids)
    assert b"f.txt" in files["/tmp/out"]


def test_run_timeout_kills_and_reports(runtime, workspace, no_new_containers):
    result, _ = runtime.run(
        workspace.settings.base_image, ["sleep", "600"], stage="test", timeout_sec=2
    )
    assert result.timed_out and not result.ok
    assert result.duration_sec < 60


def test_exec_copy_diff_commit(runtime, workspace, tmp_path: Path, no_new_containers):
    src = tmp_path / "payload.txt"
    src.write_text("payload")
    with runtime.container(workspace.settings.base_image, stage="test") as box:
        info = runtime.client.api.inspect_container(box.id)
        host = info["HostConfig"]
        assert host["NanoCpus"] == int(runtime.limits.cpus * 1e9)
        assert host["Memory"] == runtime.limits.memory_mb * 2**20
        assert host["PidsLimit"] == runtime.limits.pids
        assert info["Config"]["Labels"][LABEL_RUN] == runtime.run_id
        runtime.copy_in(box, src, "/tmp")
        result = runtime.exec(
            box,
            [
                "sh",
                "-c",
                "cat /tmp/payload.txt && rm /etc/hostname.bak 2>/dev/null; echo x > /etc/added",
            ],
            timeout_sec=30,
        )
        assert result.output.startswith("payload")
        assert runtime.read_file(box, "/etc/added") == b"x\n"
        copied = runtime.copy_out(box, "/etc/added", tmp_path / "out")
        assert copied and copied[0].read_text() == "x\n"
        changes = {(d.kind, d.path) for d in runtime.diff(box)}
        assert ("A", "/etc/added") in changes
        image = runtime.commit(box, "cligym-test/commit", "t", kind="test")
    try:
        assert runtime.image_labels(image)[LABEL_IMAGE] == "test"
    finally:
        runtime.remove_image(image)


def test_exec_timeout_is_bounded(runtime, workspace, no_new_containers):
    with runtime.container(workspace.settings.base_image, stage="test") as box:
        result = runtime.exec(box, ["sleep", "600"], timeout_sec=2)
        assert result.timed_out


def test_exec_client_side_deadline(runtime, workspace, monkeypatch, no_new_containers):
    import cligym.runtime.docker as mod

    monkeypatch.setattr(mod, "_CLIENT_SLACK_SEC", -6)  # client gives up before `timeout -k` fires
    with (
        runtime.container(workspace.settings.base_image, stage="test") as box,
        pytest.raises(CommandTimeoutError),
    ):
        runtime.exec(box, ["sleep", "600"], timeout_sec=3)


def test_fork_bomb_is_contained(runtime, workspace, no_new_containers):
    bomb = "b() { b | b & }; b; sleep 3; echo survived"
    result, _ = runtime.run(
        workspace.settings.base_image, ["bash", "-c", bomb], stage="test", timeout_sec=20
    )
    assert result.duration_sec < 90  # returned; the host is fine


def test_gc_removes_dead_runs_only_and_never_unlabelled(runtime, workspace):
    dead = DockerRuntime(run_id="20200101000000-999999-dead")
    base = workspace.settings.base_image
    orphan = dead.client.containers.create(base, ["sleep", "1"], labels=dead.labels("test"))
    live = runtime.client.containers.create(base, ["sleep", "1"], labels=runtime.labels("test"))
    stranger = runtime.client.containers.create(base, ["sleep", "1"], labels={"other": "1"})
    try:
        report = DockerRuntime().gc(keep_images=set(), remove_images=False)
        ids = {c.id for c in runtime.client.containers.list(all=True)}
        assert orphan.id not in ids
        assert live.id in ids and stranger.id in ids
        assert orphan.short_id in report.containers
    finally:
        for c in (live, stranger):
            c.remove(force=True)


def test_daemon_unreachable_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(DockerUnavailableError, match="start it with"):
        DockerRuntime()
