"""Device and notification settings through the management API of a running edge (seed 000 shapes)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from edge_harness import Stack, make_job, wait_for

from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.server import PtyServer

SIMULATED = {"name": "Till 2", "manufacturer": "Simulated", "model": "Simulated", "notes": "back office"}


def _devices(stack: Stack) -> list[dict]:
    return stack.manage("get_fiscal_devices").json()


def test_supported_devices_name_every_driver_exactly(stack: Stack) -> None:
    stack.start_edge()
    body = stack.manage("get_supported_devices").json()
    fiscal = {m["value"]: m for m in body["fiscal"]["manufacturers"]}
    assert set(fiscal) == {"Simulated", "DATECS", "Daisy", "Caspos", "Tremol"}
    # Seed 000's Tremol models, on ZFP (Tremol doc p.6: serial, or TCP on port 8000).
    assert fiscal["Tremol"] == {"value": "Tremol", "label": "Tremol", "models": ["A19 Plus", "M20", "M23", "S21", "S25", "Tremol S"],
                                "default_port": 8000, "supports_serial": True, "supports_network": True}
    # Datecs C (C doc p.1), P (P doc p.1) and X (X doc p.1; DP25 MX and FP700 as seed 000 names them) models, each once.
    assert fiscal["DATECS"] == {
        "value": "DATECS", "label": "DATECS",
        "models": ["DP05", "DP25", "DP35", "WP50", "DP150", "FP800", "FP2000", "FP650", "SK1-21F", "SK1-31F", "FMP10", "FP550",
                   "DP25 MX", "FP700", "FP700X", "FMP350X", "FMP55X", "WP500X", "WP50X", "DP25X", "DP150X"],
        "default_port": 3999, "supports_serial": True, "supports_network": True,
    }
    assert (fiscal["Daisy"]["supports_serial"], fiscal["Daisy"]["supports_network"], fiscal["Daisy"]["default_port"]) == (True, False, None)
    assert (fiscal["Caspos"]["models"], fiscal["Caspos"]["default_port"], fiscal["Caspos"]["supports_serial"]) == (["Caspos Mobile"], 5544, False)
    assert fiscal["Simulated"]["models"] == ["Simulated"]
    assert body["pos"]["banks"] == [] and [m["value"] for m in body["pos"]["manufacturers"]] == ["Simulated", "Ingenico", "PAX"]
    zvt = {m["value"]: (m["models"], m["default_port"], m["supports_serial"], m["supports_network"]) for m in body["pos"]["manufacturers"][1:]}
    assert zvt == {"Ingenico": (["Desk3200", "Desk3500"], 20007, False, True), "PAX": (["A920", "A920 Pro"], 20007, False, True)}


def test_save_creates_updates_deletes_and_survives_a_restart(stack: Stack) -> None:
    edge = stack.start_edge()
    [seeded] = _devices(stack)
    assert (seeded["manufacturer"], seeded["model"], seeded["connection_details"]) == ("Simulated", "Simulated", None)

    reply = stack.manage("save_fiscal_device", SIMULATED)
    assert (reply.status_code, reply.json()) == (200, {"success": True, "message": "Fiscal device saved successfully"})
    added = next(d for d in _devices(stack) if d["name"] == "Till 2")
    assert added["id"] and added["notes"] == "back office"

    renamed = stack.manage("save_fiscal_device", {**SIMULATED, "id": added["id"], "name": "Till 3"})
    assert renamed.json()["success"] is True
    assert [d["name"] for d in _devices(stack)] == [seeded["name"], "Till 3"]

    terminal = {"name": "Counter POS", "manufacturer": "Simulated", "model": "Simulated"}
    assert stack.manage("save_pos_terminal", terminal).json() == {"success": True, "message": "POS terminal saved successfully"}
    [pos] = stack.manage("get_pos_terminals").json()

    notification = {"email_list": ["admin@example.com", "support@store.com"], "send_z_report_email": True}
    saved = stack.manage("save_notification_config", notification)
    assert saved.json() == {"success": True, "message": "Notification config saved successfully"}

    assert edge.stop() == 0
    stack.start_edge()
    assert [d["name"] for d in _devices(stack)] == [seeded["name"], "Till 3"]
    assert stack.manage("get_notification_config").json() == notification
    assert stack.manage("delete_fiscal_device", {"id": added["id"]}).json() == {"success": True, "message": "Fiscal device deleted successfully"}
    assert stack.manage("delete_pos_terminal", {"id": pos["id"]}).json() == {"success": True, "message": "POS terminal deleted successfully"}
    assert [d["id"] for d in _devices(stack)] == [seeded["id"]] and stack.manage("get_pos_terminals").json() == []

    devices = stack.cli("devices", "--config", str(stack.config_dir / "edge.toml"), "--json")
    assert devices.returncode == 0 and seeded["id"] in devices.stdout and "Till 3" not in devices.stdout


REFUSALS = [
    ({**SIMULATED, "id": "0c4d6f6e-8d1b-4d43-9a0e-1f2a3b4c5d6e"}, 404, "E_DEVICE_NOT_FOUND"),
    ({**SIMULATED, "manufacturer": "Datecs"}, 400, "E_UNSUPPORTED_DEVICE"),  # the exact string is DATECS
    ({**SIMULATED, "model": "DP25"}, 400, "E_UNSUPPORTED_DEVICE"),
    ({**SIMULATED, "connection_details": {"type": "Network", "details": {"ip_address": "127.0.0.1", "port": 3999}}}, 400, "E_CONNECTION_TYPE"),
    ({"name": "D", "manufacturer": "Daisy", "model": "Compact M",
      "connection_details": {"type": "Network", "details": {"ip_address": "10.0.0.5", "port": 3999}}}, 400, "E_CONNECTION_TYPE"),
    ({"name": "D", "manufacturer": "DATECS", "model": "DP25",
      "connection_details": {"type": "Usb", "details": {"vendor_id": 1234, "product_id": 1}}}, 400, "E_CONNECTION_TYPE"),
    ({"name": "D", "manufacturer": "DATECS", "model": "DP25"}, 400, "E_CONNECTION_TYPE"),
    ({"name": "D", "manufacturer": "DATECS", "model": "DP25",
      "connection_details": {"type": "Serial", "details": {"port": "/dev/ttyNOPE7", "baud_rate": 115200}}}, 400, "E_BAD_PORT"),
    ({"name": "D", "manufacturer": "DATECS", "model": "DP25",
      "connection_details": {"type": "Serial", "details": {"port": "/dev/ttyNOPE7", "baud_rate": 12345}}}, 400, "E_BAD_BAUD_RATE"),
    ({"name": "D", "manufacturer": "DATECS", "model": "DP25",
      "connection_details": {"type": "Network", "details": {"ip_address": "10.0.0.5", "port": 70000}}}, 400, "E_BAD_PORT"),
    ({"name": "C", "manufacturer": "Caspos", "model": "Caspos Mobile",
      "connection_details": {"type": "Network", "details": {"ip_address": "10.0.0.5", "port": 5544}}}, 400, "E_BAD_REQUEST"),
    ({"name": "D", "manufacturer": "DATECS", "model": "DP25",
      "connection_details": {"type": "Serial", "details": {"port": "COM3", "baud_rate": "fast"}}}, 400, "E_BAD_REQUEST"),
    ({"name": "", "manufacturer": "Simulated", "model": "Simulated"}, 400, "E_BAD_REQUEST"),
    ({**SIMULATED, "colour": "red"}, 400, "E_BAD_REQUEST"),
    ([SIMULATED], 400, "E_BAD_REQUEST"),
]


def test_bad_device_configs_get_clear_4xx_and_change_nothing(stack: Stack) -> None:
    stack.start_edge()
    before = _devices(stack)
    for body, status, code in REFUSALS:
        reply = stack.manage("save_fiscal_device", body)
        payload = reply.json()
        assert (reply.status_code, payload["success"], payload["code"]) == (status, False, code), (body, payload)
        assert payload["message"]
    assert stack.manage("delete_fiscal_device", {"id": "no-such-device"}).status_code == 404
    assert stack.manage("delete_fiscal_device", {}).status_code == 400
    assert stack.manage("save_pos_terminal", {"name": "P", "manufacturer": "VivaWallet", "model": "Q30"}).json()["code"] == "E_UNSUPPORTED_DEVICE"
    assert stack.manage("delete_pos_terminal", {"id": "nope"}).json()["code"] == "E_DEVICE_NOT_FOUND"
    for bad in ({"email_list": ["not an address"], "send_z_report_email": True}, {"email_list": ["a@b.c\r\nBcc: x@y.z"]},
                {"email_list": "a@b.c"}, {"send_z_report_email": "yes please"}):
        assert stack.manage("save_notification_config", bad).json()["code"] == "E_BAD_REQUEST", bad
    assert _devices(stack) == before
    assert stack.manage("get_notification_config").json() == {"email_list": [], "send_z_report_email": False}

    caspos = {"name": "Kassa", "manufacturer": "Caspos", "model": "Caspos Mobile",
              "connection_details": {"type": "Network", "details": {"ip_address": "10.0.0.5", "port": 5544, "username": "u", "password": "s3cret"}}}
    assert stack.manage("save_fiscal_device", caspos).json()["success"] is True
    listed = stack.manage("get_fiscal_devices").text
    assert "s3cret" not in listed and "**********" in listed


def test_a_damaged_settings_file_stops_the_edge_with_one_line(stack: Stack) -> None:
    stack.state_dir.mkdir(parents=True)
    (stack.state_dir / "settings.json").write_text('{"fiscal_devices": [{"device": 42}]}')
    done = stack.cli("run", "--config", str(stack.write_config()))
    assert done.returncode == 2 and "settings.json is invalid" in done.stderr and done.stderr.count("\n") == 1


def test_com_ports_list_a_pty_and_the_poller_switches_to_the_saved_printer(stack: Stack, tmp_path: Path) -> None:
    printer = FiscalPrinter("FP800")  # Datecs P: operator 1's factory password "0000" (P doc p.31), no operator configured
    pty = PtyServer(printer).start()
    link = tmp_path / "ttyFISCAL0"
    os.symlink(pty.path, link)
    (tmp_path / "ttyNOTADEVICE").write_text("")
    try:
        stack.start_edge(serial_port_globs=[str(tmp_path / "tty*")])
        ports = stack.manage("get_com_ports").json()
        assert str(link) in ports and str(tmp_path / "ttyNOTADEVICE") not in ports

        stack.send(make_job("job-sim"))
        wait_for(lambda: stack.settled("job-sim"), what="job printed on the simulated register")
        [seeded] = _devices(stack)
        datecs = {"id": seeded["id"], "name": "Front FP800", "manufacturer": "DATECS", "model": "FP800",
                  "connection_details": {"type": "Serial", "details": {"port": str(link), "baud_rate": 115200}}}
        assert stack.manage("save_fiscal_device", datecs).json()["success"] is True

        stack.send(make_job("job-dt"))
        wait_for(lambda: stack.settled("job-dt"), timeout=20, what="job printed on the Datecs printer")
        assert len(printer.receipts_with_text("job-dt")) == 1 and stack.receipts_for("job-dt") == 0
        results = {r.job_id: r.fiscal for r in stack.cloud.results}
        assert results["job-dt"] is not None and results["job-dt"].device.startswith("DATECS:")
        assert results["job-sim"] is not None and results["job-sim"].device.startswith("Simulated:")
        [listed] = _devices(stack)
        factory = {"operator": None, "operator_password": None}  # none given: the family's factory operator
        assert listed["connection_details"] == {"type": "Serial", "details": {**datecs["connection_details"]["details"], **factory}}
    finally:
        pty.stop()


def test_non_json_bodies_are_400(stack: Stack) -> None:
    stack.start_edge()
    for path in ("save_fiscal_device", "get_journal_entries", "save_notification_config", "install_update", "device_operation"):
        reply = httpx.post(f"{stack.manage_url}/{path}", content=b"\xff{not json", headers={"content-type": "application/json"})
        assert reply.status_code == 400 and reply.json()["success"] is False, path
