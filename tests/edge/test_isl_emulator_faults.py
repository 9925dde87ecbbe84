"""Injected device faults in each family's status bits, link faults, the servers and the command line."""

from __future__ import annotations

import os
import random
import select
import socket
import subprocess
import sys
import time
import tty
from pathlib import Path

import pytest
from isl_emulator_wire import Wire, parse, request

from edge.emulators.isl.commands import commands_for
from edge.emulators.isl.device import FiscalPrinter, UnsupportedFault
from edge.emulators.isl.endpoint import LinkFaults
from edge.emulators.isl.server import PtyServer, TcpServer

ROOT = Path(__file__).resolve().parents[2]
OPENS = {"DP-25": "1,1,DT000600-0001-0000001,1", "FP-650": "1,0000,1,DT000600-OP01-0000001", "Perfect M": "1,1,DY000600-OP01-0000001"}
SALE = b"x\t\xc11.00"  # Cyrillic Б: every family takes it
MODELS = list(OPENS)


def opened(model: str) -> Wire:
    wire = Wire(FiscalPrinter(model))
    assert wire.send(0x30, OPENS[model]).bit(2, 3)
    return wire


@pytest.mark.parametrize("model", MODELS)
def test_paper_out_refuses_close_with_bit_2_0_alone(model: str) -> None:
    wire = opened(model)
    wire.send(0x31, SALE)
    wire.send(0x35, "\t")
    wire.printer.faults.paper_out = True
    refused = wire.send(0x38)
    # "the command is rejected and has not changed the state" (C doc p.3, P doc p.4); Daisy doc p.5 2.0
    assert refused.data == b"" and {"2.0", "0.5"} <= refused.bits() and not {"0.0", "1.1"} & refused.bits()
    assert wire.printer.open is not None and wire.printer.fiscal_receipts() == []
    wire.printer.faults.paper_out = False
    assert wire.send(0x38).bits() & {"2.0", "0.5"} == set() and len(wire.printer.fiscal_receipts()) == 1


@pytest.mark.parametrize(("model", "bit"), [("DP-25", "0.6"), ("FP-650", "0.6")])
def test_cover_open_refuses_printing(model: str, bit: str) -> None:
    wire = opened(model)
    wire.printer.faults.cover_open = True
    refused = wire.send(0x31, SALE)
    assert bit in refused.bits() and wire.printer.open.lines == []  # type: ignore[union-attr]


@pytest.mark.parametrize(("model", "fault"), [("DP-25", "printing_unit_fault"), ("DP-25", "paper_near_end"), ("Perfect M", "cover_open")])
def test_a_fault_the_document_has_no_bit_for_cannot_be_injected(model: str, fault: str) -> None:
    with pytest.raises(UnsupportedFault):
        setattr(FiscalPrinter(model).faults, fault, True)
    with pytest.raises(UnsupportedFault):
        FiscalPrinter("DP-25").faults.error_code = 3  # byte 3 is an error code on Daisy only


@pytest.mark.parametrize("model", ["FP-650", "Perfect M"])
def test_printing_unit_fault_is_0_4_and_a_general_error(model: str) -> None:
    wire = opened(model)
    wire.printer.faults.printing_unit_fault = True
    answer = wire.send(0x36, "text")
    assert {"0.4", "0.5"} <= answer.bits() and wire.printer.open.texts == []  # type: ignore[union-attr]


@pytest.mark.parametrize(("model", "refused"), [("DP-25", False), ("FP-650", True), ("Perfect M", True)])
def test_clock_not_set(model: str, refused: bool) -> None:
    wire = Wire(FiscalPrinter(model))
    wire.printer.faults.clock_not_set = True
    answer = wire.send(0x30, OPENS[model])
    assert "0.2" in answer.bits() and ("1.1" in answer.bits()) is refused  # P doc p.17, Daisy doc p.14; not in C
    wire.send(0x3D, "01-01-30 10:00:00")
    assert "0.2" not in wire.send(0x4A).bits()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(("fault", "bits"), [("fm_full", {"4.4", "4.5"}), ("fm_write_error", {"4.0", "4.5"})])
def test_fiscal_memory_errors_refuse_receipts_and_z(model: str, fault: str, bits: set[str]) -> None:
    wire = Wire(FiscalPrinter(model))
    setattr(wire.printer.faults, fault, True)
    answer = wire.send(0x30, OPENS[model])
    assert bits | {"1.1"} <= answer.bits() and wire.printer.open is None
    assert "1.1" in wire.send(0x45).bits() and wire.printer.z_number == 0
    assert "1.1" not in wire.send(0x45, "2").bits()  # an X report writes nothing to the fiscal memory


@pytest.mark.parametrize(("model", "near", "end"), [("DP-25", "2.4", "2.2"), ("FP-650", "2.4", "2.2"), ("Perfect M", "2.4", "2.2")])
def test_ej_near_end_warns_and_end_refuses(model: str, near: str, end: str) -> None:
    wire = Wire(FiscalPrinter(model))
    wire.printer.faults.ej_near_end = True
    assert near in wire.send(0x4A).bits()
    wire.printer.faults.ej_end = True
    answer = wire.send(0x26)
    assert {end, "1.1"} <= answer.bits() and wire.printer.open is None  # C doc p.4, P doc p.6


@pytest.mark.parametrize(("model", "bit"), [("DP-25", "4.3"), ("FP-650", "4.3"), ("Perfect M", "4.3")])
def test_fiscal_memory_near_full_is_only_a_warning(model: str, bit: str) -> None:
    wire = Wire(FiscalPrinter(model))
    wire.printer.faults.fm_near_full = True
    answer = wire.send(0x30, OPENS[model])
    assert bit in answer.bits() and "4.5" not in answer.bits() and answer.bit(2, 3)


@pytest.mark.parametrize(("model", "bit"), [("DP-25", "1.6"), ("FP-650", "1.6"), ("Perfect M", "4.1")])
def test_a_silent_tax_terminal_refuses_receipts(model: str, bit: str) -> None:
    wire = Wire(FiscalPrinter(model))
    wire.printer.faults.tax_terminal_silent = True
    assert {bit, "1.1"} <= wire.send(0x30, OPENS[model]).bits()


@pytest.mark.parametrize("model", MODELS)
def test_no_data_crashes_any_command(model: str) -> None:
    samples = ["", "0", "2", "T", "W", "I", "*1", ",,,", "\t", "1,1,1", OPENS[model], "x\tБ1.00*2,-5", "10$-1", "11;-1",
               "\tP1", "\tC1*1", "0,1,0", "W,1", "R,1", "01-01-30 10:00", "99-99-99 99:99", "5.00,Text", "1.2.3", "я" * 200]
    rnd = random.Random(model)
    printer = FiscalPrinter(model)
    codes = [*commands_for(printer.family), 0x20, 0x7E, 0xFF]
    for _ in range(600):
        _, status = printer.execute(rnd.choice(codes), rnd.choice(samples).encode("cp1251"))
        assert len(status) == 6


# -- link faults ----------------------------------------------------------------------------------------


def test_link_faults_spoil_answers_one_by_one() -> None:
    faults = LinkFaults(nak=1, corrupt_checksum=1, truncate=1, garbage=1)
    wire = Wire(FiscalPrinter("DP-25"), faults)
    assert wire.raw(request(0x21, 0x71)) == b"\x15"
    corrupt = wire.raw(request(0x22, 0x71))
    with pytest.raises(AssertionError, match="BCC"):
        parse(corrupt)
    assert len(wire.raw(request(0x23, 0x71))) < len(corrupt)
    assert b"NOISE" in wire.raw(request(0x24, 0x71))
    assert parse(wire.raw(request(0x25, 0x71))).data == b"0000000"


def test_syn_while_busy_then_the_answer() -> None:
    wire = Wire(FiscalPrinter("DP-25"), LinkFaults(syn=3, syn_interval=0.0))
    out = wire.raw(request(0x21, 0x71))
    assert out[:3] == b"\x16\x16\x16" and parse(out[3:]).data == b"0000000"  # SYN 16h (C doc p.4)


def test_drop_after_runs_the_command_then_falls_silent() -> None:
    faults = LinkFaults(drop_after=0x26)
    wire = Wire(FiscalPrinter("DP-25"), faults)
    assert wire.raw(request(0x21, 0x26)) == b"" and wire.printer.open is not None
    assert wire.raw(request(0x22, 0x71)) == b""
    faults.silent = False
    assert parse(wire.raw(request(0x21, 0x26))).data == b"0001"  # the resent frame gets the kept answer


# -- servers and command line ----------------------------------------------------------------------------


def _read_frame(fd: int) -> bytes:
    out = b""
    deadline = time.monotonic() + 5
    while not out.endswith(b"\x03") and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            out += os.read(fd, 4096)
    return out


def test_pty_server_answers_on_the_slave() -> None:
    printer = FiscalPrinter("Compact M")
    server = PtyServer(printer).start()
    try:
        fd = os.open(server.path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        os.write(fd, request(0xA0, 0x71))
        assert parse(_read_frame(fd)).data == b"0000000"
        os.close(fd)
    finally:
        server.stop()


def test_tcp_connections_share_one_device() -> None:
    printer = FiscalPrinter("FP-650")
    server = TcpServer(printer).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as first:
            first.sendall(request(0x21, 0x26))
            assert parse(first.recv(4096)).data == b"0001"
        with socket.create_connection(("127.0.0.1", server.port)) as second:
            second.sendall(request(0x22, 0x27))
            assert parse(second.recv(4096)).data == b"0001" and printer.journal[-1].kind == "service"
    finally:
        server.stop()


@pytest.mark.parametrize(("model", "ready"), [("DP25", "DATECS READY"), ("FP-650", "DATECS READY"), ("eXpert SX", "DAISY READY"), ("DP-25X", "DATECS READY")])
def test_command_line_picks_the_family_by_model(model: str, ready: str) -> None:
    child = subprocess.Popen([sys.executable, "-m", "edge.emulators.isl.server", "--model", model], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith(ready) and line.split()[2].startswith("pty=/dev/")
    finally:
        child.terminate()
        child.wait(timeout=10)


@pytest.mark.parametrize(("args", "message"), [(["--model", "DP-99"], "unknown model"), (["--model", "Perfect S", "--tcp-port", "0"], "serial port only")])
def test_command_line_refuses(args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "edge.emulators.isl.server", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2 and message in done.stderr
