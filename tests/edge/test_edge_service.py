"""``edge service install|uninstall|status`` (issue 23 point 3): on Linux through the CLI, with a recording
systemctl first on PATH and the generated unit checked by systemd-analyze where it exists. The Windows service
is tested here as far as Linux allows: its plan (what the SCM is given), its portability (no POSIX-only module
or call on the path the service process runs), and its run/stop logic driving the simulated edge in a real
process; the win32 calls themselves (edge/service/windows.py's install/uninstall/status/host) need Windows."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath

import pytest
from edge_harness import edge_env, make_job, wait_for

from edge.service import systemd, windows
from edge.service.host import RotatingLog
from edge.statelock import exclusive_state_dir

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ('api_base = "https://bridge.example"\nedge_key = "edk_abcdefghijklmnopqrstuvwxyz"\nstate_dir = "state"\n'
          '[fiscal_device]\nmanufacturer = "Simulated"\nmodel = "Simulated"\n')


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


# -- the Windows service, as far as Linux can test it -------------------------------------------------------------

WIN32_MODULES = {"win32service", "win32serviceutil", "servicemanager", "pywintypes", "win32api", "win32con",
                 "win32event", "win32evtlogutil", "winerror", "win32process"}
POSIX_ONLY_MODULES = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "syslog", "crypt", "spwd",
                      "nis", "curses", "readline"}
POSIX_ONLY_NAMES = {  # absent from these modules on Windows (the library reference's "Availability: Unix")
    "os": {"fork", "forkpty", "getuid", "geteuid", "getgid", "getegid", "setuid", "setgid", "seteuid", "setegid",
           "setsid", "getsid", "getpgid", "setpgid", "killpg", "chown", "lchown", "fchown", "fchmod", "lchmod", "uname",
           "statvfs", "fstatvfs", "mkfifo", "mknod", "openpty", "nice", "getloadavg", "fdatasync", "sync", "pipe2",
           "getgroups", "setgroups", "initgroups", "wait3", "wait4", "WNOHANG", "sched_getaffinity", "O_DIRECTORY",
           "O_NOFOLLOW", "O_CLOEXEC", "O_SYNC", "O_DSYNC", "posix_spawn", "posix_fadvise", "ttyname", "ctermid",
           "pread", "pwrite", "sendfile", "get_blocking", "set_blocking"},
    "signal": {"SIGHUP", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD", "SIGPIPE", "SIGQUIT", "SIGCONT",
               "SIGSTOP", "SIGTSTP", "alarm", "setitimer", "getitimer", "pause", "pthread_kill", "pthread_sigmask",
               "siginterrupt", "sigwait", "sigpending"},
}
WINDOWS_PYTHON = r"C:\Program Files\Receipt Bridge\venv\Scripts\python.exe"
WINDOWS_CONFIG = r"C:\ProgramData\Receipt Bridge\edge.toml"


def _on_windows(test: ast.expr) -> bool | None:
    """True for ``sys.platform == "win32"`` / ``os.name == "nt"``, False for their negations and for
    ``os.name == "posix"``; None for any other condition."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.comparators[0], ast.Constant)
            and isinstance(test.left, ast.Attribute) and isinstance(test.left.value, ast.Name)):
        return None
    subject, value = f"{test.left.value.id}.{test.left.attr}", test.comparators[0].value
    if (subject, value) in (("sys.platform", "win32"), ("os.name", "nt")):
        same = True
    elif (subject, value) == ("os.name", "posix"):
        same = False
    else:
        return None
    if isinstance(test.ops[0], ast.Eq):
        return same
    return (not same) if isinstance(test.ops[0], ast.NotEq) else None


def _block(statements: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of ``statements`` that can run on Windows: a branch taken only elsewhere is skipped, and so is
    whatever follows ``if <on Windows>: ... return``."""
    for statement in statements:
        on = _on_windows(statement.test) if isinstance(statement, ast.If) else None
        if on is None:
            yield from _visit(statement)
            continue
        yield from _block(statement.body if on else statement.orelse)
        if on and statement.body and isinstance(statement.body[-1], (ast.Return, ast.Raise)):
            return


def _visit(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    for value in ast.iter_fields(node):
        items = value[1] if isinstance(value[1], list) else [value[1]]
        if isinstance(value[1], list) and all(isinstance(item, ast.stmt) for item in items):
            yield from _block(items)
        else:
            for item in items:
                if isinstance(item, ast.AST):
                    yield from _visit(item)


def _posix_only(nodes: Iterator[ast.AST]) -> Iterator[str]:
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (f"import {a.name}" for a in node.names if a.name.split(".")[0] in POSIX_ONLY_MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in POSIX_ONLY_MODULES:
                yield f"from {node.module} import"
            yield from (f"from {node.module} import {a.name}" for a in node.names
                        if a.name in POSIX_ONLY_NAMES.get(node.module, ()))
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.attr in POSIX_ONLY_NAMES.get(node.value.id, ())):
            yield f"{node.value.id}.{node.attr}"


def _module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.exists():
            return candidate
    return None


def _windows_closure(*roots: str) -> dict[str, list[ast.AST]]:
    """The project modules the service process can import on Windows (imports followed wherever they are,
    top level or inside a function), each with its Windows-reachable nodes."""
    found: dict[str, list[ast.AST]] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        path = _module_file(name)
        if name in found or path is None:
            continue
        found[name] = nodes = list(_block(ast.parse(path.read_text(encoding="utf-8")).body))
        for node in nodes:
            if isinstance(node, ast.Import):
                pending += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                pending += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return found


def test_the_portability_check_sees_guards_and_what_they_guard():
    """The check below, on known code: an unguarded POSIX call is found, a guarded one is not."""
    source = ("import os, sys\nif sys.platform != 'win32':\n    import fcntl\nimport pwd\n"
              "def where():\n    if os.name == 'nt':\n        return 'C:/'\n    return os.geteuid()\n"
              "def who():\n    return os.getuid()\n")
    assert list(_posix_only(_block(ast.parse(source).body))) == ["import pwd", "os.getuid"]


def test_the_service_process_names_no_posix_only_module_or_call():
    """What ``python -m edge service host`` can import on Windows (the CLI, edge/service/windows.py and the edge
    it runs), read as Windows would run it: no POSIX-only module or call outside a non-Windows branch."""
    closure = _windows_closure("edge.__main__", "edge.service.windows")
    assert {"edge.cli", "edge.service.windows", "edge.service.host", "edge.runner", "edge.statelock"} <= closure.keys()
    problems = [f"{name}: {problem}" for name, nodes in sorted(closure.items()) for problem in _posix_only(iter(nodes))]
    assert problems == []


def test_win32_modules_are_imported_only_inside_the_windows_modules_functions():
    """So ``import edge.service.windows`` works anywhere, and nothing else in the edge needs pywin32."""
    for path in sorted((ROOT / "edge").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inside_functions = {id(node) for function in ast.walk(tree) if isinstance(function, ast.FunctionDef)
                            for node in ast.walk(function)}
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name.split(".")[0] in WIN32_MODULES for name in names):
                assert path == ROOT / "edge" / "service" / "windows.py" and id(node) in inside_functions, path
    probe = "import sys, edge.service.windows, edge.service.host, edge.cli; print(sorted(set(sys.modules) & set(sys.argv[1:])))"
    imported = subprocess.run([sys.executable, "-c", probe, *WIN32_MODULES], cwd=ROOT, capture_output=True, text=True,
                              timeout=60, check=False)
    assert imported.returncode == 0 and imported.stdout.strip() == "[]", imported.stderr


def test_the_windows_glue_calls_pywin32_as_pywin32_declares(tmp_path):
    """The win32 calls cannot run here, but what they are called with can be checked: mypy as for Windows, with
    typeshed's stubs of pywin32 311 (names, argument counts and types of win32service, servicemanager,
    win32serviceutil.ServiceFramework, pywintypes.error)."""
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--platform", "win32", "--python-version", "3.11", "--follow-imports=silent",
         "--check-untyped-defs", "--warn-unused-ignores", "--cache-dir", str(tmp_path), "edge/service/windows.py",
         "edge/service/host.py"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("Success: no issues found in 2 source files")


def test_the_install_plan_is_an_automatic_local_system_service_that_restarts():
    """What ``edge service install`` gives the SCM on Windows, from the Windows path's own code."""
    assert windows.plan(WINDOWS_PYTHON, PureWindowsPath(WINDOWS_CONFIG)) == windows.ServicePlan(
        name="ReceiptBridgeEdge",
        display_name="Receipt Bridge edge",
        description="Takes the shop's fiscal jobs from Receipt Bridge and prints each receipt exactly once.",
        service_type=0x10,  # SERVICE_WIN32_OWN_PROCESS: the process answers the SCM itself
        start_type=2,  # SERVICE_AUTO_START, delayed below
        error_control=1,  # SERVICE_ERROR_NORMAL
        command_line=rf'"{WINDOWS_PYTHON}" -m edge service host --config "{WINDOWS_CONFIG}"',
        account="LocalSystem",
        delayed_auto_start=True,
        failure_actions=((1, 5_000), (1, 5_000), (1, 60_000)),  # SC_ACTION_RESTART after 5 s, 5 s, then 60 s
        reset_failures_after_s=86_400,
        actions_on_error_exit=True,  # pywin32 stops with an error code when SvcDoRun raises: restarted too
        preshutdown_timeout_ms=90_000,  # as the systemd unit's TimeoutStopSec
    )
    plain = windows.plan(r"C:\Python311\python.exe", PureWindowsPath(r"C:\ReceiptBridge\edge.toml"))
    assert plain.command_line == r'"C:\Python311\python.exe" -m edge service host --config C:\ReceiptBridge\edge.toml'


def test_the_planned_command_is_the_edges_own_and_refuses_to_run_outside_the_scm(tools):
    """The arguments the service is registered with parse as the CLI's hidden ``service host`` command, which
    on Linux (no SCM) says what to use instead."""
    done = edge(tools, "service", "host", "--config", str(tools["config"]))
    assert done.returncode == 2
    assert "runs only under the Windows service manager" in done.stderr and "edge run --config" in done.stderr


def test_status_reads_the_scm_state_and_exits_as_systemctl_does():
    running = windows.describe(4, 0, windows.plan(WINDOWS_PYTHON, PureWindowsPath(WINDOWS_CONFIG)).command_line,
                               "LocalSystem")
    assert running.returncode == 0
    assert running.output.splitlines() == [
        "ReceiptBridgeEdge (Receipt Bridge edge): running",
        rf'command: "{WINDOWS_PYTHON}" -m edge service host --config "{WINDOWS_CONFIG}"',
        "account: LocalSystem"]
    crashed = windows.describe(1, 1066, "python.exe", "LocalSystem")  # ERROR_SERVICE_SPECIFIC_ERROR
    lines = crashed.output.splitlines()
    assert crashed.returncode == 3
    assert (lines[0], lines[-1]) == ("ReceiptBridgeEdge (Receipt Bridge edge): stopped", "last exit code: 1066")
    assert windows.describe(3, 0, "python.exe", "LocalSystem").returncode == 3  # stop pending is not running


HOST_DRIVER = """
import sys, threading
from pathlib import Path
from edge.service.host import EdgeHost
from edge.statelock import exclusive_state_dir

host = EdgeHost(Path(sys.argv[1]), log=lambda settings: sys.stdout)
threading.Thread(target=lambda: (sys.stdin.readline(), host.stop()), daemon=True).start()  # the SCM's STOP
beats = []
try:
    host.run(lambda: beats.append(1), beat=0.05)
except Exception as exc:
    print(f"FAILED {type(exc).__name__}: {exc}", flush=True)
    sys.exit(1)
with exclusive_state_dir(Path(sys.argv[2])):  # taken again at once: the edge let go of it
    print(f"STOPPED beats={len(beats)}", flush=True)
"""


def _host(stack, config: Path) -> tuple[subprocess.Popen[str], list[str]]:
    """The driver above on ``config``, its stdout lines collected as they come."""
    driver = subprocess.Popen([sys.executable, "-c", HOST_DRIVER, str(config), str(stack.state_dir)], cwd=ROOT,
                              env={**edge_env(), "PYTHONPATH": str(ROOT)}, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in driver.stdout), daemon=True).start()
    return driver, lines


def test_the_hosted_edge_prints_and_stops_cleanly_when_asked(stack):
    """EdgeHost as the service class drives it, in a real process on the simulated edge: started, a job printed
    and reported, then stopped by request (no signal) with "still stopping" beats, journal and state directory
    released. Started from another directory: a relative state_dir is the config's, as under the SCM."""
    driver, lines = _host(stack, stack.write_config(state_dir="state"))
    try:
        wait_for(lambda: any(line.startswith("EDGE READY") for line in lines) or driver.poll() is not None,
                 20, what="EDGE READY")
        assert driver.poll() is None, driver.stderr.read()
        stack.send(make_job("job-svc"))
        wait_for(lambda: stack.settled("job-svc"), what="job-svc settled")
        driver.stdin.write("stop\n")
        driver.stdin.flush()
        assert driver.wait(30) == 0, driver.stderr.read()
    finally:
        if driver.poll() is None:
            driver.kill()
    wait_for(lambda: any(line.startswith("STOPPED") for line in lines), 5, what="the driver's last line")
    assert stack.receipts_for("job-svc") == 1 and stack.journal_state("job-svc") == "reported"
    events = [json.loads(line)["event"] for line in lines if line.startswith("{")]
    assert events[-2:] == ["edge_stopping", "device_closed"]  # the runner's own way out, to the last resource
    [stopped] = [line for line in lines if line.startswith("STOPPED")]
    assert int(stopped.split("=")[1]) >= 1


def test_the_hosted_edge_reports_why_it_could_not_start(stack):
    """A failure is raised to the caller (the service class logs it to the event log and stops with an error,
    so the SCM's recovery restarts it): here another edge holds the state directory."""
    config = stack.write_config()
    with exclusive_state_dir(stack.state_dir):
        driver, lines = _host(stack, config)
        try:
            assert driver.wait(30) == 1, driver.stderr.read()
        finally:
            if driver.poll() is None:
                driver.kill()
    wait_for(lambda: any(line.startswith("FAILED") for line in lines), 5, what="the driver's report")
    assert [line for line in lines if line.startswith("FAILED")] == [
        f"FAILED StateDirBusy: another edge is running on {stack.state_dir}"]


def test_the_service_log_rotates_and_keeps_a_few_old_copies(tmp_path):
    log = RotatingLog(tmp_path / "edge-service.log", max_bytes=1_000, backups=2)
    line = '{"event": "job_printed"}\n'
    for _ in range(200):
        log.write(line)
    log.flush()
    log.close()
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == ["edge-service.log", "edge-service.log.1", "edge-service.log.2"]
    assert all(0 < (tmp_path / name).stat().st_size <= 1_000 for name in files)
    assert set((tmp_path / "edge-service.log.1").read_text().splitlines()) == {line.strip()}


def test_a_windows_python_without_pywin32_gets_a_clear_error_not_an_import_error():
    """The edge installed without its dependencies (``pip install --no-deps``): here, where pywin32 never is."""
    from edge.service.runner import ServiceError

    for command in (windows.status, windows.uninstall):
        with pytest.raises(ServiceError, match="pywin32 is not installed"):
            command()
