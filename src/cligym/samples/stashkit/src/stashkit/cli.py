"""Command-line interface: ``stashkit <command> ...``.

Subsystems are imported inside the command that needs them, which keeps
``stashkit --version`` fast and lets ``stashkit doctor`` report on a broken
dependency instead of crashing at start-up.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from stashkit import __version__
from stashkit.errors import SignatureError, StashError

if TYPE_CHECKING:
    from stashkit.config import Config
    from stashkit.store import Stash

PROG = "stashkit"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for the ``stashkit`` command."""
    parser = argparse.ArgumentParser(prog=PROG, description="A tiny local artifact stash.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--config", type=Path, help="configuration file to use")
    parser.add_argument("--home", type=Path, help="stash directory (overrides config)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sub.add_parser("init", help="create an empty stash")

    p = sub.add_parser("put", help="add files to the stash")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--name", help="entry name (only with a single file)")
    p.add_argument("--tag", action="append", default=[], help="tag to attach (repeatable)")

    p = sub.add_parser("get", help="write an entry's content to a file or stdout")
    p.add_argument("name")
    p.add_argument("-o", "--output", type=Path)

    p = sub.add_parser("list", help="list entries")
    p.add_argument("--tag")
    p.add_argument("--format", default="simple", help="tabulate table format")
    p.add_argument("--tz", help="time zone for timestamps (default: configured)")

    p = sub.add_parser("rm", help="remove an entry")
    p.add_argument("name")

    sub.add_parser("verify", help="check every blob against its digest")

    p = sub.add_parser("export-manifest", help="write a JSON manifest (.gz to compress)")
    p.add_argument("output", type=Path)
    p.add_argument("--tag")
    p.add_argument("--sign", action="store_true", help="sign with the configured hmac_key")

    p = sub.add_parser("import-manifest", help="re-register entries from a manifest")
    p.add_argument("manifest", type=Path)
    p.add_argument("--require-signature", action="store_true")

    p = sub.add_parser("bundle", help="pack entries into a tar archive")
    p.add_argument("output", type=Path)
    p.add_argument("names", nargs="*", help="entries to include (default: all)")

    sub.add_parser("doctor", help="report on the environment stashkit depends on")
    return parser


def _open(config: Config, *, create: bool = False) -> Stash:
    from stashkit.store import Stash

    return Stash.open(config.home, level=config.level, create=create)


def cmd_init(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    with _open(config, create=True) as stash:
        print(f"initialised stash at {stash.root}", file=out)
    return 0


def cmd_put(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    if args.name and len(args.files) > 1:
        raise StashError("--name can only be used with a single file")
    with _open(config, create=True) as stash:
        for source in args.files:
            entry = stash.put(source, name=args.name, tags=args.tag)
            print(f"stored {entry.name} {entry.digest[:12]} ({entry.size} bytes)", file=out)
    return 0


def cmd_get(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    with _open(config) as stash:
        data = stash.get(args.name)
    if args.output:
        args.output.write_bytes(data)
    else:
        out.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def cmd_list(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    from stashkit.listing import render_table
    from stashkit.localeutil import format_size, sort_names, use_locale
    from stashkit.timeutil import get_zone

    use_locale(config.locale)
    zone = get_zone(args.tz or config.timezone)
    with _open(config) as stash:
        entries = {e.name: e for e in stash.entries(args.tag)}
    ordered = [entries[n] for n in sort_names(entries)]
    print(render_table(ordered, tz=zone, tablefmt=args.format, size_fmt=format_size), file=out)
    return 0


def cmd_rm(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    with _open(config) as stash:
        entry = stash.remove(args.name)
    print(f"removed {entry.name}", file=out)
    return 0


def cmd_verify(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    with _open(config) as stash:
        problems = stash.verify()
        count = len(stash.entries())
    for problem in problems:
        print(f"BAD  {problem}", file=out)
    print(f"{count - len(problems)}/{count} entries OK", file=out)
    return 1 if problems else 0


def cmd_export_manifest(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    from stashkit.manifest import write_manifest
    from stashkit.secure import sign_manifest

    with _open(config) as stash:
        manifest = stash.manifest(args.tag)
    if args.sign:
        if not config.hmac_key:
            raise StashError("--sign needs 'hmac_key' in the configuration")
        manifest = sign_manifest(manifest, config.hmac_key)
    write_manifest(args.output, manifest)
    print(f"wrote {len(manifest['entries'])} entries to {args.output}", file=out)
    return 0


def cmd_import_manifest(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    from stashkit.manifest import read_manifest
    from stashkit.secure import verify_manifest

    manifest = read_manifest(args.manifest)
    if args.require_signature or "signature" in manifest:
        if not config.hmac_key:
            raise SignatureError("manifest is signed but no 'hmac_key' is configured")
        verify_manifest(manifest, config.hmac_key)
    with _open(config) as stash:
        added = stash.import_manifest(manifest)
    print(f"imported {len(added)} of {len(manifest['entries'])} entries", file=out)
    return 0


def cmd_bundle(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    from stashkit.bundle import create_bundle, list_bundle
    from stashkit.manifest import build_manifest, dumps_manifest

    with _open(config) as stash:
        names = args.names or [e.name for e in stash.entries()]
        members = {name: stash.get(name) for name in names}
        entries = [stash.entry(name) for name in names]
    members["MANIFEST.json"] = dumps_manifest(build_manifest(entries)).encode("utf-8")
    create_bundle(args.output, members)
    print(f"bundled {len(list_bundle(args.output)) - 1} entries into {args.output}", file=out)
    return 0


def _doctor_checks(config: Config) -> list[tuple[str, Callable[[], str]]]:
    """Named probes of every library and tool stashkit relies on."""

    def openssl() -> str:
        from stashkit.secure import openssl_version

        return openssl_version()

    def ca_certs() -> str:
        from stashkit.secure import ca_certificate_count

        count = ca_certificate_count()
        if count == 0:
            raise StashError("no CA certificates in the default trust store")
        return f"{count} CA certificates"

    def sqlite() -> str:
        from stashkit.metadata import sqlite_version

        return sqlite_version()

    def zlib() -> str:
        from stashkit.archive import zlib_version

        return zlib_version()

    def libyaml() -> str:
        import yaml

        from stashkit.config import yaml_loader

        return f"PyYAML {yaml.__version__} ({yaml_loader().__name__})"

    def tabulate() -> str:
        import tabulate

        return f"tabulate {getattr(tabulate, '__version__', 'unknown')}"

    def tar() -> str:
        from stashkit.bundle import find_tar

        return find_tar()

    def zone() -> str:
        from stashkit.timeutil import get_zone

        get_zone(config.timezone)
        return config.timezone

    def locale() -> str:
        from stashkit.localeutil import use_locale

        return use_locale(config.locale)

    def stash_state() -> str:
        if not (config.home / "stash.db").is_file():
            return f"{config.home} (not initialised)"
        with _open(config) as stash:
            count, size, _ = stash.meta.totals()
        return f"{config.home} ({count} entries, {size} bytes)"

    return [
        ("stashkit", lambda: __version__),
        ("python", platform.python_version),
        ("openssl", openssl),
        ("ca-certificates", ca_certs),
        ("sqlite", sqlite),
        ("zlib", zlib),
        ("libyaml", libyaml),
        ("tabulate", tabulate),
        ("tar", tar),
        ("timezone", zone),
        ("locale", locale),
        ("stash", stash_state),
    ]


def cmd_doctor(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    failures = 0
    for name, check in _doctor_checks(config):
        try:
            detail, status = check(), "ok"
        except Exception as exc:  # report every failing check, keep going
            detail, status = f"{type(exc).__name__}: {exc}", "FAIL"
            failures += 1
        print(f"{status:<4}  {name:<16} {detail}", file=out)
    return 1 if failures else 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Config, TextIO], int]] = {
    "init": cmd_init,
    "put": cmd_put,
    "get": cmd_get,
    "list": cmd_list,
    "rm": cmd_rm,
    "verify": cmd_verify,
    "export-manifest": cmd_export_manifest,
    "import-manifest": cmd_import_manifest,
    "bundle": cmd_bundle,
    "doctor": cmd_doctor,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stashkit`` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 2
    try:
        from stashkit.config import load_config

        config = load_config(args.config)
        if args.home is not None:
            config = dataclasses.replace(config, home=args.home)
        return COMMANDS[args.command](args, config, sys.stdout)
    except StashError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
