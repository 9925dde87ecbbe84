"""``edge run``: wire journal, device, cloud, queue and management API together, then poll until stopped."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import TextIO

import structlog

from edge.backoff import RetryGate
from edge.cloud import CloudClient, EdgeSession
from edge.config import EdgeConfig
from edge.drivers import create_driver
from edge.jobqueue import JobQueue
from edge.journal import Journal
from edge.manage import ManageServer, create_manage_app
from edge.poller import Poller
from edge.session import CloudLink
from edge.statelock import exclusive_state_dir
from edge.terminals import create_terminal
from edge.terminals.charging import CardCharger

log = structlog.get_logger("edge.runner")


def run_edge(config: EdgeConfig, stop: threading.Event, out: TextIO) -> None:
    """Run until ``stop`` is set. Setup failures raise (StateDirBusy, UnsupportedDevice, ManageError).

    Order matters: the state directory is locked before the journal opens, and
    the management API listens only once journal and device are open.
    """
    with ExitStack() as resources:
        resources.enter_context(exclusive_state_dir(config.state_dir))
        journal = Journal(config.journal_path)
        resources.callback(journal.close)
        driver = create_driver(config.fiscal_device, config.state_dir)
        resources.callback(driver.close)
        charger = None
        if config.pos_terminal is not None:
            terminal = create_terminal(config.pos_terminal, config.state_dir)
            resources.callback(terminal.close)
            charger = CardCharger(journal, terminal)
        client = CloudClient(config.api_root, config.edge_key, config.http_timeout_seconds)
        resources.callback(client.close)
        link = CloudLink(client, RetryGate(config.retry_initial_seconds, config.retry_max_seconds), config.session_refresh_ratio)
        manage = ManageServer(create_manage_app(journal, driver, link), config.manage_host, config.manage_port)
        resources.callback(manage.stop)
        manage.start()
        log.info("manage_api_listening", host=config.manage_host, port=config.manage_port)

        endpoint = str(config.aws_endpoint_url) if config.aws_endpoint_url else None

        def queue_for(session: EdgeSession) -> JobQueue:
            return JobQueue(session, endpoint, config.wait_time_seconds)

        def announce(session: EdgeSession) -> None:
            log.info("edge_ready", shop_id=session.shop_id, device=driver.name)
            out.write(f"EDGE READY shop={session.shop_id}\n")
            out.flush()

        Poller(config, journal, driver, link, queue_for, stop, announce, charger=charger).run()
        log.info("edge_stopping")
