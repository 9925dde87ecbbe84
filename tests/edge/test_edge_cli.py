"""The command line: bad configs fail in one line, signals stop promptly, status and journal read the journal."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime

import pytest
from edge_harness import EDGE_KEY, EdgeProcess, Stack, edge_env, make_job, wait_for

BAD_CONFIGS = {
    "not toml": "api_base = \n",
    "missing key": 'api_base = "http://127.0.0.1:1"\nstate_dir = "x"\n[fiscal_device]\nmanufacturer = "Simulated"\nmodel = "Simulated"\n',
    "unknown key": None,
    "wrong type": None,
    "public manage host": None,
    "unsupported device": None,
}


def _bad_config(stack: Stack, case: str) -> str:
    if BAD_CONFIGS[case] is not None:
        return str(BAD_CONFIGS[case])
    if case == "unknown key":
        return stack.config_text(poll_everything=True)
    if case == "wrong type":
        return stack.config_text(wait_time_seconds="soon")
    if case == "public manage host":
        return stack.config_text(manage_host="0.0.0.0")
    return stack.config_text().replace('manufacturer = "Simulated"', 'manufacturer = "Datecs"')


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_bad_config_exits_non_zero_with_one_line(stack: Stack, case: str) -> None:
    path = stack.config_dir / "bad.toml"
    path.write_text(_bad_config(stack, case))

    done = stack.cli("run", "--config", str(path))

    assert done.returncode == 2
    assert done.stderr.startswith("edge: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and EDGE_KEY not in done.stderr
    assert done.stdout == ""


def test_missing_config_file_is_a_clear_error(stack: Stack) -> None:
    done = stack.cli("run", "--config", str(stack.config_dir / "nowhere.toml"))
    assert done.returncode == 2
    assert "cannot read config" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_a_long_poll_promptly(stack: Stack, signum: int) -> None:
    edge = stack.start_edge(wait_time_seconds=20)
    wait_for(lambda: stack.cloud.sessions == 1, what="session")
    started = time.monotonic()
    edge.signal(signum)

    assert edge.wait_exit(timeout=5) == 0
    assert time.monotonic() - started < 3
    assert "edge_stopping" in [e["event"] for e in edge.events()]


def test_second_edge_on_the_same_state_dir_is_refused(stack: Stack) -> None:
    stack.start_edge()
    other = stack.start_edge(ready=False, manage_port=stack.manage_port + 1)
    assert other.wait_exit() == 2
    assert "another edge is running" in other.stderr_text()


def test_status_and_journal_commands_read_the_journal(stack: Stack) -> None:
    edge = stack.start_edge()
    before = datetime.now(UTC).isoformat()
    stack.send(make_job("job-cli"))
    wait_for(lambda: stack.settled("job-cli"), what="job settled")
    assert edge.stop() == 0
    config = str(stack.config_dir / "edge.toml")

    status = stack.cli("status", "--config", config, "--json")
    assert status.returncode == 0, status.stderr
    assert '"running": false' in status.stdout and '"backlog": 0' in status.stdout and '"reported": 1' in status.stdout
    assert '"job_id": "job-cli"' in status.stdout

    table = stack.cli("status", "--config", config)
    assert table.returncode == 0 and "backlog" in table.stdout and "job-cli printed 00000001" in table.stdout

    listing = stack.cli("journal", "--config", config, "--from", before, "--to", str(int(time.time()) + 60))
    [line] = listing.stdout.splitlines()
    assert '"action_type":"PrintReceipt"' in line and '"job_id":"job-cli"' in line
    assert '"fiscal_number":"00000001"' in line and '"amount_cents":1330' in line

    empty = stack.cli("journal", "--config", config, "--to", "2001-01-01")
    assert empty.returncode == 0 and empty.stdout == ""

    bad = stack.cli("journal", "--config", config, "--from", "yesterday")
    assert bad.returncode == 2 and "not an ISO 8601 time" in bad.stderr


def test_status_without_a_journal_says_so(stack: Stack) -> None:
    done = stack.cli("status", "--config", str(stack.write_config()))
    assert done.returncode == 2 and "no journal" in done.stderr


def test_run_shows_progress_while_a_backlog_drains_and_status_asks_the_running_edge(stack: Stack) -> None:
    config = str(stack.write_config())
    edge = EdgeProcess(["run", "--config", config, "--progress"], edge_env())
    stack.edges.append(edge)
    edge.wait_ready()
    stack.cloud.mode = "503"  # printed jobs wait for the cloud: a backlog
    for n in range(3):
        stack.send(make_job(f"job-backlog-{n}"))
    wait_for(lambda: sum(stack.journal_state(f"job-backlog-{n}") == "printed" for n in range(3)) == 3, what="three printed, unreported")

    live = stack.cli("status", "--config", config, "--json")
    assert live.returncode == 0 and '"running": true' in live.stdout and '"backlog": 3' in live.stdout
    assert stack.queue_url in live.stdout and '"manufacturer": "Simulated"' in live.stdout

    stack.cloud.mode = None
    wait_for(lambda: all(stack.settled(f"job-backlog-{n}") for n in range(3)), what="backlog drained")
    wait_for(lambda: any("backlog drained: 3 job(s)" in line for line in edge.stdout), what="the progress display's last line")
    assert any("draining backlog" in line and "3/3" in line for line in edge.stdout)

    devices = stack.cli("devices", "--config", config)
    assert devices.returncode == 0 and "Simulated" in devices.stdout and "fiscal" in devices.stdout
    report = stack.cli("report", "x", "--config", config)
    assert report.returncode == 0 and "X REPORT" in report.stdout and "39.90" in report.stdout
    assert edge.stop() == 0
    offline = stack.cli("report", "x", "--config", config)
    assert offline.returncode == 2 and "the edge is not running" in offline.stderr
