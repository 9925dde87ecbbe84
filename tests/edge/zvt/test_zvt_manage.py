"""The seed's PAX and Ingenico terminals through the management API of a running edge (seed 000
``save_pos_terminal`` with a Network connection), then a Sale and a Settlement on the emulated ZVT PT."""

from __future__ import annotations

from typing import Any

from edge_harness import Stack

from edge.emulators.zvt.server import ZvtEmulator


def _pax(pt: ZvtEmulator, **details: Any) -> dict[str, Any]:
    link = {"type": "Network", "details": {"ip_address": pt.host, "port": pt.port, **details}}
    return {"name": "Counter PAX", "manufacturer": "PAX", "model": "A920", "connection_details": link}


def test_save_a_pax_a920_and_charge_and_settle_on_it(stack: Stack, pt: ZvtEmulator) -> None:
    stack.start_edge()
    refusals = [
        ({**_pax(pt), "connection_details": None}, "E_CONNECTION_TYPE"),
        ({**_pax(pt), "model": "A80"}, "E_UNSUPPORTED_DEVICE"),
        ({**_pax(pt), "manufacturer": "Verifone"}, "E_UNSUPPORTED_DEVICE"),
        (_pax(pt, operator_password="12345"), "E_BAD_REQUEST"),  # the ZVT password is 6 digits
        ({**_pax(pt), "connection_details": {"type": "Serial", "details": {"port": "COM3"}}}, "E_CONNECTION_TYPE"),
    ]
    for body, code in refusals:
        reply = stack.manage("save_pos_terminal", body)
        assert (reply.status_code, reply.json()["code"]) == (400, code), body
    saved = stack.manage("save_pos_terminal", _pax(pt))
    assert saved.json() == {"success": True, "message": "POS terminal saved successfully"}
    [listed] = stack.manage("get_pos_terminals").json()
    assert (listed["manufacturer"], listed["model"], listed["connection_details"]["details"]["port"]) == ("PAX", "A920", pt.port)

    sale = stack.manage("device_operation", {"action_type": "Sale", "amount_cents": 1990, "reference": "walk-in-1"})
    assert sale.status_code == 200, sale.text
    assert "APPROVED 0001" in sale.json()["entry"]["full_text"]
    settlement = stack.manage("device_operation", {"action_type": "Settlement"})
    assert settlement.status_code == 200 and settlement.json()["entry"]["amount_cents"] == 1990
    assert [(b.kind, b.amount) for b in pt.bookings()] == [("sale", 1990)]


def test_a_wrong_zvt_password_is_refused_by_the_pt_and_charges_nothing(stack: Stack, pt: ZvtEmulator) -> None:
    stack.start_edge()
    ingenico = {**_pax(pt, operator_password="654321"), "manufacturer": "Ingenico", "model": "Desk3500"}
    assert stack.manage("save_pos_terminal", ingenico).json()["success"] is True
    [listed] = stack.manage("get_pos_terminals").json()
    assert listed["connection_details"]["details"]["operator_password"] is None  # kept in the settings only
    resaved = stack.manage("save_pos_terminal", {**listed, "name": "Counter Ingenico"})  # the listing saved back
    assert resaved.json()["success"] is True  # keeps 654321: the PT below still refuses it
    sale = stack.manage("device_operation", {"action_type": "Sale", "amount_cents": 500})
    assert sale.status_code >= 400 and sale.json()["code"] == "E_TERMINAL_REFUSED"
    assert pt.bookings() == []
