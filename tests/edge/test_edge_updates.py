"""Updates: a signed release manifest served over local HTTP; only verified, newer versions install,
and only from a manifest that has not expired and is not older than the newest one accepted."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from edge_harness import Stack

ARTIFACT = b"edge release 1.2.0\n" * 100


class Releases:
    """Files by path, served by a local HTTP server; tests swap them to tamper."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                body = files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("content-length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


def _release(version: str, artifact: bytes = ARTIFACT, url: str = "edge-1.2.0.tar.gz") -> dict[str, Any]:
    return {"version": version, "description": f"release {version}", "date": "2023-10-25",
            "artifact": {"url": url, "sha256": hashlib.sha256(artifact).hexdigest(), "size": len(artifact)}}


def manifest_of(*releases: dict[str, Any], sequence: int = 1, expires_in: timedelta = timedelta(days=7),
                product: str = "receipt-bridge-edge") -> dict[str, Any]:
    expires = (datetime.now(UTC) + expires_in).isoformat()
    return {"product": product, "sequence": sequence, "expires": expires, "versions": list(releases)}


def signed(key: Ed25519PrivateKey, manifest: dict[str, Any]) -> bytes:
    payload = json.dumps(manifest).encode()
    return json.dumps({"payload": base64.b64encode(payload).decode(), "signature": base64.b64encode(key.sign(payload)).decode()}).encode()


@pytest.fixture
def releases() -> Iterator[Releases]:
    served = Releases()
    yield served
    served.server.shutdown()
    served.server.server_close()


def test_signed_newer_version_installs_and_everything_else_is_refused(stack: Stack, releases: Releases) -> None:
    key = Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    manifest = manifest_of(_release("0.9.0"), _release("1.0.0"), _release("1.2.0"))
    releases.files["/manifest.json"] = signed(key, manifest)
    releases.files["/edge-1.2.0.tar.gz"] = ARTIFACT
    stack.extra_toml = f'[updates]\nmanifest_url = "{releases.url("/manifest.json")}"\npublic_key = "{public}"\n'
    stack.start_edge()

    check = stack.manage("check_for_updates").json()
    assert check["has_update"] is True and check["latest_version"] == "1.2.0"
    assert [(v["version"], v["is_current"], v["is_newer"]) for v in check["versions"]] == [
        ("1.2.0", False, True), ("1.0.0", True, False), ("0.9.0", False, False)]
    assert check["versions"][0]["manifest_url"] == releases.url("/manifest.json") and check["versions"][0]["date"] == "2023-10-25"

    for version, status, code in (("0.9.0", 409, "E_UPDATE_DOWNGRADE"), ("1.0.0", 409, "E_ALREADY_INSTALLED"),
                                  ("7.7.7", 404, "E_VERSION_NOT_FOUND"), ("latest", 400, "E_BAD_REQUEST")):
        reply = stack.manage("install_update", {"version": version})
        assert (reply.status_code, reply.json()["code"]) == (status, code), version

    releases.files["/edge-1.2.0.tar.gz"] = ARTIFACT[:-1] + b"!"  # same size, other bytes
    assert stack.manage("install_update", {"version": "1.2.0"}).json()["code"] == "E_ARTIFACT_CHECKSUM"
    releases.files["/edge-1.2.0.tar.gz"] = ARTIFACT

    reply = stack.manage("install_update", {"version": "1.2.0"})
    assert (reply.status_code, reply.json()) == (200, {"success": True, "message": "Update installation started"})
    staged = stack.state_dir / "updates" / "1.2.0" / "edge-1.2.0.tar.gz"
    assert staged.read_bytes() == ARTIFACT
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (stack.state_dir / "updates").rglob("*")}
    assert modes == {"1.2.0": 0o700, "edge-1.2.0.tar.gz": 0o600, "installed.json": 0o600, "trust.json": 0o600}
    after = stack.manage("check_for_updates").json()
    assert after["has_update"] is False and [v["version"] for v in after["versions"] if v["is_current"]] == ["1.2.0"]
    assert stack.manage("status").json()["version"] == "1.2.0"
    assert stack.manage("install_update", {"version": "1.0.0"}).json()["code"] == "E_UPDATE_DOWNGRADE"

    tampered = json.loads(releases.files["/manifest.json"])
    tampered["payload"] = base64.b64encode(json.dumps({**manifest, "versions": [_release("9.0.0")]}).encode()).decode()
    unsigned = json.dumps(manifest).encode()
    other_key = signed(Ed25519PrivateKey.generate(), manifest)
    file_url = signed(key, manifest_of(_release("2.0.0", url="file:///etc/passwd"), sequence=2))
    plain_http = signed(key, manifest_of(_release("2.0.0", url="http://releases.example/edge-2.0.0.tar.gz"), sequence=3))
    cases = [(json.dumps(tampered).encode(), "check_for_updates", "E_MANIFEST_SIGNATURE"), (unsigned, "check_for_updates", "E_MANIFEST_UNSIGNED"),
             (other_key, "check_for_updates", "E_MANIFEST_SIGNATURE"), (b"\x00garbage", "check_for_updates", "E_MANIFEST_UNSIGNED"),
             (signed(key, manifest_of(product="other")), "check_for_updates", "E_MANIFEST_INVALID"),
             (file_url, "install_update", "E_MANIFEST_INVALID"), (plain_http, "install_update", "E_MANIFEST_INVALID")]
    for body, path, code in cases:
        releases.files["/manifest.json"] = body
        reply = stack.manage(path, {"version": "2.0.0"} if path == "install_update" else None)
        assert (reply.status_code, reply.json()["code"]) == (422, code), code
        assert stack.manage("install_update", {"version": "9.0.0"}).status_code in (404, 422)
    del releases.files["/manifest.json"]
    assert stack.manage("check_for_updates").json()["code"] == "E_UPDATE_SOURCE"
    assert not (stack.state_dir / "updates" / "9.0.0").exists()


def test_updates_need_configuration_and_a_valid_key(stack: Stack, tmp_path: Path) -> None:
    stack.start_edge()
    reply = stack.manage("check_for_updates")
    assert (reply.status_code, reply.json()["code"]) == (409, "E_UPDATES_NOT_CONFIGURED")
    stack.extra_toml = '[updates]\nmanifest_url = "http://127.0.0.1:1/m.json"\npublic_key = "c2hvcnQ="\n'
    bad = stack.cli("run", "--config", str(stack.write_config()))
    assert bad.returncode == 2 and "32-byte Ed25519" in bad.stderr


def _configure(stack: Stack, releases: Releases, key: Ed25519PrivateKey) -> None:
    public = base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    stack.extra_toml = f'[updates]\nmanifest_url = "{releases.url("/manifest.json")}"\npublic_key = "{public}"\n'


def _answer(stack: Stack, path: str = "check_for_updates", body: Any = None) -> tuple[int, str]:
    reply = stack.manage(path, body)
    return reply.status_code, reply.json().get("code", "") if reply.status_code != 200 else ""


def test_expired_and_replayed_manifests_are_refused(stack: Stack, releases: Releases) -> None:
    key = Ed25519PrivateKey.generate()
    _configure(stack, releases, key)
    releases.files["/edge-1.2.0.tar.gz"] = ARTIFACT
    stack.start_edge()

    # freeze: a validly signed manifest whose time is up, for checks and installs alike
    releases.files["/manifest.json"] = signed(key, manifest_of(_release("1.2.0"), sequence=5, expires_in=timedelta(seconds=-1)))
    assert _answer(stack) == (422, "E_MANIFEST_EXPIRED")
    assert _answer(stack, "install_update", {"version": "1.2.0"}) == (422, "E_MANIFEST_EXPIRED")

    accepted = signed(key, manifest_of(_release("1.0.0"), sequence=5))
    releases.files["/manifest.json"] = accepted
    assert _answer(stack) == (200, "") and _answer(stack) == (200, "")  # the same manifest again: fine

    # rollback: an older sequence, even one offering a newer version and a later expiry
    releases.files["/manifest.json"] = signed(key, manifest_of(_release("1.2.0"), sequence=4, expires_in=timedelta(days=30)))
    assert _answer(stack) == (422, "E_MANIFEST_ROLLBACK")
    assert _answer(stack, "install_update", {"version": "1.2.0"}) == (422, "E_MANIFEST_ROLLBACK")
    releases.files["/manifest.json"] = signed(key, manifest_of(_release("1.2.0"), sequence=5))  # same number, other content
    assert _answer(stack) == (422, "E_MANIFEST_ROLLBACK")
    assert not (stack.state_dir / "updates" / "1.2.0").exists()

    assert stack.edges[-1].stop() == 0  # the accepted sequence survives a restart
    stack.start_edge()
    releases.files["/manifest.json"] = signed(key, manifest_of(_release("1.2.0"), sequence=4))
    assert _answer(stack) == (422, "E_MANIFEST_ROLLBACK")
    releases.files["/manifest.json"] = signed(key, manifest_of(_release("1.2.0"), sequence=6))
    assert _answer(stack, "install_update", {"version": "1.2.0"}) == (200, "")
    releases.files["/manifest.json"] = accepted
    assert _answer(stack) == (422, "E_MANIFEST_ROLLBACK")

    releases.files["/manifest.json"] = signed(key, {k: v for k, v in manifest_of(sequence=7).items() if k != "expires"})
    assert _answer(stack) == (422, "E_MANIFEST_INVALID")  # a manifest of the old shape, without expiry, is not trusted


@pytest.mark.parametrize(("url", "accepted"), [
    ("http://releases.example/manifest.json", False),
    ("http://192.168.1.10/manifest.json", False),
    ("ftp://releases.example/manifest.json", False),
    ("https://releases.example/manifest.json", True),
    ("http://127.0.0.1:8080/manifest.json", True),  # tests and devstack serve releases on loopback
    ("http://[::1]:8080/manifest.json", True),
    ("http://localhost:8080/manifest.json", True),
])
def test_manifest_url_must_be_https_except_on_loopback(stack: Stack, url: str, accepted: bool) -> None:
    stack.extra_toml = f'[updates]\nmanifest_url = "{url}"\npublic_key = "{base64.b64encode(bytes(32)).decode()}"\n'
    done = stack.cli("status", "--config", str(stack.write_config()))
    assert done.returncode == 2
    if accepted:  # the config is valid; status then finds no journal, as the edge never ran
        assert "no journal" in done.stderr, done.stderr
    else:
        assert "is invalid: updates.manifest_url:" in done.stderr and "https" in done.stderr, done.stderr
