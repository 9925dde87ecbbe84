"""A fiscal device's operator, password and serial device server, through the management API of a running
edge and through edge.toml (DESIGN §5)."""

from __future__ import annotations

import json
from typing import Any

from edge_harness import Stack, free_port

TILL = {"name": "Till", "manufacturer": "Simulated", "model": "Simulated"}


def _datecs(port: int, **details: Any) -> dict[str, Any]:
    """A DP25 on the LAN; saved after the simulated register, so it is listed but never prints here."""
    return {"name": "Back DP25", "manufacturer": "DATECS", "model": "DP25",
            "connection_details": {"type": "Network", "details": {"ip_address": "127.0.0.1", "port": port, **details}}}


def _daisy(port: str) -> dict[str, Any]:
    return {"name": "Daisy", "manufacturer": "Daisy", "model": "Compact M",
            "connection_details": {"type": "Serial", "details": {"port": port, "baud_rate": 115200}}}


def _listed(stack: Stack, name: str) -> dict[str, Any]:
    return next(d for d in stack.manage("get_fiscal_devices").json() if d["name"] == name)


def _operator(stack: Stack, name: str) -> tuple[Any, Any]:
    details = _listed(stack, name)["connection_details"]["details"]
    return details["operator"], details["operator_password"]


def _stored(stack: Stack, device_id: str) -> dict[str, Any]:
    settings = json.loads((stack.state_dir / "settings.json").read_text())
    return next(e["settings"] for e in settings["fiscal_devices"] if e["device"]["id"] == device_id)


def test_operator_and_password_are_saved_listed_kept_and_reset(stack: Stack) -> None:
    edge = stack.start_edge()
    port = free_port()
    assert stack.manage("save_fiscal_device", _datecs(port, operator=3, operator_password="3")).json()["success"] is True
    saved = _listed(stack, "Back DP25")
    assert _operator(stack, "Back DP25") == (3, "3")  # in clear: the manual's PIN, and the form must round-trip
    stored = _stored(stack, saved["id"])
    assert (stored["operator"], stored["operator_password"]) == (3, "3")

    # A save that leaves them out (a seed-000 client renaming the device) keeps them; one field at a time.
    assert stack.manage("save_fiscal_device", {**_datecs(port), "id": saved["id"], "name": "Back"}).json()["success"] is True
    assert _operator(stack, "Back") == (3, "3")
    assert stack.manage("save_fiscal_device", {**_datecs(port, operator=30), "id": saved["id"], "name": "Back"}).json()["success"] is True
    assert _operator(stack, "Back") == (30, "3")

    assert edge.stop() == 0
    stack.start_edge()
    assert _operator(stack, "Back") == (30, "3")

    before = stack.manage("get_fiscal_devices").json()
    refusals = [{"operator": 0}, {"operator": 31}, {"operator": "3"}, {"operator": 2.5}, {"operator_password": ""},
                {"operator_password": "123456789"}, {"operator_password": "12a4"}, {"operator_password": 1234},
                {"operator_password": "１２３"}]
    for bad in refusals:
        reply = stack.manage("save_fiscal_device", {**_datecs(port, **bad), "id": saved["id"], "name": "Back"})
        payload = reply.json()
        assert (reply.status_code, payload["success"], payload["code"]) == (400, False, "E_BAD_REQUEST"), bad
        assert "operator" in payload["message"], payload
    assert stack.manage("get_fiscal_devices").json() == before

    # null is the family's factory default: the driver knows it (C doc p.23: operator N's password is N).
    reset = _datecs(port, operator=None, operator_password=None)
    assert stack.manage("save_fiscal_device", {**reset, "id": saved["id"], "name": "Back"}).json()["success"] is True
    assert _operator(stack, "Back") == (None, None)
    stored = _stored(stack, saved["id"])
    assert (stored["operator"], stored["operator_password"]) == (None, None)

    # Another manufacturer under the same id starts from its own factory defaults.
    daisy = {**_daisy(f"socket://127.0.0.1:{port}"), "id": saved["id"]}
    daisy["connection_details"]["details"].update(operator=2, operator_password="222222")
    assert stack.manage("save_fiscal_device", daisy).json()["success"] is True
    assert _operator(stack, "Daisy") == (2, "222222")
    assert stack.manage("save_fiscal_device", {**_datecs(port), "id": saved["id"]}).json()["success"] is True
    assert _operator(stack, "Back DP25") == (None, None)


def test_edge_toml_takes_operator_and_password(stack: Stack) -> None:
    port = free_port()
    stack.device_toml = (
        f'[fiscal_device]\nmanufacturer = "DATECS"\nmodel = "DP25"\noperator = 5\noperator_password = "5"\n'
        f'[fiscal_device.connection]\ntype = "tcp"\nhost = "127.0.0.1"\nport = {port}'
    )
    stack.start_edge()
    [device] = stack.manage("get_fiscal_devices").json()
    assert device["connection_details"] == {
        "type": "Network",
        "details": {"ip_address": "127.0.0.1", "port": port, "username": None, "password": None, "operator": 5, "operator_password": "5"},
    }


def test_edge_toml_refuses_a_bad_operator_or_password_in_one_line(stack: Stack) -> None:
    for line, field in (("operator = 31", "fiscal_device.operator"), ('operator_password = "pass"', "fiscal_device.operator_password"),
                        ('operator = "1"', "fiscal_device.operator")):
        stack.device_toml = f'[fiscal_device]\nmanufacturer = "Simulated"\nmodel = "Simulated"\n{line}'
        done = stack.cli("run", "--config", str(stack.write_config()))
        assert done.returncode == 2 and field in done.stderr and done.stderr.count("\n") == 1, (line, done.stderr)


def test_serial_device_servers_are_ports_too(stack: Stack) -> None:
    stack.start_edge(serial_port_urls=["rfc2217://10.0.0.9:2217"])
    assert stack.manage("save_fiscal_device", TILL).json()["success"] is True
    server = "socket://printer-server.lan:4001"
    assert stack.manage("save_fiscal_device", _daisy(server)).json()["success"] is True
    assert _listed(stack, "Daisy")["connection_details"]["details"]["port"] == server
    ports = stack.manage("get_com_ports").json()
    assert {"rfc2217://10.0.0.9:2217", server} <= set(ports) and ports == sorted(ports)

    before = stack.manage("get_fiscal_devices").json()
    refusals = [
        ("loop://", "E_UNSUPPORTED_PORT_URL"),
        ("spy:///dev/ttyS0", "E_UNSUPPORTED_PORT_URL"),
        ("hwgrep://0403:6001", "E_UNSUPPORTED_PORT_URL"),
        ("SOCKET://10.0.0.9:4001", "E_UNSUPPORTED_PORT_URL"),
        ("socket://10.0.0.9", "E_BAD_PORT_URL"),
        ("socket://10.0.0.9:0", "E_BAD_PORT_URL"),
        ("rfc2217://10.0.0.9:65536", "E_BAD_PORT_URL"),
        ("socket://bad_host!:4001", "E_BAD_PORT_URL"),
        ("socket://:4001", "E_BAD_PORT_URL"),
        ("socket://10.0.0.9:4001?logging=debug", "E_BAD_PORT_URL"),
        ("rfc2217://user@10.0.0.9:2217", "E_BAD_PORT_URL"),
        ("/dev/ttyNOPE7", "E_BAD_PORT"),
    ]
    for port, code in refusals:
        reply = stack.manage("save_fiscal_device", _daisy(port))
        payload = reply.json()
        assert (reply.status_code, payload["success"], payload["code"]) == (400, False, code), (port, payload)
        assert payload["message"]
    assert stack.manage("get_fiscal_devices").json() == before


def test_edge_toml_takes_a_device_server_url_and_refuses_other_schemes(stack: Stack) -> None:
    """The device server is down: the edge starts anyway, lists the device and says it is offline."""
    server = f"rfc2217://127.0.0.1:{free_port()}"
    good = f'[fiscal_device]\nmanufacturer = "Daisy"\nmodel = "Compact M"\n[fiscal_device.connection]\ntype = "serial"\nport = "{server}"'
    stack.device_toml = good
    edge = stack.start_edge()
    [device] = stack.manage("get_fiscal_devices").json()
    assert device["connection_details"]["type"] == "Serial" and device["connection_details"]["details"]["port"] == server
    assert server in stack.manage("get_com_ports").json()
    assert stack.manage("status").json()["device"]["online"] is False
    assert edge.stop() == 0
    for port, words in (("loop://", "loop:// is not a serial device server"), ("socket://10.0.0.9:99999", "1..65535")):
        stack.device_toml = good.replace(server, port)
        done = stack.cli("run", "--config", str(stack.write_config()))
        assert done.returncode == 2 and "fiscal_device.connection.serial.port" in done.stderr and words in done.stderr, done.stderr
    stack.device_toml = '[fiscal_device]\nmanufacturer = "Simulated"\nmodel = "Simulated"'
    done = stack.cli("run", "--config", str(stack.write_config(serial_port_urls=["/dev/ttyS0"])))
    assert done.returncode == 2 and "serial_port_urls" in done.stderr and "serial_port_globs" in done.stderr, done.stderr
