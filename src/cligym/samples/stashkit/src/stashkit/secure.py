"""Hashing, manifest signing and TLS/OpenSSL introspection."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stashkit.errors import SignatureError

if TYPE_CHECKING:
    import ssl

SIGNATURE_ALGORITHM = "hmac-sha256"
_CHUNK = 1 << 16


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 digest of *data*."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _key_bytes(key: str | bytes) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else key
    if not raw:
        raise SignatureError("the HMAC key must not be empty")
    return raw


def hmac_sha256(key: str | bytes, data: bytes) -> str:
    """Hex HMAC-SHA256 of *data* under *key*."""
    return hmac.new(_key_bytes(key), data, hashlib.sha256).hexdigest()


def canonical_bytes(manifest: dict[str, Any]) -> bytes:
    """Deterministic serialisation of a manifest, excluding its signature."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_manifest(manifest: dict[str, Any], key: str | bytes) -> dict[str, Any]:
    """Return a copy of *manifest* carrying an HMAC-SHA256 signature."""
    signed = copy.deepcopy(manifest)
    signed["signature"] = {
        "algorithm": SIGNATURE_ALGORITHM,
        "value": hmac_sha256(key, canonical_bytes(manifest)),
    }
    return signed


def verify_manifest(manifest: dict[str, Any], key: str | bytes) -> None:
    """Raise :class:`SignatureError` unless *manifest* is signed with *key*."""
    signature = manifest.get("signature")
    if not isinstance(signature, dict) or "value" not in signature:
        raise SignatureError("manifest is not signed")
    if signature.get("algorithm") != SIGNATURE_ALGORITHM:
        raise SignatureError(f"unsupported signature algorithm {signature.get('algorithm')!r}")
    expected = hmac_sha256(key, canonical_bytes(manifest))
    if not hmac.compare_digest(expected, str(signature["value"])):
        raise SignatureError("manifest signature does not match (tampered or wrong key)")


def tls_context() -> ssl.SSLContext:
    """A client TLS context with the system's default CA certificates loaded."""
    import ssl  # imported lazily: hashing and signing do not need OpenSSL's TLS layer

    return ssl.create_default_context()


def ca_certificate_count(context: ssl.SSLContext | None = None) -> int:
    """Number of CA certificates available for server verification."""
    ctx = context if context is not None else tls_context()
    return int(ctx.cert_store_stats()["x509_ca"])


def openssl_version() -> str:
    """The OpenSSL version string Python's ssl module was built against."""
    import ssl

    return ssl.OPENSSL_VERSION
