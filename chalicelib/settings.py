"""Runtime settings of the cloud side, read once from the environment.

Physical resource names derive from one prefix (``receipt-bridge-<stage>``) and
the logical names in ``chalicelib.resource_names``; ``infra/`` defines the same
resources from those logical names, so the two cannot drift apart.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from chalicelib import resource_names as names


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BRIDGE_", frozen=True)

    stage: str = "local"
    app_name: str = "receipt-bridge"
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
    webhook_timeout_seconds: float = 10.0
    webhook_retry_base_seconds: int = 30
    webhook_retry_cap_seconds: int = 4 * 3600
    webhook_retry_window_seconds: int = 26 * 3600

    @property
    def prefix(self) -> str:
        return f"{self.app_name}-{self.stage}"

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


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()
