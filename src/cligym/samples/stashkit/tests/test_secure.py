"""hashlib/hmac digests and signatures, ssl trust store and OpenSSL."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stashkit.errors import SignatureError
from stashkit.manifest import build_manifest
from stashkit.secure import (
    ca_certificate_count,
    hmac_sha256,
    openssl_version,
    sha256_bytes,
    sha256_file,
    sign_manifest,
    tls_context,
    verify_manifest,
)

KEY = "s3cret-key"


def test_sha256_known_vector() -> None:
    assert sha256_bytes(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_sha256_file_matches_bytes(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1024  # larger than one read chunk
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == sha256_bytes(data) == hashlib.sha256(data).hexdigest()


def test_hmac_rfc4231_case_2() -> None:
    assert hmac_sha256("Jefe", b"what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_empty_key_rejected() -> None:
    with pytest.raises(SignatureError, match="must not be empty"):
        hmac_sha256(b"", b"data")


def test_sign_and_verify_manifest(sample_entries) -> None:
    manifest = build_manifest(sample_entries)
    signed = sign_manifest(manifest, KEY)
    assert "signature" not in manifest
    assert signed["signature"]["algorithm"] == "hmac-sha256"
    assert len(signed["signature"]["value"]) == 64
    verify_manifest(signed, KEY)
    assert sign_manifest(manifest, KEY) == signed  # deterministic


def test_tampered_or_unsigned_manifest_rejected(sample_entries) -> None:
    signed = sign_manifest(build_manifest(sample_entries), KEY)
    with pytest.raises(SignatureError, match="does not match"):
        verify_manifest(signed, "another-key")
    signed["entries"][0]["size"] += 1
    with pytest.raises(SignatureError, match="does not match"):
        verify_manifest(signed, KEY)
    with pytest.raises(SignatureError, match="not signed"):
        verify_manifest(build_manifest(sample_entries), KEY)


def test_default_context_loads_system_ca_store() -> None:
    import ssl

    ctx = tls_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True
    assert ctx.cert_store_stats()["x509_ca"] > 0
    assert ca_certificate_count(ctx) == ctx.cert_store_stats()["x509_ca"]


def test_openssl_version_reported() -> None:
    import ssl

    version = openssl_version()
    assert version == ssl.OPENSSL_VERSION
    assert ssl.OPENSSL_VERSION_INFO[0] >= 1
    assert any(name in version for name in ("OpenSSL", "LibreSSL", "BoringSSL"))
