"""The management API against an attacker (issue 19), over real HTTP to a running edge: a web page on the
till rebinding its name to loopback is refused on every route, the dangerous calls need the local token,
and everything the edge keeps in its state directory is readable by its owner only."""

from __future__ import annotations

import json
import os
import socket
import stat
from typing import Any

import httpx
import pytest
from edge_harness import Stack, make_job, wait_for

POS = '[pos_terminal]\nmanufacturer = "Simulated"\nmodel = "Simulated"'
FORBIDDEN = "E_FORBIDDEN_ORIGIN"
EVIL_MAIL = {"email_list": ["attacker@evil.example"], "send_z_report_email": True}
PRINTER = {"name": "Front", "manufacturer": "Simulated", "model": "Simulated"}


def _send(stack: Stack, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    url = f"http://127.0.0.1:{stack.manage_port}{path}"
    return httpx.request(method, url, json=body, headers=headers or {}, timeout=30)


def _raw(stack: Stack, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (httpx always adds one Host header); the answer's status and body."""
    with socket.create_connection(("127.0.0.1", stack.manage_port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _routes(stack: Stack) -> list[tuple[str, str]]:
    spec = stack.manage("openapi.json").json()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]


def _journal_actions(stack: Stack) -> list[str]:
    reply = stack.manage("get_journal_entries", {"start_time": 0, "end_time": 10**14})
    return [entry["action_type"] for entry in reply.json()]


def test_a_rebinding_page_is_refused_on_every_route_and_changes_nothing(stack: Stack) -> None:
    stack.extra_toml = POS
    stack.start_edge()
    port = stack.manage_port
    routes = _routes(stack)
    assert ("POST", "/manage/simulator/set_faults") in routes and ("POST", "/manage/device_operation") in routes
    before = {path: stack.manage(path).json() for path in ("get_fiscal_devices", "get_pos_terminals", "get_notification_config",
                                                           "simulator/faults")}
    attacks = {
        "device_operation": {"action_type": "ZReport"},
        "save_notification_config": EVIL_MAIL,
        "save_fiscal_device": {**PRINTER, "connection_details": {"type": "Network", "details": {"ip_address": "203.0.113.9", "port": 3999}}},
        "simulator/set_faults": {"paper_out": True},
    }
    # The page at http://evil.example:<port>, its name now resolving to 127.0.0.1; it even holds the token.
    # Browsers leave Origin out of some same-origin requests, so Host alone must be enough to refuse.
    rebound = {"Host": f"evil.example:{port}", **stack.token_header()}
    for headers in (rebound, {**rebound, "Origin": f"http://evil.example:{port}"}):
        for method, path in routes:
            name = path.removeprefix("/manage/")
            reply = _send(stack, method, path, attacks.get(name, {}) if method == "POST" else None, headers)
            assert reply.status_code == 403, (method, path, reply.text)
            assert reply.json()["code"] == FORBIDDEN and reply.json()["success"] is False and reply.json()["message"], path
    for name, body in attacks.items():  # a real Host with a foreign Origin: a cross-site form or fetch
        reply = _send(stack, "POST", f"/manage/{name}", body, {"Origin": "http://evil.example", **stack.token_header()})
        assert (reply.status_code, reply.json()["code"]) == (403, FORBIDDEN), name

    assert {path: stack.manage(path).json() for path in before} == before
    assert "ZReport" not in _journal_actions(stack)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:{port}", True),
        ("localhost:{port}", True),
        ("[::1]:{port}", True),
        ("LOCALHOST:{port}", True),  # host names are case-insensitive (RFC 3986 §3.2.2)
        ("evil.example:{port}", False),
        ("localhost.:{port}", False),  # a trailing dot makes it a DNS name to resolve
        ("127.0.0.1.:{port}", False),
        ("127.0.0.1", False),  # no port
        ("localhost:1{port}", False),
        ("127.0.0.1:{port}.evil.example", False),
        ("user@127.0.0.1:{port}", False),
        ("", False),
    ],
)
def test_host_must_name_the_loopback_api(stack: Stack, host: str, allowed: bool) -> None:
    stack.start_edge()
    reply = _send(stack, "GET", "/manage/status", headers={"Host": host.format(port=stack.manage_port)})
    if allowed:
        assert reply.status_code == 200 and reply.json()["success"] is True, reply.text
    else:
        assert (reply.status_code, reply.json()["code"]) == (403, FORBIDDEN), reply.text


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1:{port}", True),
        ("http://localhost:{port}", True),
        ("http://[::1]:{port}", True),
        ("HTTP://LOCALHOST:{port}", True),
        ("http://evil.example:{port}", False),
        ("http://localhost.:{port}", False),
        ("https://127.0.0.1:{port}", False),  # the API speaks http; another scheme is another origin
        ("http://127.0.0.1", False),
        ("http://127.0.0.1:{port}/", False),  # an Origin never has a path
        ("null", False),  # sandboxed frames, file:// pages, some redirects
    ],
)
def test_origin_when_present_must_be_the_api_itself(stack: Stack, origin: str, allowed: bool) -> None:
    stack.start_edge()
    reply = _send(stack, "POST", "/manage/get_journal_entries", {"start_time": 0, "end_time": 1},
                  {"Origin": origin.format(port=stack.manage_port)})
    if allowed:
        assert (reply.status_code, reply.json()) == (200, []), reply.text
    else:
        assert (reply.status_code, reply.json()["code"]) == (403, FORBIDDEN), reply.text


def test_missing_or_repeated_host_is_refused(stack: Stack) -> None:
    stack.start_edge()
    port = stack.manage_port
    status, body = _raw(stack, b"GET /manage/status HTTP/1.0\r\n\r\n")  # HTTP/1.0 may leave Host out
    assert (status, json.loads(body)["code"]) == (403, FORBIDDEN)
    status, body = _raw(stack, f"GET /manage/status HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    assert (status, json.loads(body)["success"]) == (200, True)
    twice = f"GET /manage/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example:{port}\r\nConnection: close\r\n\r\n"
    assert _raw(stack, twice.encode())[0] == 400  # h11 refuses a second Host before the API sees it
    origins = f"GET /manage/status HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\nOrigin: http://evil.example\r\n\r\n"
    status, body = _raw(stack, origins.encode())
    assert (status, json.loads(body)["code"]) == (403, FORBIDDEN)


def _dangerous_calls(stack: Stack) -> dict[str, dict[str, Any]]:
    printer_id = stack.manage("get_fiscal_devices").json()[0]["id"]
    terminal_id = stack.manage("get_pos_terminals").json()[0]["id"]
    return {
        "save_fiscal_device": {**PRINTER, "id": printer_id},
        "delete_fiscal_device": {"id": printer_id},
        "save_pos_terminal": {"name": "Evil POS", "manufacturer": "Simulated", "model": "Simulated"},
        "delete_pos_terminal": {"id": terminal_id},
        "save_notification_config": EVIL_MAIL,
        "install_update": {"version": "9.9.9"},
        "device_operation ZReport": {"action_type": "ZReport"},
        "device_operation Sale": {"action_type": "Sale", "amount_cents": 5000},
        "device_operation Settlement": {"action_type": "Settlement"},
        "sales": {"order_id": "EVIL-1", "user_id": "x", "payment_method_id": "cash",
                  "items": [{"name": "Gold", "quantity": "1", "unit_price": "999.00", "vat_rate": "20"}]},
    }


def test_dangerous_calls_need_the_local_token_and_reads_do_not(stack: Stack) -> None:
    stack.extra_toml = POS
    edge = stack.start_edge()
    token_file = stack.state_dir / "manage.token"
    token = token_file.read_text().strip()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600 and len(token) == 43  # 32 random bytes, base64url
    settings = ("get_fiscal_devices", "get_pos_terminals", "get_notification_config")
    before = {path: stack.manage(path).json() for path in settings}
    calls = _dangerous_calls(stack)
    wrong = [{}, {"Authorization": "Bearer " + "A" * 43}, {"Authorization": f"Basic {token}"}, {"Authorization": token},
             {"Authorization": f"Bearer {token[:-1]}"}, {"X-Local-Token": token}]
    for name, body in calls.items():
        path = name.split()[0]
        for headers in wrong:
            reply = _send(stack, "POST", f"/manage/{path}", body, headers)
            assert reply.status_code == 401, (name, headers, reply.text)
            assert reply.json() == {"success": False, "message": reply.json()["message"], "code": "E_LOCAL_TOKEN_REQUIRED"}, name
            assert reply.headers["www-authenticate"] == "Bearer"
    assert {path: stack.manage(path).json() for path in settings} == before
    assert not {"ZReport", "Sale", "Settlement"} & set(_journal_actions(stack))

    for path in (*settings, "status", "get_com_ports", "get_supported_devices", "check_for_updates", "simulator/faults"):
        assert _send(stack, "GET", f"/manage/{path}").status_code in (200, 409), path  # 409: no [updates] configured
    for body in ({"action_type": "XReport"}, {"action_type": "Deposit", "amount_cents": 100}):
        assert _send(stack, "POST", "/manage/device_operation", body).status_code == 200, body

    bearer = {"Authorization": f"bearer {token}"}  # the scheme is case-insensitive (RFC 9110 §11.1)
    assert _send(stack, "POST", "/manage/save_notification_config", EVIL_MAIL, bearer).json()["success"] is True
    for body in (calls["device_operation Sale"], calls["device_operation Settlement"], calls["device_operation ZReport"]):
        assert _send(stack, "POST", "/manage/device_operation", body, bearer).status_code == 200, body
    assert {"ZReport", "Sale", "Settlement"} <= set(_journal_actions(stack))
    assert _send(stack, "POST", "/manage/install_update", calls["install_update"], bearer).json()["code"] == "E_UPDATES_NOT_CONFIGURED"

    assert edge.stop() == 0
    assert token not in edge.stderr_text() and token not in "\n".join(edge.stdout)
    stack.start_edge()
    assert token_file.read_text().strip() == token  # kept across restarts: the CLI and scripts rely on it


def test_cli_sends_the_token_it_reads_from_the_state_dir(stack: Stack) -> None:
    stack.start_edge()
    config = str(stack.config_dir / "edge.toml")
    z = stack.cli("report", "z", "--config", config)
    assert z.returncode == 0 and "Z REPORT" in z.stdout, z.stderr
    (stack.state_dir / "manage.token").write_text("B" * 43 + "\n")  # not the token the running edge holds
    refused = stack.cli("report", "z", "--config", config)
    assert refused.returncode == 1 and "E_LOCAL_TOKEN_REQUIRED" in refused.stderr
    assert stack.cli("report", "x", "--config", config).returncode == 0  # an X report changes nothing: open


def test_everything_in_the_state_dir_is_the_owners_only(stack: Stack) -> None:
    stack.extra_toml = POS
    stack.start_edge()
    stack.send(make_job("job-modes"))
    wait_for(lambda: stack.settled("job-modes"), what="job settled")
    assert stack.manage("device_operation", {"action_type": "Sale", "amount_cents": 100}).status_code == 200
    assert stack.manage("save_notification_config", EVIL_MAIL).status_code == 200
    journal = stack.state_dir / "journal.sqlite"
    expected = {"journal.sqlite", "journal.sqlite-wal", "settings.json", "manage.token", "edge.lock"}

    def modes() -> dict[str, int]:
        found = {str(p.relative_to(stack.state_dir)): stat.S_IMODE(p.stat().st_mode) for p in stack.state_dir.rglob("*")}
        return {**found, ".": stat.S_IMODE(stack.state_dir.stat().st_mode)}

    seen = modes()
    assert expected <= set(seen), seen
    assert {name: mode for name, mode in seen.items() if mode != (0o700 if (stack.state_dir / name).is_dir() else 0o600)} == {}
    assert stack.edges[-1].stop() == 0

    os.chmod(stack.state_dir, 0o755)  # as an older edge, or a careless copy, left them
    os.chmod(journal, 0o644)
    os.chmod(stack.state_dir / "manage.token", 0o644)
    stack.start_edge()
    seen = modes()
    assert (seen["."], seen["journal.sqlite"], seen["manage.token"]) == (0o700, 0o600, 0o600)
