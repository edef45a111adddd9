"""HTTPS when config.toml names a certificate and key: handheld browsers give the camera only
to secure pages."""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import running_service, warehouse_command

# Not collected again by tests/pg: TLS, not the database, is under test.
POSTGRESQL = False


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made the way the README says."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=warehouse test",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_the_service_serves_https_with_the_configured_certificate(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    url = f"sqlite:///{tmp_path}/warehouse.sqlite3"
    warehouse_command(url, "init")
    trust = ssl.create_default_context(cafile=str(cert))
    env = {"WAREHOUSE_SERVER_CERTIFICATE": str(cert), "WAREHOUSE_SERVER_PRIVATE_KEY": str(key)}
    with running_service(url, workers=1, env=env, tls=trust) as base:
        assert base.startswith("https://")
        with urllib.request.urlopen(base + "/healthz", context=trust) as answer:
            assert json.load(answer) == {"status": "ok"}
        with urllib.request.urlopen(base + "/login", context=trust) as page:
            assert "csrf-token" in page.read().decode()
        # The session cookie is marked Secure, so it never travels over plain HTTP.
        with urllib.request.urlopen(base + "/login", context=trust) as page:
            assert "Secure" in page.headers.get("Set-Cookie", "")
        # A client that does not trust the certificate is refused.
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(base + "/healthz", context=ssl.create_default_context())


def test_a_certificate_without_its_key_is_a_config_error(tmp_path: Path) -> None:
    from warehouse.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="certificate and private_key go together"):
        load_config(tmp_path / "none.toml", {"WAREHOUSE_SERVER_CERTIFICATE": "cert.pem"})
