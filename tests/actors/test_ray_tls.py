"""``classroom ray-tls``: a deployment's CA and each Ray node's certificate (Ray's TLS is mutual and checks that
the peer's certificate names the IP address it dialled)."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from classroom.cli import main


def test_a_node_certificate_names_its_ip_and_is_signed_by_the_ca(tmp_path: Path) -> None:
    assert main(["ray-tls", "ca", str(tmp_path / "ca")]) == 0
    argv = ["ray-tls", "node", "--ca", str(tmp_path / "ca"), "--out", str(tmp_path / "n"), "--ip", "10.42.0.7"]
    assert main([*argv, "--name", "worker-0"]) == 0
    ca = x509.load_pem_x509_certificate((tmp_path / "ca" / "ca.crt").read_bytes())
    node = x509.load_pem_x509_certificate((tmp_path / "n" / "node.crt").read_bytes())
    node.verify_directly_issued_by(ca)
    names = node.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("10.42.0.7"),
        ipaddress.ip_address("127.0.0.1"),
    }
    assert set(names.get_values_for_type(x509.DNSName)) == {"localhost", "worker-0"}
    assert (tmp_path / "n" / "ca.crt").read_bytes() == (tmp_path / "ca" / "ca.crt").read_bytes()
    for key in (tmp_path / "ca" / "ca.key", tmp_path / "n" / "node.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o400
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--ip", "worker-0"], "--ip='worker-0' is not allowed"), (["--ip", "10.0.0.1"], "no CA there")],
)
def test_bad_arguments_are_refused(
    tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ray-tls", "node", "--ca", str(tmp_path / "none"), "--out", str(tmp_path / "n"), *extra]) == 2
    assert message in capsys.readouterr().err
