"""Updates: a signed release manifest served over local HTTP; only verified, newer versions install."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
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
    manifest = {"product": "receipt-bridge-edge", "versions": [_release("0.9.0"), _release("1.0.0"), _release("1.2.0")]}
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
    after = stack.manage("check_for_updates").json()
    assert after["has_update"] is False and [v["version"] for v in after["versions"] if v["is_current"]] == ["1.2.0"]
    assert stack.manage("status").json()["version"] == "1.2.0"
    assert stack.manage("install_update", {"version": "1.0.0"}).json()["code"] == "E_UPDATE_DOWNGRADE"

    tampered = json.loads(releases.files["/manifest.json"])
    tampered["payload"] = base64.b64encode(json.dumps({**manifest, "versions": [_release("9.0.0")]}).encode()).decode()
    unsigned = json.dumps(manifest).encode()
    other_key = signed(Ed25519PrivateKey.generate(), manifest)
    file_url = signed(key, {"product": "receipt-bridge-edge", "versions": [_release("2.0.0", url="file:///etc/passwd")]})
    cases = [(json.dumps(tampered).encode(), "check_for_updates", "E_MANIFEST_SIGNATURE"), (unsigned, "check_for_updates", "E_MANIFEST_UNSIGNED"),
             (other_key, "check_for_updates", "E_MANIFEST_SIGNATURE"), (b"\x00garbage", "check_for_updates", "E_MANIFEST_UNSIGNED"),
             (signed(key, {"product": "other", "versions": []}), "check_for_updates", "E_MANIFEST_INVALID"),
             (file_url, "install_update", "E_MANIFEST_INVALID")]
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
