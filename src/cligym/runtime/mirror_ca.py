"""The certificate authority of the task network's package mirror.

A task's network has no way out; a mirror service in it answers for the package hosts, the way
a company's TLS-inspecting proxy does. pip speaks HTTPS, so the mirror needs a certificate for
pypi.org that the environment trusts: the base image trusts this CA (in the system store, where
`update-ca-certificates` keeps it), and the mirror holds a server certificate it signed for
MIRROR_HOSTS. The CA's key signs once and is thrown away: nothing can mint another certificate.
The files live in the user's cache, so every base image built on this machine trusts the same
CA, and base image ids stay stable.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cligym.errors import CligymError

# the names the mirror answers for: apt's Debian archive, pip's index and its file host
MIRROR_HOSTS = ("deb.debian.org", "security.debian.org", "pypi.org", "files.pythonhosted.org")
VALID_DAYS = 3650
CA_NAME = "cligym package mirror CA"


@dataclass(frozen=True)
class MirrorKeys:
    ca_cert: Path  # goes into the base image's trust store
    server_cert: Path  # goes into the mirror image, with its key
    server_key: Path

    def ca_pem(self) -> bytes:
        return self.ca_cert.read_bytes()


def default_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "cligym" / "mirror-ca"


def ensure_mirror_keys(directory: Path | None = None) -> MirrorKeys:
    """The CA and server certificate of this machine, made on first use."""
    directory = directory or default_dir()
    keys = MirrorKeys(directory / "ca.crt", directory / "server.crt", directory / "server.key")
    if all(p.is_file() for p in (keys.ca_cert, keys.server_cert, keys.server_key)) and _usable(
        keys
    ):
        return keys
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _make(keys)
    except OSError as err:
        raise CligymError(f"cannot write the mirror's certificates in {directory}: {err}") from err
    return keys


def _usable(keys: MirrorKeys) -> bool:
    """The server certificate is the CA's, names every mirror host, and outlives a year."""
    try:
        ca = x509.load_pem_x509_certificate(keys.ca_cert.read_bytes())
        server = x509.load_pem_x509_certificate(keys.server_cert.read_bytes())
        server.verify_directly_issued_by(ca)
        names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=365)
    hosts = set(names.get_values_for_type(x509.DNSName))
    return set(MIRROR_HOSTS) <= hosts and server.not_valid_after_utc > soon


def _make(keys: MirrorKeys) -> None:
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    until = now + datetime.timedelta(days=VALID_DAYS)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, MIRROR_HOSTS[0])]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(h) for h in MIRROR_HOSTS]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(keys.server_key, server_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ), mode=0o600)
    _write(keys.server_cert, server.public_bytes(serialization.Encoding.PEM))
    _write(keys.ca_cert, ca.public_bytes(serialization.Encoding.PEM))  # last: marks it complete


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    tmp.replace(path)
