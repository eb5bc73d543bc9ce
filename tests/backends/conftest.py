"""Fixtures for the backends' tests: a Kubernetes emulator with a token file, TLS material."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from autoscalebot.emulator.kubernetes import KubernetesEmulator

TOKEN = "k8s-token-7d2f9c41e0"


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
def k8s():
    with KubernetesEmulator(token=TOKEN) as emulator:
        emulator.add_deployment("shop", "web", replicas=2)
        yield emulator


def make_certificate(directory, name="server"):
    """A self-signed certificate for IP 127.0.0.1 (its own CA), made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
