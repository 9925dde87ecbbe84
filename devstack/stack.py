"""Bring up the whole bridge on loopback (DESIGN §3) and seed the demo tenants."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devstack.processes import StartupFailed, Supervisor, port_is_free

ROOT = Path(__file__).resolve().parent.parent
DEMO_CATALOG: list[tuple[str, str, dict[str, str]]] = [
    ("payment_methods", "cash", {"name": "Cash", "type": "cash"}),
    ("payment_methods", "card", {"name": "Card", "type": "card"}),
    ("delivery_methods", "pickup", {"name": "Pickup"}),
    ("users", "demo-cashier", {"name": "Demo cashier"}),
    ("departments", "drinks", {"name": "Drinks"}),
    ("items", "coffee", {"name": "Coffee", "price": "3.50", "vat_rate": "20", "department_id": "drinks"}),
    ("items", "tea", {"name": "Tea", "price": "2.80", "vat_rate": "20", "department_id": "drinks"}),
]
# A Caspos register records AZN only (seed 002 l.73) at the rates its vatType table means (l.1861-1869: 18 % is type 1):
# its demo shop is an Azerbaijani shop.
CASPOS_SHOP = {"name": "Demo shop", "timezone": "Asia/Baku", "currency": "AZN"}
CASPOS_CATALOG = [(kind, entry_id, {**entry, "vat_rate": "18"} if kind == "items" else entry) for kind, entry_id, entry in DEMO_CATALOG]


def demo_tenant(device: str) -> tuple[dict[str, str], list[tuple[str, str, dict[str, str]]]]:
    """The demo shop's profile and catalogue for the fiscal device ``BRIDGE_EDGE_DEVICE`` names."""
    if device == "caspos":
        return CASPOS_SHOP, CASPOS_CATALOG
    return {"name": "Demo shop", "timezone": "UTC"}, DEMO_CATALOG


@dataclass(frozen=True)
class StackConfig:
    aws_port: int
    api_port: int
    edge_port: int
    var_dir: Path
    external_edge: bool = False
    keep_alive: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls) -> StackConfig:
        """``BRIDGE_EDGE_EXTERNAL=1``: write ``edge.toml`` but leave running the edge to the caller (chaos bench);
        ``BRIDGE_KEEP_ALIVE=pump,api``: restart those children whenever they exit."""
        return cls(
            aws_port=int(os.environ.get("BRIDGE_AWS_PORT", "5000")),
            api_port=int(os.environ.get("BRIDGE_API_PORT", "8000")),
            edge_port=int(os.environ.get("BRIDGE_EDGE_PORT", "8765")),
            var_dir=Path(os.environ.get("BRIDGE_VAR_DIR", str(ROOT / "var"))).resolve(),
            external_edge=os.environ.get("BRIDGE_EDGE_EXTERNAL", "") == "1",
            keep_alive=frozenset(n for n in os.environ.get("BRIDGE_KEEP_ALIVE", "").split(",") if n),
        )

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def edge_base(self) -> str:
        return f"http://127.0.0.1:{self.edge_port}"

    @property
    def aws_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"


def cloud_env(config: StackConfig) -> dict[str, str]:
    """Environment of every cloud-side process: moto endpoint, stage, fresh JWT key."""
    return {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ENDPOINT_URL": config.aws_endpoint,
        "BRIDGE_STAGE": "local",
        "BRIDGE_JWT_SECRET": secrets.token_urlsafe(32),
        "BRIDGE_PUBLIC_BASE_URL": config.api_base,
        "BRIDGE_PUMP_STATE_DIR": str(config.var_dir / "pump"),
        "PYTHONUNBUFFERED": "1",
    }


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.cloud_env = cloud_env(config)
        self.env = {**os.environ, **self.cloud_env}
        self.supervisor = Supervisor(config.var_dir / "logs", self.env)

    def start(self) -> dict[str, Any]:
        cfg = self.config
        for name, port in (("aws", cfg.aws_port), ("api", cfg.api_port), ("edge", cfg.edge_port)):
            if not port_is_free(port):
                raise StartupFailed(f"port {port} ({name}) is in use; set BRIDGE_{name.upper()}_PORT to move it")
        for stale in ("edge", "logs", "pump"):  # the emulated cloud starts empty, so must the edge and the pump
            shutil.rmtree(cfg.var_dir / stale, ignore_errors=True)
        self.supervisor.log_dir.mkdir(parents=True, exist_ok=True)
        os.environ.update(self.cloud_env)
        python = sys.executable
        moto = self.supervisor.start("moto", [python, "-m", "devstack.moto_server", "-H", "127.0.0.1", "-p", str(cfg.aws_port)])
        moto.wait_for_port(cfg.aws_port, timeout=30)
        self._provision()
        api = self.supervisor.start(
            "api", [python, "-m", "devstack.chalice_local", "--project-dir", str(ROOT), "local", "--stage", "local",
                    "--host", "127.0.0.1", "--port", str(cfg.api_port), "--no-autoreload"])
        pump = self.supervisor.start("pump", [python, "-m", "devstack.pump"])
        api.wait_for_port(cfg.api_port, timeout=60)
        pump.wait_for_line("PUMP READY", timeout=60)
        demo = self._seed()
        edge_config = self._write_edge_config(demo["shop"]["edge_key"], self._start_device() + self._start_terminal())
        demo["edge_config"] = str(edge_config)
        if not cfg.external_edge:
            edge = self.supervisor.start("edge", [python, "-m", "edge", "run", "--config", str(edge_config)])
            edge.wait_for_line("EDGE READY", timeout=60)
        self.supervisor.keep_alive(set(cfg.keep_alive))
        demo_path = cfg.var_dir / "demo.json"
        demo_path.write_text(json.dumps(demo, indent=2))
        demo_path.chmod(0o600)
        return demo

    def stop(self) -> None:
        self.supervisor.stop_all()

    def _provision(self) -> None:
        import boto3

        from chalicelib.core.settings import settings
        from infra.provision import provision

        provision(boto3.session.Session(), settings().prefix)

    def _seed(self) -> dict[str, Any]:
        from chalicelib.auth.merchants import create_merchant

        merchant, other = create_merchant("Demo merchant"), create_merchant("Other merchant")
        with httpx.Client(base_url=self.config.api_base, timeout=30) as http:
            token = http.post("/api/v1/auth", json={k: merchant[k] for k in ("api_key", "api_secret")})
            token.raise_for_status()
            auth = {"authorization": f"Bearer {token.json()['access_token']}"}
            profile, catalog = demo_tenant(os.environ.get("BRIDGE_EDGE_DEVICE", "simulated"))
            shop = http.post("/api/v1/shops", json=profile, headers=auth)
            shop.raise_for_status()
            shop_id = shop.json()["shop_id"]
            for kind, entry_id, entry in catalog:
                http.put(f"/api/v1/shops/{shop_id}/catalog/{kind}/{entry_id}", json=entry, headers=auth).raise_for_status()
        return {
            "api_base": self.config.api_base,
            "edge_base": self.config.edge_base,
            "aws_endpoint": self.config.aws_endpoint,
            "merchant": {k: merchant[k] for k in ("api_key", "api_secret")},
            "other_merchant": {k: other[k] for k in ("api_key", "api_secret")},
            "shop": {"shop_id": shop_id, "shop_key": shop.json()["shop_key"], "edge_key": shop.json()["edge_key"]},
        }

    def _start_device(self) -> str:
        """Start the emulated fiscal device ``BRIDGE_EDGE_DEVICE`` names; return its [fiscal_device] TOML."""
        kind = os.environ.get("BRIDGE_EDGE_DEVICE", "simulated")
        python = sys.executable
        if kind == "simulated":
            return '[fiscal_device]\nmanufacturer = "Simulated"\nmodel = "Simulated"\n'
        # One ISL model per protocol family (the emulator picks the family by model): Datecs C, Datecs P, Datecs X, Daisy.
        isl = {"datecs": ("DATECS", "DP25"), "datecs-p": ("DATECS", "FP800"), "datecs-x": ("DATECS", "DP25X"), "daisy": ("Daisy", "eXpert SX")}
        if kind in isl:
            manufacturer, model = isl[kind]
            device = self.supervisor.start(kind, [python, "-m", "edge.emulators.isl.server", "--model", model])
            pty = device.wait_for_line(f"{manufacturer.upper()} READY", timeout=30).split()[2].removeprefix("pty=")
            return (
                f'[fiscal_device]\nmanufacturer = "{manufacturer}"\nmodel = "{model}"\nname = "Emulated {manufacturer} {model}"\n'
                f'[fiscal_device.connection]\ntype = "serial"\nport = "{pty}"\nbaud_rate = 115200\n'
            )
        if kind == "tremol":
            device = self.supervisor.start(kind, [python, "-m", "edge.emulators.tremol.server", "--model", "M23"])
            pty = device.wait_for_line("TREMOL READY", timeout=30).split()[2].removeprefix("pty=")
            return (
                '[fiscal_device]\nmanufacturer = "Tremol"\nmodel = "M23"\nname = "Emulated Tremol M23"\n'
                f'[fiscal_device.connection]\ntype = "serial"\nport = "{pty}"\nbaud_rate = 115200\n'
            )
        if kind == "caspos":
            port = int(os.environ.get("BRIDGE_CASPOS_PORT", "5544"))
            if not port_is_free(port):
                raise StartupFailed(f"port {port} (caspos) is in use; set BRIDGE_CASPOS_PORT to move it")
            # The emulator as the document describes it (AZN, its VAT types); the demo shop is an AZN shop (demo_tenant).
            device = self.supervisor.start("caspos", [python, "-m", "edge.emulators.caspos.server", "--port", str(port)])
            device.wait_for_line("CASPOS READY", timeout=30)
            return (
                '[fiscal_device]\nmanufacturer = "Caspos"\nmodel = "Caspos Mobile"\nname = "Emulated Caspos Mobile"\n'
                f'[fiscal_device.connection]\ntype = "http"\nurl = "http://127.0.0.1:{port}"\nusername = "username"\npassword = "password"\n'
            )
        raise StartupFailed(f"BRIDGE_EDGE_DEVICE must be simulated, datecs, datecs-p, datecs-x, daisy, tremol or caspos, not {kind!r}")

    def _start_terminal(self) -> str:
        """The card terminal ``BRIDGE_EDGE_TERMINAL`` names (simulated, or zvt: the emulated ZVT PT on TCP as a
        PAX A920); return its [pos_terminal] TOML."""
        kind = os.environ.get("BRIDGE_EDGE_TERMINAL", "simulated")
        if kind == "simulated":
            return '[pos_terminal]\nmanufacturer = "Simulated"\nmodel = "Simulated"\n'
        if kind != "zvt":
            raise StartupFailed(f"BRIDGE_EDGE_TERMINAL must be simulated or zvt, not {kind!r}")
        port = int(os.environ.get("BRIDGE_ZVT_PORT", "20007"))
        if not port_is_free(port):
            raise StartupFailed(f"port {port} (zvt) is in use; set BRIDGE_ZVT_PORT to move it")
        state = self.config.var_dir / "zvt-pt.sqlite"
        pt = self.supervisor.start("zvt", [sys.executable, "-m", "edge.emulators.zvt.server", "--port", str(port), "--state", str(state)])
        pt.wait_for_line("ZVT READY", timeout=30)
        return (
            '[pos_terminal]\nmanufacturer = "PAX"\nmodel = "A920"\nname = "Emulated ZVT PAX A920"\n'
            f'[pos_terminal.connection]\ntype = "tcp"\nhost = "127.0.0.1"\nport = {port}\n'
        )

    def _write_edge_config(self, edge_key: str, device_toml: str) -> Path:
        edge_dir = self.config.var_dir / "edge"
        edge_dir.mkdir(parents=True, exist_ok=True)
        path = edge_dir / "edge.toml"
        path.write_text(
            f'api_base = "{self.config.api_base}"\n'
            f'edge_key = "{edge_key}"\n'
            f'aws_endpoint_url = "{self.config.aws_endpoint}"\n'
            f'state_dir = "{edge_dir}"\n'
            f'manage_host = "127.0.0.1"\n'
            f"manage_port = {self.config.edge_port}\n"
            + device_toml
        )
        path.chmod(0o600)
        return path
