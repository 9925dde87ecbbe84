"""The edge kept running on Windows: a Task Scheduler task that starts ``edge run`` at boot as LocalSystem
and restarts it after a failure, registered with ``schtasks.exe /Create /XML``.

Not an SCM service (``sc.exe create``): python.exe does not answer the Service Control Manager, which stops
such a "service" 30 s after starting it (error 1053) unless a wrapper speaks the protocol. A boot task needs
no wrapper and no pywin32. Schema: Microsoft's Task Scheduler 1.2 XML (Task, BootTrigger, RestartOnFailure).
Only portable calls on this path (tempfile, pathlib, subprocess through ``runner``), so it is tested on Linux.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from edge.service.runner import Outcome, ServiceError, checked, run

TASK = "ReceiptBridgeEdge"
LOCAL_SYSTEM = "S-1-5-18"


def task_xml(command: list[str], config: Path) -> str:
    """The task definition: ``command`` (the edge's argv up to ``run``) plus ``run --config <config>``."""
    arguments = subprocess.list2cmdline([*command[1:], "run", "--config", str(config)])
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-16"?>',
        '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
        "  <RegistrationInfo><Description>Receipt Bridge edge: prints the shop's fiscal receipts</Description>"
        "</RegistrationInfo>",
        "  <Triggers><BootTrigger><Enabled>true</Enabled></BootTrigger></Triggers>",
        f'  <Principals><Principal id="Edge"><UserId>{LOCAL_SYSTEM}</UserId><RunLevel>HighestAvailable</RunLevel>'
        "</Principal></Principals>",
        "  <Settings>",
        "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>",
        "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>",
        "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>",
        "    <StartWhenAvailable>true</StartWhenAvailable>",
        "    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>",
        "    <RestartOnFailure><Interval>PT1M</Interval><Count>999</Count></RestartOnFailure>",
        "  </Settings>",
        '  <Actions Context="Edge"><Exec>',
        f"    <Command>{escape(command[0])}</Command>",
        f"    <Arguments>{escape(arguments)}</Arguments>",
        f"    <WorkingDirectory>{escape(str(config.parent))}</WorkingDirectory>",
        "  </Exec></Actions>",
        "</Task>",
        "",
    ])


def create_command(xml_path: Path) -> list[str]:
    return ["schtasks.exe", "/Create", "/TN", TASK, "/XML", str(xml_path), "/F"]


def install(command: list[str], config: Path) -> str:
    """Register the task (replacing an older one) and start it now; returns the task's name."""
    with tempfile.TemporaryDirectory() as scratch:
        xml_path = Path(scratch) / "edge-task.xml"
        xml_path.write_text(task_xml(command, config), encoding="utf-16")  # schtasks reads UTF-16 with a BOM
        checked(create_command(xml_path))
    checked(["schtasks.exe", "/Run", "/TN", TASK])
    return TASK


def uninstall() -> str:
    if run(["schtasks.exe", "/Query", "/TN", TASK]).returncode != 0:
        raise ServiceError(f"no edge task {TASK} is registered")
    run(["schtasks.exe", "/End", "/TN", TASK])  # not running is fine
    checked(["schtasks.exe", "/Delete", "/TN", TASK, "/F"])
    return TASK


def status() -> Outcome:
    return run(["schtasks.exe", "/Query", "/TN", TASK, "/V", "/FO", "LIST"])
