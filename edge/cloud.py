"""HTTP client for the cloud's edge-facing API: open a session, post a result, upload a till sale, post a
heartbeat.

Failures are sorted into what the caller must do about them: ``CloudUnavailable``
(network, timeout, 5xx, 408, 429: keep the result, try later), ``CloudAuthError``
(401: open a new session, try again) and ``CloudRejected`` (any other 4xx: the
cloud will never take it).
"""

from __future__ import annotations

from typing import TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from chalicelib.contracts import (
    Heartbeat,
    HeartbeatAck,
    JobResult,
    ResultAck,
    TillSale,
    TillSaleAck,
)

SESSION_PATH = "/api/v1/edge/session"
RESULTS_PATH = "/api/v1/edge/results"
SALES_PATH = "/api/v1/edge/sales"
HEARTBEAT_PATH = "/api/v1/edge/heartbeat"
_RETRYABLE_4XX = {408, 425, 429}
_M = TypeVar("_M", bound=BaseModel)


class CloudError(Exception):
    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or "E_CLOUD"


class CloudUnavailable(CloudError):
    """The cloud could not be reached or failed; the same request may succeed later."""


class CloudAuthError(CloudError):
    """401: the edge token (or edge key) was not accepted."""


class CloudRejected(CloudError):
    """A 4xx other than 401: the request will never succeed as it stands."""


class AwsCredentials(BaseModel):
    model_config = ConfigDict(frozen=True)

    access_key_id: str
    secret_access_key: SecretStr
    session_token: SecretStr
    expiration: int


class EdgeSession(BaseModel):
    """What ``POST /api/v1/edge/session`` returns; secrets stay out of reprs and logs."""

    model_config = ConfigDict(frozen=True)

    token: SecretStr
    expires_at: int
    shop_id: str
    queue_url: str
    region: str
    credentials: AwsCredentials

    @property
    def expires(self) -> int:
        """When the first of the token and the credentials runs out (epoch seconds)."""
        return min(self.expires_at, self.credentials.expiration)


class CloudClient:
    def __init__(self, api_root: str, edge_key: SecretStr, timeout: float) -> None:
        self._edge_key = edge_key
        self._http = httpx.Client(base_url=api_root, timeout=timeout, headers={"user-agent": "receipt-bridge-edge/1"})

    def close(self) -> None:
        self._http.close()

    def open_session(self) -> EdgeSession:
        response = self._send("POST", SESSION_PATH, json={"edge_key": self._edge_key.get_secret_value()})
        return _parse(EdgeSession, response)

    def post_result(self, token: SecretStr, result: JobResult) -> ResultAck:
        return self._post(token, RESULTS_PATH, result, ResultAck)

    def post_sale(self, token: SecretStr, sale: TillSale) -> TillSaleAck:
        return self._post(token, SALES_PATH, sale, TillSaleAck)

    def post_heartbeat(self, token: SecretStr, heartbeat: Heartbeat) -> HeartbeatAck:
        return self._post(token, HEARTBEAT_PATH, heartbeat, HeartbeatAck)

    def _post(self, token: SecretStr, path: str, body: BaseModel, answer: type[_M]) -> _M:
        """One JSON POST under the session's bearer token, its answer parsed as ``answer``."""
        response = self._send(
            "POST",
            path,
            content=body.model_dump_json(),
            headers={"authorization": f"Bearer {token.get_secret_value()}", "content-type": "application/json"},
        )
        return _parse(answer, response)

    def _send(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise CloudUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if response.is_success:
            return response
        code, message = _error_fields(response)
        text = f"{method} {path}: {response.status_code} {code}: {message}"
        if response.status_code == 401:
            raise CloudAuthError(text, status=401, code=code)
        if response.status_code >= 500 or response.status_code in _RETRYABLE_4XX:
            raise CloudUnavailable(text, status=response.status_code, code=code)
        if response.status_code >= 400:
            raise CloudRejected(text, status=response.status_code, code=code)
        raise CloudUnavailable(text, status=response.status_code, code=code)


def _error_fields(response: httpx.Response) -> tuple[str, str]:
    """``code`` and ``message`` of the cloud's error body, tolerating bodies that are not ours."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return str(body.get("code") or "E_HTTP_" + str(response.status_code)), str(body.get("message") or "")[:300]
    return f"E_HTTP_{response.status_code}", response.reason_phrase


def _parse(model: type[_M], response: httpx.Response) -> _M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise CloudUnavailable(
            f"unexpected {model.__name__} from the cloud: {exc.error_count()} error(s)", status=response.status_code
        ) from exc
