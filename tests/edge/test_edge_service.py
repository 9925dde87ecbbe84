"""``edge service install|uninstall|status`` (issue 23 point 3) through the CLI, with recording stand-ins for
systemctl and schtasks.exe first on PATH; the generated unit checked by systemd-analyze where it exists."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from edge.service import systemd, windows

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ('api_base = "https://bridge.example"\nedge_key = "edk_abcdefghijklmnopqrstuvwxyz"\nstate_dir = "state"\n'
          '[fiscal_device]\nmanufacturer = "Simulated"\nmodel = "Simulated"\n')
TASK_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


@pytest.fixture
def tools(tmp_path) -> dict[str, object]:
    """A bin directory whose systemctl records its arguments and answers ``status`` with exit ``STATUS_RC``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    script = bin_dir / "systemctl"
    script.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\ncase "$*" in *status*) echo "edge unit: $*"; '
                      'exit "${STATUS_RC:-0}";; esac\nexit 0\n')
    script.chmod(0o755)
    config = tmp_path / "till dir" / "edge.toml"  # a space: every path must stay one argument
    config.parent.mkdir()
    config.write_text(CONFIG)
    return {"log": log, "config": config,
            "env": {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                    "XDG_CONFIG_HOME": str(tmp_path / "xdg")}}


def edge(tools: dict[str, object], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**tools["env"], **extra})


def calls(tools: dict[str, object]) -> list[str]:
    log = tools["log"]
    return log.read_text().splitlines() if log.exists() else []


def test_install_writes_the_user_unit_and_enables_it(tools, tmp_path):
    done = edge(tools, "service", "install", "--user", "--config", str(tools["config"]))
    assert done.returncode == 0, done.stderr
    unit = tmp_path / "xdg" / "systemd" / "user" / systemd.UNIT
    text = unit.read_text()
    assert f'ExecStart="{sys.executable}" "-m" "edge" "run" "--config" "{tools["config"]}"' in text
    assert "Restart=always" in text and "WantedBy=default.target" in text
    assert calls(tools) == ["--user daemon-reload", f"--user enable --now {systemd.UNIT}"]


def test_status_passes_the_service_managers_answer_through(tools):
    running = edge(tools, "service", "status", "--user")
    assert running.returncode == 0 and f"--user status --no-pager --lines=5 {systemd.UNIT}" in running.stdout
    stopped = edge(tools, "service", "status", "--user", STATUS_RC="3")
    assert stopped.returncode == 3


def test_uninstall_stops_removes_and_reloads(tools, tmp_path):
    assert edge(tools, "service", "install", "--user", "--config", str(tools["config"])).returncode == 0
    done = edge(tools, "service", "uninstall", "--user")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "xdg" / "systemd" / "user" / systemd.UNIT).exists()
    assert calls(tools)[2:] == [f"--user disable --now {systemd.UNIT}", "--user daemon-reload"]
    again = edge(tools, "service", "uninstall", "--user")
    assert again.returncode == 2 and "no edge service installed" in again.stderr


def test_a_config_that_cannot_run_installs_nothing(tools, tmp_path):
    tools["config"].write_text('api_base = "https://bridge.example"\n')
    done = edge(tools, "service", "install", "--user", "--config", str(tools["config"]))
    assert done.returncode == 2 and "invalid" in done.stderr
    assert calls(tools) == [] and not (tmp_path / "xdg" / "systemd").exists()


def test_without_systemctl_the_message_says_so(tools, tmp_path):
    env = {**tools["env"], "PATH": str(tmp_path / "empty")}
    done = subprocess.run([sys.executable, "-m", "edge", "service", "status", "--user"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 2 and "systemctl was not found" in done.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
@pytest.mark.parametrize("user_mode", [False, True])
def test_systemd_analyze_verifies_the_generated_unit(tmp_path, user_mode):
    config = tmp_path / "till dir 100%" / "edge.toml"
    config.parent.mkdir()
    config.write_text(CONFIG)
    unit = tmp_path / systemd.UNIT
    unit.write_text(systemd.unit_text([sys.executable, "-m", "edge"], config, user_mode=user_mode))
    # Both units verified by the system manager: a --user verify needs a user session this container lacks.
    verified = subprocess.run(["systemd-analyze", "verify", str(unit)],
                              capture_output=True, text=True, timeout=120)
    problems = [line for line in verified.stderr.splitlines() if systemd.UNIT in line]
    assert verified.returncode == 0 and problems == [], verified.stderr


def test_the_windows_task_runs_the_edge_at_boot_as_local_system_and_restarts_it():
    """Generated on Linux from the Windows path's own code: the Task Scheduler 1.2 definition schtasks imports."""
    python = r"C:\Program Files\Receipt Bridge\venv\Scripts\python.exe"
    config = Path("C:/ProgramData/Receipt Bridge/edge.toml")
    task = ET.fromstring(windows.task_xml([python, "-m", "edge"], config).split("\n", 1)[1])
    assert task.find("t:Triggers/t:BootTrigger/t:Enabled", TASK_NS).text == "true"
    assert task.find("t:Principals/t:Principal/t:UserId", TASK_NS).text == "S-1-5-18"
    assert task.find("t:Settings/t:ExecutionTimeLimit", TASK_NS).text == "PT0S"  # never stopped for running long
    assert task.find("t:Settings/t:RestartOnFailure/t:Count", TASK_NS).text == "999"
    assert task.find("t:Actions/t:Exec/t:Command", TASK_NS).text == python
    assert task.find("t:Actions/t:Exec/t:Arguments", TASK_NS).text == f'-m edge run --config "{config}"'
    assert windows.create_command(Path(r"C:\Temp\edge-task.xml")) == [
        "schtasks.exe", "/Create", "/TN", "ReceiptBridgeEdge", "/XML", r"C:\Temp\edge-task.xml", "/F"]


def test_the_windows_path_registers_and_starts_the_task_through_schtasks(tmp_path, monkeypatch):
    """install/uninstall/status on the Windows path, run here with a recording schtasks.exe on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "schtasks.log"
    tool = bin_dir / "schtasks.exe"
    tool.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\ncase "$*" in *"/XML"*) cp "$5" "{tmp_path}/task.xml";; '
                    'esac\nexit 0\n')
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = tmp_path / "edge.toml"
    assert windows.install([sys.executable, "-m", "edge"], config) == "ReceiptBridgeEdge"
    assert windows.status().returncode == 0
    assert windows.uninstall() == "ReceiptBridgeEdge"
    lines = log.read_text().splitlines()
    assert lines[0].startswith("/Create /TN ReceiptBridgeEdge /XML ") and lines[0].endswith(" /F")
    assert lines[1:] == ["/Run /TN ReceiptBridgeEdge", "/Query /TN ReceiptBridgeEdge /V /FO LIST",
                         "/Query /TN ReceiptBridgeEdge", "/End /TN ReceiptBridgeEdge", "/Delete /TN ReceiptBridgeEdge /F"]
    raw = (tmp_path / "task.xml").read_bytes()  # what schtasks read: UTF-16 with a BOM, well-formed
    assert raw[:2] in (b"\xff\xfe", b"\xfe\xff")
    imported = ET.fromstring(raw.decode("utf-16").split("\n", 1)[1])
    assert imported.find("t:Actions/t:Exec/t:WorkingDirectory", TASK_NS).text == str(tmp_path)
