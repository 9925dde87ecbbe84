"""The edge as a Windows service: registered with the Service Control Manager (SCM) and hosted by python.exe.

``install`` creates (or reconfigures) the service ``ReceiptBridgeEdge``: automatic delayed start (the network
is up by then), LocalSystem, restarted after a failure, stopped first at shutdown, and its binary is this interpreter running
``-m edge service host --config <file>``. That hidden command hands the process to the SCM the way pywin32
hosts a service from python.exe (its win32/Demos/service/nativePipeTestService.py): servicemanager's
``Initialize``, ``PrepareToHostSingle(cls)``, ``StartServiceCtrlDispatcher``; the class's ``SvcDoRun`` runs the
edge through ``EdgeHost`` and ``SvcStop`` asks it to stop.

Not pywin32's pythonservice.exe: it loads pythonXY.dll and pywintypesXY.dll from the DLL search path and does
not find a virtual environment's site-packages (pywin32 issues 1450, 1463). python.exe finds both: a venv's
Scripts\\python.exe starts the base interpreter with the venv active, and pywin32.pth adds pywin32_system32
to the DLL directories.

win32 modules are imported inside the functions that talk to Windows, so this module imports anywhere and
``plan`` and ``describe`` are tested on Linux. Microsoft references: CreateService, ChangeServiceConfig2
(SERVICE_FAILURE_ACTIONS, SERVICE_FAILURE_ACTIONS_FLAG, SERVICE_DELAYED_AUTO_START_INFO,
SERVICE_PRESHUTDOWN_INFO), SERVICE_STATUS, HandlerEx (SERVICE_CONTROL_PRESHUTDOWN).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from edge.service.runner import Outcome, ServiceError

SERVICE = "ReceiptBridgeEdge"
DISPLAY_NAME = "Receipt Bridge edge"
DESCRIPTION = "Takes the shop's fiscal jobs from Receipt Bridge and prints each receipt exactly once."
LOCAL_SYSTEM = "LocalSystem"
STOP_WAIT_HINT_MS = 30_000  # how long the SCM waits for the next "still stopping" (reported every 5 s)
STOP_TIMEOUT_S = 90.0  # as the systemd unit's TimeoutStopSec: the receipt being printed is finished first

# CreateService/ChangeServiceConfig and SC_ACTION values (winnt.h, winsvc.h): the plan holds the very numbers
SERVICE_WIN32_OWN_PROCESS = 0x10
SERVICE_AUTO_START = 2
SERVICE_ERROR_NORMAL = 1
SC_ACTION_RESTART = 1

# SERVICE_STATUS.dwCurrentState (winsvc.h)
STATES = {1: "stopped", 2: "starting", 3: "stopping", 4: "running", 5: "resuming", 6: "pausing", 7: "paused"}
RUNNING, STOPPED = 4, 1

# Windows system error codes (winerror.h) the commands answer in their own words
ERROR_ACCESS_DENIED = 5
ERROR_SERVICE_DOES_NOT_EXIST = 1060
ERROR_SERVICE_NOT_ACTIVE = 1062
ERROR_FAILED_SERVICE_CONTROLLER_CONNECT = 1063
ERROR_SERVICE_EXISTS = 1073
ERROR_SERVICE_MARKED_FOR_DELETE = 1072

NOT_INSTALLED = f"no edge service installed (service {SERVICE} does not exist)"


@dataclass(frozen=True)
class ServicePlan:
    """Everything ``install`` gives the SCM, decided without Windows: the arguments as the calls take them."""

    name: str
    display_name: str
    description: str  # SERVICE_CONFIG_DESCRIPTION
    service_type: int
    start_type: int
    error_control: int
    command_line: str  # lpBinaryPathName (the ImagePath): quoted interpreter, then the arguments
    account: str  # lpServiceStartName
    delayed_auto_start: bool  # SERVICE_CONFIG_DELAYED_AUTO_START_INFO
    failure_actions: tuple[tuple[int, int], ...]  # SERVICE_FAILURE_ACTIONS: (type, delay ms) per failure, last repeats
    reset_failures_after_s: int  # SERVICE_FAILURE_ACTIONS.dwResetPeriod: the count back to 0 after this long
    actions_on_error_exit: bool  # SERVICE_CONFIG_FAILURE_ACTIONS_FLAG: a stop with an error code is a failure too
    preshutdown_timeout_ms: int  # SERVICE_CONFIG_PRESHUTDOWN_INFO: how long a PC shutting down waits for the edge


def plan(python: str, config: PurePath) -> ServicePlan:
    """The service for ``python -m edge service host --config <config>`` (``config`` absolute)."""
    arguments = subprocess.list2cmdline(["-m", "edge", "service", "host", "--config", str(config)])
    return ServicePlan(
        name=SERVICE,
        display_name=DISPLAY_NAME,
        description=DESCRIPTION,
        service_type=SERVICE_WIN32_OWN_PROCESS,
        start_type=SERVICE_AUTO_START,
        error_control=SERVICE_ERROR_NORMAL,
        command_line=f'"{python}" {arguments}',  # always quoted: a path with spaces must not be split
        account=LOCAL_SYSTEM,
        delayed_auto_start=True,  # the network is up by then
        failure_actions=((SC_ACTION_RESTART, 5_000), (SC_ACTION_RESTART, 5_000), (SC_ACTION_RESTART, 60_000)),
        reset_failures_after_s=24 * 3600,
        actions_on_error_exit=True,
        preshutdown_timeout_ms=int(STOP_TIMEOUT_S * 1000),
    )


def describe(state: int, exit_code: int, command_line: str, account: str) -> Outcome:
    """``edge service status``'s answer from QueryServiceStatus/QueryServiceConfig: exit 0 while running, else
    3 (as ``systemctl status``: program not running)."""
    lines = [f"{SERVICE} ({DISPLAY_NAME}): {STATES.get(state, f'state {state}')}",
             f"command: {command_line}", f"account: {account}"]
    if state == STOPPED and exit_code:
        lines.append(f"last exit code: {exit_code}")
    return Outcome(0 if state == RUNNING else 3, "\n".join(lines))


def _message(exc: Any) -> str:
    """One line for a pywintypes.error (winerror, funcname, strerror)."""
    if exc.winerror == ERROR_ACCESS_DENIED:
        return "access denied: run this from an administrator prompt"
    if exc.winerror == ERROR_SERVICE_DOES_NOT_EXIST:
        return NOT_INSTALLED
    if exc.winerror == ERROR_SERVICE_MARKED_FOR_DELETE:
        return f"service {SERVICE} is being removed: close the Services console and try again"
    return f"{exc.funcname} failed: {exc.strerror} (error {exc.winerror})"


def _wait_for(handle: Any, state: int, timeout: float) -> None:
    import win32service

    deadline = time.monotonic() + timeout
    while win32service.QueryServiceStatus(handle)[1] != state:
        if time.monotonic() > deadline:
            raise ServiceError(f"service {SERVICE} did not become {STATES[state]} within {timeout:.0f} s")
        time.sleep(0.5)


def _stop(handle: Any) -> None:
    """Stop the service if it runs and wait until it has (the edge finishes the receipt it is printing)."""
    import pywintypes
    import win32service

    try:
        win32service.ControlService(handle, win32service.SERVICE_CONTROL_STOP)
    except pywintypes.error as exc:
        if exc.winerror != ERROR_SERVICE_NOT_ACTIVE:
            raise
    _wait_for(handle, STOPPED, STOP_TIMEOUT_S)


def _require_pywin32() -> None:
    """A clear error, not an ImportError, on a Windows Python where the edge was installed without its dependencies."""
    try:
        import win32service  # noqa: F401
    except ImportError as exc:
        raise ServiceError("pywin32 is not installed in this Python; install the edge with its dependencies "
                           "(pip install receipt_bridge_edge-*.whl) or pip install pywin32==311") from exc


def install(python: str, config: Path) -> str:
    """Create the service (or stop and reconfigure an installed one), set its recovery, start it."""
    _require_pywin32()
    import pywintypes
    import win32service

    spec = plan(python, config)
    kind = (spec.service_type, spec.start_type, spec.error_control)
    try:
        scm = win32service.OpenSCManager(None, None, win32service.SC_MANAGER_ALL_ACCESS)
        try:
            try:
                handle, installed = win32service.CreateService(
                    scm, spec.name, spec.display_name, win32service.SERVICE_ALL_ACCESS, *kind, spec.command_line,
                    None, False, None, spec.account, None), False
            except pywintypes.error as exc:
                if exc.winerror != ERROR_SERVICE_EXISTS:
                    raise
                handle, installed = win32service.OpenService(scm, spec.name, win32service.SERVICE_ALL_ACCESS), True
            try:
                if installed:  # replaced: the old edge lets go of the state directory before the new one starts
                    _stop(handle)
                    win32service.ChangeServiceConfig(handle, *kind, spec.command_line, None, False, None, spec.account,
                                                     None, spec.display_name)
                win32service.ChangeServiceConfig2(handle, win32service.SERVICE_CONFIG_DESCRIPTION, spec.description)
                win32service.ChangeServiceConfig2(handle, win32service.SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
                                                  spec.delayed_auto_start)
                win32service.ChangeServiceConfig2(handle, win32service.SERVICE_CONFIG_FAILURE_ACTIONS, {
                    "ResetPeriod": spec.reset_failures_after_s, "RebootMsg": None, "Command": None,
                    "Actions": spec.failure_actions})
                win32service.ChangeServiceConfig2(handle, win32service.SERVICE_CONFIG_FAILURE_ACTIONS_FLAG,
                                                  spec.actions_on_error_exit)
                win32service.ChangeServiceConfig2(handle, win32service.SERVICE_CONFIG_PRESHUTDOWN_INFO,
                                                  spec.preshutdown_timeout_ms)
                win32service.StartService(handle, None)
            finally:
                win32service.CloseServiceHandle(handle)
        finally:
            win32service.CloseServiceHandle(scm)
    except pywintypes.error as exc:
        raise ServiceError(_message(exc)) from exc
    return spec.name


def uninstall() -> str:
    """Stop the service if it runs, delete it and its event log source."""
    _require_pywin32()
    import pywintypes
    import win32evtlogutil
    import win32service

    try:
        scm = win32service.OpenSCManager(None, None, win32service.SC_MANAGER_ALL_ACCESS)
        try:
            handle = win32service.OpenService(scm, SERVICE, win32service.SERVICE_ALL_ACCESS)
            try:
                _stop(handle)
                win32service.DeleteService(handle)
            finally:
                win32service.CloseServiceHandle(handle)
        finally:
            win32service.CloseServiceHandle(scm)
        win32evtlogutil.RemoveSourceFromRegistry(SERVICE)  # registered by servicemanager on the first LogMsg
    except pywintypes.error as exc:
        raise ServiceError(_message(exc)) from exc
    return SERVICE


def status() -> Outcome:
    """The SCM's view of the service; exit 4 when it is not installed (as ``systemctl status``)."""
    _require_pywin32()
    import pywintypes
    import win32service

    try:
        scm = win32service.OpenSCManager(None, None, win32service.SC_MANAGER_CONNECT)
        try:
            handle = win32service.OpenService(
                scm, SERVICE, win32service.SERVICE_QUERY_STATUS | win32service.SERVICE_QUERY_CONFIG)
            try:
                current = win32service.QueryServiceStatus(handle)
                config = win32service.QueryServiceConfig(handle)
            finally:
                win32service.CloseServiceHandle(handle)
        finally:
            win32service.CloseServiceHandle(scm)
    except pywintypes.error as exc:
        if exc.winerror == ERROR_SERVICE_DOES_NOT_EXIST:
            return Outcome(4, NOT_INSTALLED)
        raise ServiceError(_message(exc)) from exc
    # SERVICE_STATUS: (type, state, controls, win32 exit code, service exit code, ...); QUERY_SERVICE_CONFIG:
    # (type, start, error control, binary path, group, tag, dependencies, account, display name)
    return describe(current[1], current[3], config[3], config[7])


def host(config: Path) -> None:
    """``edge service host``: the process the SCM starts. Connects to the SCM and runs the edge until the SCM
    stops it; start, stop and failures go to the Application event log (source ReceiptBridgeEdge)."""
    _require_pywin32()
    import pywintypes
    import servicemanager
    import win32service
    import win32serviceutil

    from edge.service.host import EdgeHost

    class EdgeService(win32serviceutil.ServiceFramework):
        _svc_name_ = SERVICE
        _svc_display_name_ = DISPLAY_NAME
        _svc_description_ = DESCRIPTION

        def __init__(self, args: list[str]) -> None:
            super().__init__(args)
            self._edge = EdgeHost(config)

        def _stopping(self) -> None:
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING, waitHint=STOP_WAIT_HINT_MS)

        def SvcStop(self) -> None:
            self._stopping()
            self._edge.stop()

        def GetAcceptedControls(self) -> int:
            # Preshutdown rather than shutdown: Windows then waits the plan's preshutdown timeout for the edge
            # to finish the receipt it is printing, not the few seconds every service shares at shutdown.
            return int(super().GetAcceptedControls()) | win32service.SERVICE_ACCEPT_PRESHUTDOWN

        def SvcOtherEx(self, control: int, event_type: int, data: object) -> None:
            if control == win32service.SERVICE_CONTROL_PRESHUTDOWN:
                self.SvcStop()

        def SvcDoRun(self) -> None:
            servicemanager.LogMsg(servicemanager.EVENTLOG_INFORMATION_TYPE, servicemanager.PYS_SERVICE_STARTED,
                                  (self._svc_name_, ""))
            try:
                self._edge.run(self._stopping)
            except Exception as exc:
                servicemanager.LogErrorMsg(f"{SERVICE} stopped on an error: {type(exc).__name__}: {exc}")
                raise  # pywin32 then reports SERVICE_STOPPED with an error code: the recovery restarts it
            servicemanager.LogMsg(servicemanager.EVENTLOG_INFORMATION_TYPE, servicemanager.PYS_SERVICE_STOPPED,
                                  (self._svc_name_, ""))

    servicemanager.Initialize()
    servicemanager.PrepareToHostSingle(EdgeService)
    try:
        servicemanager.StartServiceCtrlDispatcher()
    except pywintypes.error as exc:
        if exc.winerror == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT:
            raise ServiceError("edge service host is started by the Windows service manager; "
                               "to run the edge in this console use `edge run --config …`") from exc
        raise ServiceError(_message(exc)) from exc
