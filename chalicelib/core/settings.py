"""Runtime settings of the cloud side, read once from the environment.

Physical resource names derive from one prefix (``receipt-bridge-<stage>``) and
the logical names in ``chalicelib.core.resource_names``; ``infra/`` defines the same
resources from those logical names, so the two cannot drift apart.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from chalicelib.core import resource_names as names

ENV_PREFIX = "BRIDGE_"


class Settings(BaseModel):
    """Each field is read from ``BRIDGE_<FIELD>`` (plain pydantic: pydantic-settings cost a cold start
    ~120 ms of imports for this one mapping)."""

    model_config = ConfigDict(frozen=True)

    stage: str = names.DEFAULT_STAGE
    app_name: str = names.DEFAULT_APP_NAME
    region: str = Field(default_factory=lambda: os.environ.get("AWS_DEFAULT_REGION", "eu-central-1"))
    public_base_url: str = "http://127.0.0.1:8000"
    jwt_secret: SecretStr | None = None
    jwt_secret_param: str | None = Field(default=None, description="SSM SecureString holding the JWT key.")
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 86400 * 30
    edge_token_ttl: int = 3600
    public_link_ttl: int = 86400 * 90
    shop_cache_seconds: float = 30.0
    edge_role_arn: str = "arn:aws:iam::123456789012:role/receipt-bridge-local-edge"
    account_id: str = "123456789012"
    webhook_timeout_seconds: float = 5.0  # any one connect, write or read
    webhook_deadline_seconds: float = 8.0  # a whole attempt, redirects included
    webhook_first_attempt_seconds: float = 3.0  # an order event's first attempt, made from the orders stream
    webhook_retry_base_seconds: int = 30
    webhook_retry_cap_seconds: int = 4 * 3600
    webhook_retry_window_seconds: int = 26 * 3600
    report_inline_bytes: int = 4_000_000  # larger exports go to S3: Lambda answers at most 6 MB, base64 adds 1/3

    @property
    def prefix(self) -> str:
        return names.prefix(self.app_name, self.stage)

    def table(self, logical: str) -> str:
        return names.physical(self.prefix, logical)

    def queue(self, logical: str) -> str:
        return names.physical(self.prefix, logical)

    def bucket(self, logical: str) -> str:
        return names.bucket(self.prefix, self.account_id, logical)

    def shop_jobs_queue(self, shop_id: str) -> str:
        return names.shop_jobs_queue(self.prefix, shop_id)

    @property
    def allows_loopback_webhooks(self) -> bool:
        return self.stage == "local"


def from_environment(environ: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
    fields = Settings.model_fields
    values = {key[len(ENV_PREFIX):].lower(): value for key, value in environ.items()
              if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX):].lower() in fields}
    return Settings.model_validate(values)


@lru_cache(maxsize=1)
def settings() -> Settings:
    return from_environment()
