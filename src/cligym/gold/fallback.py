"""A second recipe when the first one's install failed, read off its build log (pure).

Two failures a user would otherwise fix by hand, each answered as they would:
- a C extension that needs a system library's development files (a missing header, a
  pkg-config module, `xslt-config`, "make sure the libxml2 and libxslt development packages are
  installed"): install the Debian `-dev` packages the log names, and build again;
- a release whose sdist cannot be built here because its build backend needs a package this
  index does not hold (a hatch plugin, say): install the release's own wheel from the index and
  run the sdist's tests against it. Only for a PyPI release: a wheel of that exact version is
  the same code the sdist holds.
Anything else gets no second recipe: the first error is the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cligym.records import RecipeSpec, RepoSource
from cligym.testbed.layout import APP_DIR

# Header (path prefix or file name, as `#include` names it) -> Debian package with it.
HEADER_PACKAGES = {
    "libxml/": "libxml2-dev",
    "libxslt/": "libxslt1-dev",
    "libexslt/": "libxslt1-dev",
    "ffi.h": "libffi-dev",
    "openssl/": "libssl-dev",
    "yaml.h": "libyaml-dev",
    "zlib.h": "zlib1g-dev",
    "bzlib.h": "libbz2-dev",
    "lzma.h": "liblzma-dev",
    "zstd.h": "libzstd-dev",
    "lz4.h": "liblz4-dev",
    "snappy-c.h": "libsnappy-dev",
    "jpeglib.h": "libjpeg-dev",
    "png.h": "libpng-dev",
    "tiff.h": "libtiff-dev",
    "ft2build.h": "libfreetype-dev",
    "cairo.h": "libcairo2-dev",
    "cairo/": "libcairo2-dev",
    "glib.h": "libglib2.0-dev",
    "sqlite3.h": "libsqlite3-dev",
    "libpq-fe.h": "libpq-dev",
    "pg_config.h": "libpq-dev",
    "mysql.h": "default-libmysqlclient-dev",
    "mysql/": "default-libmysqlclient-dev",
    "curl/": "libcurl4-openssl-dev",
    "krb5.h": "libkrb5-dev",
    "gssapi/": "libkrb5-dev",
    "sasl/": "libsasl2-dev",
    "ldap.h": "libldap2-dev",
    "lber.h": "libldap2-dev",
    "xmlsec/": "libxmlsec1-dev",
    "expat.h": "libexpat1-dev",
    "gmp.h": "libgmp-dev",
    "mpfr.h": "libmpfr-dev",
    "mpc.h": "libmpc-dev",
    "uv.h": "libuv1-dev",
    "uuid/uuid.h": "uuid-dev",
    "magic.h": "libmagic-dev",
    "readline/": "libreadline-dev",
    "ncurses.h": "libncurses-dev",
    "curses.h": "libncurses-dev",
    "gdbm.h": "libgdbm-dev",
    "hdf5.h": "libhdf5-dev",
    "portaudio.h": "portaudio19-dev",
    "sndfile.h": "libsndfile1-dev",
    "systemd/": "libsystemd-dev",
    "dbus/": "libdbus-1-dev",
    "Python.h": "python3-dev",
}
# Library as pkg-config or a build script names it -> Debian package with its development files.
LIBRARY_PACKAGES = {
    "libxml2": "libxml2-dev",
    "libxml-2.0": "libxml2-dev",
    "libxslt": "libxslt1-dev",
    "libexslt": "libxslt1-dev",
    "libffi": "libffi-dev",
    "openssl": "libssl-dev",
    "libssl": "libssl-dev",
    "libcrypto": "libssl-dev",
    "yaml-0.1": "libyaml-dev",
    "libyaml": "libyaml-dev",
    "zlib": "zlib1g-dev",
    "libzstd": "libzstd-dev",
    "liblz4": "liblz4-dev",
    "liblzma": "liblzma-dev",
    "libjpeg": "libjpeg-dev",
    "libpng": "libpng-dev",
    "freetype2": "libfreetype-dev",
    "cairo": "libcairo2-dev",
    "glib-2.0": "libglib2.0-dev",
    "sqlite3": "libsqlite3-dev",
    "libpq": "libpq-dev",
    "libcurl": "libcurl4-openssl-dev",
    "krb5": "libkrb5-dev",
    "xmlsec1": "libxmlsec1-dev",
    "expat": "libexpat1-dev",
    "uuid": "uuid-dev",
    "hdf5": "libhdf5-dev",
    "libsystemd": "libsystemd-dev",
    "dbus-1": "libdbus-1-dev",
    "libuv": "libuv1-dev",
}
# A build tool or `*-config` script the log says is missing -> Debian package with it.
COMMAND_PACKAGES = {
    "xml2-config": "libxml2-dev",
    "xslt-config": "libxslt1-dev",
    "pg_config": "libpq-dev",
    "mysql_config": "default-libmysqlclient-dev",
    "curl-config": "libcurl4-openssl-dev",
    "pkg-config": "pkg-config",
    "swig": "swig",
    "cmake": "cmake",
    "gfortran": "gfortran",
}
_HEADER = re.compile(r"fatal error: ([\w./+-]+\.h): No such file or directory")
_PKG_CONFIG = re.compile(
    r"(?:Package '?([\w.+-]+)'?,? (?:required by [^,]+, )?was not found"
    r"|No package '([\w.+-]+)' found)"
)
_COMMAND = re.compile(
    r"\b(" + "|".join(re.escape(c) for c in COMMAND_PACKAGES) + r")\b"
    r"(?:: (?:command )?not found| executable not found| not found| is required)"
)
_DEV_PACKAGES = re.compile(
    r"make sure (?:that )?the ([\w .,+-]+?) development packages? (?:are|is) installed", re.I
)
_PROJECT_START = f"Obtaining file://{APP_DIR}"
_BUILD_ERROR = re.compile(
    r"^\s*(?:Installing build dependencies|Getting requirements to build"
    r"|Preparing (?:editable )?metadata|Building editable)"
    r".*finished with status 'error'"
)


MAX_RETRIES = 2  # system packages, then the release's wheel


@dataclass(frozen=True)
class Retry:
    """The recipe to build next, and why (shown to the user, kept in the recipe's notes)."""

    recipe: RecipeSpec
    reason: str


def missing_system_packages(log_text: str) -> tuple[str, ...]:
    """Debian packages with the headers, pkg-config modules and tools the log says are missing."""
    found: list[str] = []
    for header in _HEADER.findall(log_text):
        found += [
            pkg
            for key, pkg in HEADER_PACKAGES.items()
            if header == key or (key.endswith("/") and header.startswith(key))
        ]
    for first, second in _PKG_CONFIG.findall(log_text):
        name = first or second
        package = LIBRARY_PACKAGES.get(name) or LIBRARY_PACKAGES.get(f"lib{name}")
        found += [package] if package else []
    found += [COMMAND_PACKAGES[c] for c in _COMMAND.findall(log_text)]
    for names in _DEV_PACKAGES.findall(log_text):
        for name in re.split(r",\s*|\s+and\s+|\s+", names):
            package = LIBRARY_PACKAGES.get(name.strip()) or LIBRARY_PACKAGES.get(f"lib{name}")
            found += [package] if package else []
    return tuple(dict.fromkeys(found))


def project_build_failed(log_text: str) -> bool:
    """Whether pip failed while preparing the project itself (its build requirements, its
    metadata or its build), not one of the test requirements: the failing status line comes
    between `Obtaining file:///app` and the first top-level requirement after it."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", log_text)
    inside = False
    for line in plain.splitlines():
        if line.startswith(_PROJECT_START):
            inside = True
        elif inside and re.match(
            r"(?:Collecting|Requirement already satisfied|Installing "
            r"collected packages) ",
            line,
        ):
            return False
        elif inside and _BUILD_ERROR.match(line):
            return True
    return False


def retry_recipe(recipe: RecipeSpec, source: RepoSource, log_text: str) -> Retry | None:
    """The next recipe to try after `recipe` failed with `log_text`, or None."""
    packages = [p for p in missing_system_packages(log_text) if p not in recipe.apt_packages]
    if packages:
        reason = f"the build needs system packages: installing {', '.join(packages)}"
        return Retry(
            recipe.model_copy(
                update={
                    "apt_packages": (*recipe.apt_packages, *packages),
                    "notes": (*recipe.notes, reason),
                }
            ),
            reason,
        )
    if (
        source.kind == "pypi"
        and source.resolved
        and recipe.install_project
        and not recipe.project_release
        and project_build_failed(log_text)
    ):
        release = f"{source.name}=={source.resolved}"
        reason = (
            f"the sdist does not build here: installing the release's wheel {release} "
            "and running the sdist's tests against it"
        )
        return Retry(
            recipe.model_copy(
                update={
                    "project_release": release,
                    "notes": (*recipe.notes, reason),
                }
            ),
            reason,
        )
    return None
