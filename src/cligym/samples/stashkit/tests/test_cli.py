"""The command-line interface, driven in-process through ``main()``."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from stashkit import __version__
from stashkit.cli import main
from stashkit.manifest import read_manifest
from stashkit.secure import verify_manifest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("STASHKIT_HOME", str(path))
    return path


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    path = tmp_path / "artifact.bin"
    path.write_bytes(b"\x00\x01binary artifact\n" * 64)
    return path


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"stashkit {__version__}"


def test_put_get_rm(home: Path, artifact: Path, tmp_path: Path, capsys) -> None:
    assert main(["put", str(artifact), "--tag", "nightly"]) == 0
    assert capsys.readouterr().out.startswith("stored artifact.bin ")
    out_file = tmp_path / "copy.bin"
    assert main(["get", "artifact.bin", "-o", str(out_file)]) == 0
    assert out_file.read_bytes() == artifact.read_bytes()
    assert main(["rm", "artifact.bin"]) == 0
    assert main(["get", "artifact.bin"]) == 1
    assert "no entry named 'artifact.bin'" in capsys.readouterr().err


def test_list_in_configured_zone(
    home: Path, artifact: Path, monkeypatch: pytest.MonkeyPatch, capsys, restore_locale
) -> None:
    monkeypatch.setenv("STASHKIT_TZ", "Europe/Berlin")
    assert main(["put", str(artifact), "--name", "b.bin"]) == 0
    assert main(["put", str(artifact), "--name", "A.bin"]) == 0
    capsys.readouterr()
    assert main(["list", "--format", "plain"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["name", "A.bin", "b.bin"]
    assert "1.1 KiB" in lines[1]  # 1152 bytes
    assert lines[1].split()[-1] in {"CET", "CEST"}


def test_signed_manifest_export(home: Path, artifact: Path, tmp_path: Path, capsys) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("hmac_key: cli-test-key\n", encoding="utf-8")
    assert main(["--config", str(config), "put", str(artifact)]) == 0
    target = tmp_path / "manifest.json.gz"
    assert main(["--config", str(config), "export-manifest", str(target), "--sign"]) == 0
    manifest = read_manifest(target)
    verify_manifest(manifest, "cli-test-key")
    assert [e["name"] for e in manifest["entries"]] == ["artifact.bin"]
    assert main(["--config", str(config), "import-manifest", str(target)]) == 0
    assert "imported 0 of 1 entries" in capsys.readouterr().out


def test_bundle_command(home: Path, artifact: Path, tmp_path: Path) -> None:
    assert main(["put", str(artifact)]) == 0
    bundle = tmp_path / "release.tar"
    assert main(["bundle", str(bundle)]) == 0
    with tarfile.open(bundle) as tf:
        assert sorted(tf.getnames()) == ["MANIFEST.json", "artifact.bin"]


def test_usage_and_config_errors(home: Path, tmp_path: Path, capsys) -> None:
    assert main([]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("level: eleven\n", encoding="utf-8")
    assert main(["--config", str(bad), "list"]) == 2
    assert "'level' must be an integer" in capsys.readouterr().err
    assert main(["list"]) == 1
    assert "no stash at" in capsys.readouterr().err


def test_doctor_reports_environment(home: Path, capsys, restore_locale) -> None:
    import ssl

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert ssl.OPENSSL_VERSION in out
    assert "CSafeLoader" in out
    assert not any(line.startswith("FAIL") for line in out.splitlines())


def test_doctor_flags_missing_tar(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, restore_locale
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["doctor"]) == 1
    failing = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL")]
    assert len(failing) == 1 and "tar" in failing[0]
