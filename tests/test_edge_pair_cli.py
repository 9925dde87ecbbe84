"""``python -m edge pair`` (issue 23 point 2) as a person at the till runs it, against the bridge over real HTTP."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from edge.config import load_config
from tests.conftest import demo_shop

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bridge(api, monkeypatch) -> Iterator[str]:
    """The Chalice app (moto behind it) served on a loopback port, so the CLI subprocess reaches it over HTTP;
    its public base URL (the ``api_base`` pairing hands out) is that address."""
    from chalicelib.core.settings import settings

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            reply = api.client.http.request("POST", self.path, headers=dict(self.headers), body=body)
            self.send_response(reply.status_code)
            for name, value in reply.headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("BRIDGE_PUBLIC_BASE_URL", f"http://127.0.0.1:{server.server_port}")
    settings.cache_clear()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    monkeypatch.undo()
    settings.cache_clear()


def edge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def new_code(api, merchant: dict[str, Any], shop_id: str) -> str:
    issued = api.call("POST", f"/api/v1/shops/{shop_id}/edge/pairing", None, merchant["auth"])
    assert issued.status_code == 200, issued.body
    return issued.json["code"]


def test_pair_writes_a_0600_config_the_edge_runs_with(api, merchant, shop, bridge, tmp_path):
    config = tmp_path / "till" / "edge.toml"
    done = edge("pair", new_code(api, merchant, shop["shop_id"]), "--api-base", bridge, "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert f"paired with shop {shop['shop_id']}" in done.stdout
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    loaded = load_config(config)  # what `edge run` reads
    assert loaded.shop_id == shop["shop_id"] and loaded.state_dir == config.parent.resolve() / "state"
    opened = api.call("POST", "/api/v1/edge/session", {"edge_key": loaded.edge_key.get_secret_value()})
    assert opened.status_code == 200, opened.body
    assert [p.name for p in config.parent.iterdir()] == ["edge.toml"]  # no temporary file left behind


def test_pairing_again_keeps_the_rest_of_the_config(api, merchant, shop, bridge, tmp_path):
    config = tmp_path / "edge.toml"
    assert edge("pair", new_code(api, merchant, shop["shop_id"]), "--api-base", bridge, "-c", str(config)).returncode == 0
    config.write_text(config.read_text() + "# the printer on COM3\n[fiscal_device.connection]\ntype = \"serial\"\n"
                      "port = \"COM3\"\n")
    first_key = tomllib.loads(config.read_text())["edge_key"]
    done = edge("pair", new_code(api, merchant, shop["shop_id"]), "-c", str(config))  # api_base from the config
    assert done.returncode == 0, done.stderr
    text = config.read_text()
    assert "# the printer on COM3" in text and load_config(config).fiscal_device.connection.port == "COM3"
    assert tomllib.loads(text)["edge_key"] != first_key


def test_a_used_code_is_refused_with_a_clear_message(api, merchant, shop, bridge, tmp_path):
    code = new_code(api, merchant, shop["shop_id"])
    assert edge("pair", code, "--api-base", bridge, "-c", str(tmp_path / "a.toml")).returncode == 0
    done = edge("pair", code, "--api-base", bridge, "-c", str(tmp_path / "b.toml"))
    assert done.returncode == 1
    assert "used, expired or mistyped" in done.stderr and "ask for a new one" in done.stderr
    assert not (tmp_path / "b.toml").exists()


def test_no_network_says_so_and_spends_nothing(api, merchant, shop, tmp_path):
    from devstack.harness import free_port

    code = new_code(api, merchant, shop["shop_id"])
    done = edge("pair", code, "--api-base", f"http://127.0.0.1:{free_port()}", "-c", str(tmp_path / "edge.toml"))
    assert done.returncode == 2
    assert "cannot reach the bridge" in done.stderr and "the code was not used" in done.stderr
    assert api.call("POST", "/api/v1/edge/pair", {"code": code}).status_code == 200  # still good


def test_another_shops_config_is_not_overwritten_and_the_key_is_not_lost(api, merchant, shop, bridge, tmp_path):
    config = tmp_path / "edge.toml"
    assert edge("pair", new_code(api, merchant, shop["shop_id"]), "--api-base", bridge, "-c", str(config)).returncode == 0
    before = config.read_text()
    other = demo_shop(api, merchant, "Second shop")
    done = edge("pair", new_code(api, merchant, other["shop_id"]), "-c", str(config))
    assert done.returncode == 1 and f"config of shop {shop['shop_id']}" in done.stderr
    assert config.read_text() == before
    beside = tmp_path / f"edge.{other['shop_id']}.toml"
    assert load_config(beside).shop_id == other["shop_id"]
    assert stat.S_IMODE(beside.stat().st_mode) == 0o600
    forced = edge("pair", new_code(api, merchant, other["shop_id"]), "-c", str(config), "--force")
    assert forced.returncode == 0, forced.stderr
    assert load_config(config).shop_id == other["shop_id"]


def test_a_key_of_an_unknown_shop_is_refused_before_the_code_is_spent(api, merchant, shop, bridge, tmp_path):
    config = tmp_path / "edge.toml"
    config.write_text(f'api_base = "{bridge}"\nedge_key = "edk_handcopied"\nstate_dir = "s"\n'
                      '[fiscal_device]\nmanufacturer = "Simulated"\nmodel = "Simulated"\n')
    code = new_code(api, merchant, shop["shop_id"])
    done = edge("pair", code, "-c", str(config))
    assert done.returncode == 2 and "--force" in done.stderr
    assert "edk_handcopied" in config.read_text()
    assert edge("pair", code, "-c", str(config), "--force").returncode == 0  # the code was still good
    assert load_config(config).shop_id == shop["shop_id"]


@pytest.mark.parametrize("content", [b"api_base = [", b"\xff\xfe"])
def test_an_unreadable_config_is_left_alone(api, merchant, shop, bridge, tmp_path, content):
    config = tmp_path / "edge.toml"
    config.write_bytes(content)
    done = edge("pair", new_code(api, merchant, shop["shop_id"]), "--api-base", bridge, "-c", str(config))
    assert done.returncode == 2 and "not valid TOML" in done.stderr
    assert config.read_bytes() == content


def test_without_a_bridge_url_pairing_asks_for_one(tmp_path):
    done = edge("pair", "ABCD-EFGH-JKMN", "-c", str(tmp_path / "edge.toml"))
    assert done.returncode == 2 and "--api-base" in done.stderr


def test_the_make_run_demo_pairs_a_second_till(api, merchant, bridge, tmp_path):
    """devstack's demo step (issue 23 point 4) against the bridge: a code for a second shop, paired by the CLI."""
    from devstack.demo import pair_second_till

    lines: list[str] = []
    demo = {"api_base": bridge, "merchant": {k: merchant[k] for k in ("api_key", "api_secret")}}
    config = tmp_path / "edge2" / "edge.toml"
    paired = pair_second_till(demo, lines.append, config)
    assert load_config(config).shop_id == paired["shop_id"]
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "pairing code" in lines[0] and "(mode 600)" in lines[1]
    assert api.call("POST", "/api/v1/edge/session",
                    {"edge_key": load_config(config).edge_key.get_secret_value()}).status_code == 200
