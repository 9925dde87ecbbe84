"""Signed release manifests and verified installs.

The manifest at ``[updates] manifest_url`` is a JSON envelope
``{"payload": <base64 manifest JSON>, "signature": <base64 Ed25519 signature of those bytes>}``;
it is trusted only if the signature verifies with the configured public key. An install
downloads the version's artifact, checks its size and sha256 against the signed manifest,
stages it under ``<state_dir>/updates/<version>/`` and records it as the installed version
(``installed.json``, written atomically). Older or equal versions are refused.

Against replayed manifests (the rollback and freeze attacks of the TUF specification's client
workflow, theupdateframework.io: metadata older than the trusted one, or expired) the signed
manifest carries ``expires`` (an ISO 8601 instant with its offset) and a ``sequence`` that grows
with every manifest published. An expired manifest is refused, and so is one whose sequence is
below the highest this edge accepted, or equal to it with other content (``<state_dir>/updates/
trust.json`` keeps that sequence and the payload's sha256). The same manifest fetched again is
accepted: checks may repeat.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Annotated
from urllib.parse import urljoin, urlsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

import edge
from edge.config import UpdatesConfig, secure_update_url
from edge.store import write_atomically

INSTALLED_FILE = "installed.json"
TRUST_FILE = "trust.json"
_MAX_MANIFEST_BYTES = 2**20
Version = Annotated[str, Field(pattern=r"^\d{1,6}\.\d{1,6}\.\d{1,6}$")]


class UpdateError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class Artifact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=2000)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=1)]


class Release(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Version
    description: Annotated[str, Field(max_length=2000)] = ""
    date: date
    artifact: Artifact


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: str
    sequence: Annotated[int, Field(ge=1, le=2**53, strict=True)]
    expires: AwareDatetime
    versions: Annotated[list[Release], Field(max_length=1000)]


class Trusted(BaseModel):
    """The newest manifest this edge accepted."""

    sequence: int
    payload_sha256: str


class Envelope(BaseModel):
    payload: str
    signature: str


class VersionInfo(BaseModel):
    version: str
    description: str
    date: str
    manifest_url: str
    is_current: bool
    is_newer: bool


class UpdateCheckResponse(BaseModel):
    has_update: bool
    latest_version: str
    versions: list[VersionInfo]


class InstallUpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Version


class Installed(BaseModel):
    version: Version
    sha256: str
    path: str
    installed_at: int


PRODUCT = "receipt-bridge-edge"


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class Updater:
    def __init__(self, config: UpdatesConfig | None, state_dir: Path) -> None:
        self._config = config
        self._dir = state_dir / "updates"
        self._trust_lock = threading.Lock()

    def current_version(self) -> str:
        path = self._dir / INSTALLED_FILE
        try:
            return Installed.model_validate_json(path.read_bytes()).version
        except (OSError, ValidationError):
            return edge.__version__

    def check(self) -> UpdateCheckResponse:
        config = self._settings()
        manifest = self._manifest(config)
        current = version_key(self.current_version())
        releases = sorted(manifest.versions, key=lambda r: version_key(r.version), reverse=True)
        versions = [
            VersionInfo(
                version=r.version,
                description=r.description,
                date=r.date.isoformat(),
                manifest_url=str(config.manifest_url),
                is_current=version_key(r.version) == current,
                is_newer=version_key(r.version) > current,
            )
            for r in releases
        ]
        latest = releases[0].version if releases else self.current_version()
        return UpdateCheckResponse(has_update=any(v.is_newer for v in versions), latest_version=latest, versions=versions)

    def install(self, version: str) -> Installed:
        config = self._settings()
        release = next((r for r in self._manifest(config).versions if r.version == version), None)
        if release is None:
            raise UpdateError(404, "E_VERSION_NOT_FOUND", f"version {version} is not in the signed manifest")
        current = self.current_version()
        if version_key(version) <= version_key(current):
            code = "E_ALREADY_INSTALLED" if version == current else "E_UPDATE_DOWNGRADE"
            raise UpdateError(409, code, f"version {version} is not newer than the installed {current}")
        url = urljoin(str(config.manifest_url), release.artifact.url)
        if not secure_update_url(url):
            raise UpdateError(422, "E_MANIFEST_INVALID", f"artifact URL {url!r} is not https (or http to loopback)")
        if release.artifact.size > config.max_artifact_bytes:
            raise UpdateError(422, "E_ARTIFACT_TOO_LARGE", f"artifact of {release.artifact.size} bytes exceeds {config.max_artifact_bytes}")
        data = self._download(url, release.artifact.size, config.timeout_seconds)
        digest = hashlib.sha256(data).hexdigest()
        if digest != release.artifact.sha256:
            raise UpdateError(422, "E_ARTIFACT_CHECKSUM", f"artifact sha256 {digest} does not match the signed manifest")
        name = PurePosixPath(urlsplit(url).path).name or "artifact"
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,128}", name) or name.startswith("."):
            name = "artifact"
        staged = self._dir / version / name
        write_atomically(staged, data)
        installed = Installed(version=version, sha256=digest, path=str(staged), installed_at=int(time.time()))
        write_atomically(self._dir / INSTALLED_FILE, installed.model_dump_json().encode())
        return installed

    # -- internals ------------------------------------------------------------------------

    def _settings(self) -> UpdatesConfig:
        if self._config is None:
            raise UpdateError(409, "E_UPDATES_NOT_CONFIGURED", "no [updates] manifest_url and public_key in the edge config")
        return self._config

    def _manifest(self, config: UpdatesConfig) -> Manifest:
        raw = self._fetch(str(config.manifest_url), _MAX_MANIFEST_BYTES, config.timeout_seconds)
        try:
            envelope = Envelope.model_validate_json(raw)
            payload = base64.b64decode(envelope.payload, validate=True)
            signature = base64.b64decode(envelope.signature, validate=True)
        except (ValidationError, binascii.Error, ValueError) as exc:
            raise UpdateError(422, "E_MANIFEST_UNSIGNED", "the manifest is not a signed envelope {payload, signature}") from exc
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(config.public_key))
        try:
            key.verify(signature, payload)
        except InvalidSignature as exc:
            raise UpdateError(422, "E_MANIFEST_SIGNATURE", "the manifest's signature does not verify with the configured key") from exc
        try:
            manifest = Manifest.model_validate(json.loads(payload))
        except (ValueError, ValidationError) as exc:
            raise UpdateError(422, "E_MANIFEST_INVALID", f"the signed manifest is malformed: {exc}") from exc
        if manifest.product != PRODUCT:
            raise UpdateError(422, "E_MANIFEST_INVALID", f"the manifest is for {manifest.product!r}, not {PRODUCT}")
        if manifest.expires <= datetime.now(UTC):
            raise UpdateError(422, "E_MANIFEST_EXPIRED", f"the signed manifest expired at {manifest.expires.isoformat()}")
        self._accept(manifest.sequence, hashlib.sha256(payload).hexdigest())
        return manifest

    def _accept(self, sequence: int, payload_sha256: str) -> None:
        """Refuse a manifest older than the newest accepted one (rollback); remember a newer one."""
        with self._trust_lock:
            path = self._dir / TRUST_FILE
            try:
                trusted: Trusted | None = Trusted.model_validate_json(path.read_bytes())
            except FileNotFoundError:
                trusted = None
            except (OSError, ValidationError) as exc:
                raise UpdateError(409, "E_UPDATE_STATE", f"{path} is unreadable; remove it only if you trust the next manifest") from exc
            if trusted is not None:
                if sequence < trusted.sequence or (sequence == trusted.sequence and payload_sha256 != trusted.payload_sha256):
                    raise UpdateError(422, "E_MANIFEST_ROLLBACK",
                                      f"the signed manifest's sequence {sequence} is not above the accepted {trusted.sequence}")
                if sequence == trusted.sequence:
                    return
            write_atomically(path, Trusted(sequence=sequence, payload_sha256=payload_sha256).model_dump_json().encode())

    def _download(self, url: str, size: int, timeout: float) -> bytes:
        data = self._fetch(url, size, timeout)
        if len(data) != size:
            raise UpdateError(422, "E_ARTIFACT_CHECKSUM", f"artifact is {len(data)} bytes, the signed manifest says {size}")
        return data

    @staticmethod
    def _fetch(url: str, limit: int, timeout: float) -> bytes:
        """GET at most ``limit`` bytes; a longer body or any transport failure is an UpdateError."""
        try:
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=False) as response:
                if response.status_code != 200:
                    raise UpdateError(424, "E_UPDATE_SOURCE", f"GET {url} answered {response.status_code}")
                chunks, total = [], 0
                for chunk in response.iter_bytes():
                    total += len(chunk)
                    if total > limit:
                        raise UpdateError(422, "E_UPDATE_TOO_LARGE", f"GET {url} is larger than {limit} bytes")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise UpdateError(424, "E_UPDATE_SOURCE", f"GET {url} failed: {type(exc).__name__}") from exc
        return b"".join(chunks)
