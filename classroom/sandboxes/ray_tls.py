"""Certificates for Ray's TLS (``RAY_USE_TLS=1``), made at deploy time: one CA per deployment, one certificate per
node naming the node's own IP address (``classroom ray-tls ca`` / ``classroom ray-tls node``).

Ray's TLS is mutual: every Ray process (GCS, raylets, workers, drivers) serves and connects with
``RAY_TLS_SERVER_CERT`` / ``RAY_TLS_SERVER_KEY`` and trusts ``RAY_TLS_CA_CERT``, and it checks that the peer's
certificate names the IP address it dialled (a certificate without the node's IP makes even the head fail to reach
its own GCS: measured). So each node gets its own certificate with its IP, ``127.0.0.1`` and ``localhost``.
The cluster in a box (``load/box.py``) gives its containers fixed addresses and makes their certificates with
these functions; on k3s an init container runs ``classroom ray-tls node`` with the pod's IP, the CA's key mounted
in the init container only (deploy/README.md, "Ray's own security").

    classroom ray-tls ca DIR                              DIR/ca.crt, DIR/ca.key (0400)
    classroom ray-tls node --ca DIR --out OUT --ip IP     OUT/ca.crt, OUT/node.crt, OUT/node.key (0400)
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from classroom.errors import SettingsError
from classroom.settings import Settings

VALID_DAYS = 30


@dataclass(frozen=True)
class Authority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def save_ca(ca: Authority, out: Path) -> Path:
    """``out``/ca.crt and ``out``/ca.key (0400): keep the key out of every Ray node's own container."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "ca.crt").write_bytes(ca.pem)
    _write_key(out / "ca.key", ca.key)
    return out


def load_ca(folder: Path) -> Authority:
    try:
        cert = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
        key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise SettingsError(
            f"--ca={str(folder)!r}: no CA there ({exc}); make one with `classroom ray-tls ca DIR`"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SettingsError(f"--ca={str(folder)!r}: ca.key is not an EC key made by `classroom ray-tls ca`")
    return Authority(cert, key)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(common: str = "classroom ray ca") -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Authority(cert, key)


def write_node(ca: Authority, out: Path, ip: str, names: tuple[str, ...] = (), *, owner: int | None = None) -> Path:
    """``out``/{ca.crt, node.crt, node.key} for the node at ``ip`` (also valid for 127.0.0.1, localhost and
    ``names``): a server *and* client certificate, as Ray's TLS is mutual. The key is 0400, owned by ``owner``
    (the uid of the node's processes) when given. Returns ``out``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in ("localhost", *names)]
    alt += [x509.IPAddress(ipaddress.ip_address(a)) for a in dict.fromkeys((ip, "127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0] if names else ip))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .sign(ca.key, hashes.SHA256())
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "ca.crt").write_bytes(ca.pem)
    (out / "node.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(out / "node.key", key)
    if owner is not None:
        for path in (out, *out.iterdir()):
            os.chown(path, owner, owner)
    return out


ENV = {
    "RAY_USE_TLS": "1",
    "RAY_TLS_SERVER_CERT": "/tls/node.crt",
    "RAY_TLS_SERVER_KEY": "/tls/node.key",
    "RAY_TLS_CA_CERT": "/tls/ca.crt",
}
"""The environment of every Ray process of a node whose certificate directory is mounted at /tls."""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    tls = sub.add_parser("ray-tls", help="certificates for Ray's TLS (RAY_USE_TLS=1): a CA, a node's certificate")
    actions = tls.add_subparsers(dest="ray_tls", required=True, metavar="ACTION")
    ca = actions.add_parser("ca", help="make a CA in DIR (ca.crt, ca.key)")
    ca.add_argument("dir", type=Path)
    ca.set_defaults(func=_ca)
    node = actions.add_parser("node", help="make the certificate of the node at --ip, signed by the CA in --ca")
    node.add_argument("--ca", type=Path, required=True, help="the CA's folder (ca.crt, ca.key)")
    node.add_argument("--out", type=Path, required=True, help="where ca.crt, node.crt and node.key go")
    node.add_argument("--ip", required=True, help="the node's IP address, as the other nodes dial it")
    node.add_argument("--name", action="append", default=[], help="a DNS name of the node too (repeatable)")
    node.set_defaults(func=_node)


def _ca(settings: Settings, args: argparse.Namespace) -> int:
    print(save_ca(make_ca(), args.dir) / "ca.crt")
    return 0


def _node(settings: Settings, args: argparse.Namespace) -> int:
    try:
        ipaddress.ip_address(args.ip)
    except ValueError:
        raise SettingsError(f"--ip={args.ip!r} is not allowed: expected an IP address") from None
    print(write_node(load_ca(args.ca), args.out, args.ip, tuple(args.name)) / "node.crt")
    return 0
