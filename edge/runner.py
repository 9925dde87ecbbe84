"""``edge run``: wire journal, device, cloud, queue and management API together, then poll until stopped."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import TextIO

import structlog

from edge.backoff import RetryGate
from edge.cloud import CloudClient, EdgeSession
from edge.config import EdgeConfig
from edge.fiscal_day.loop import FiscalDayLoop
from edge.fiscal_day.service import FiscalDay
from edge.heartbeat import HeartbeatSender, device_readings
from edge.hub import DeviceHub
from edge.jobqueue import JobQueue
from edge.journal import Journal
from edge.local_token import ensure_token
from edge.manage import ManageContext, ManageServer, create_manage_app
from edge.operations import Operations
from edge.poller import Poller
from edge.progress import BacklogProgress
from edge.session import CloudLink
from edge.simulator_service import SimulatorService
from edge.statelock import exclusive_state_dir
from edge.store import SettingsStore
from edge.terminals.charging import CardCharger
from edge.tillsales.service import TillSales
from edge.tillsales.uploader import SalesUploader
from edge.updates import Updater

log = structlog.get_logger("edge.runner")


def run_edge(config: EdgeConfig, stop: threading.Event, out: TextIO, *, progress: bool = False) -> None:
    """Run until ``stop`` is set. Setup failures raise (StateDirBusy, SettingsError, UnsupportedDevice, ManageError).

    Order matters: the state directory is locked before the journal opens, and
    the management API listens only once journal and device are open.
    """
    with ExitStack() as resources:
        resources.enter_context(exclusive_state_dir(config.state_dir))
        local_token = ensure_token(config.state_dir)
        journal = Journal(config.journal_path)
        resources.callback(journal.close)
        store = SettingsStore.open(config.state_dir, config)
        hub = DeviceHub(store, config.state_dir)
        resources.callback(hub.close)
        hub.open_printer()
        charger = CardCharger(journal, hub.current_terminal)
        client = CloudClient(config.api_root, config.edge_key, config.http_timeout_seconds)
        resources.callback(client.close)
        link = CloudLink(client, RetryGate(config.retry_initial_seconds, config.retry_max_seconds), config.session_refresh_ratio)
        sale_printed = threading.Event()  # wakes the uploader as soon as a sale is on paper
        sales = TillSales(journal, hub, lambda: link.current.shop_id if link.current else None, sale_printed.set)
        uploader = SalesUploader(journal, sales, link, stop, sale_printed, config.retry_initial_seconds,
                                 config.retry_max_seconds)
        simulator = SimulatorService(store, config.state_dir)
        resources.callback(simulator.close)
        operations = Operations(journal, hub, config.smtp)
        fiscal_day = FiscalDay(journal, hub, operations, config.state_dir, config.time_zone, config.z_report, config.device_warnings)
        updater = Updater(config.updates, config.state_dir)
        context = ManageContext(
            journal=journal,
            hub=hub,
            link=link,
            operations=operations,
            sales=sales,
            fiscal_day=fiscal_day,
            updater=updater,
            simulator=simulator,
            serial_port_globs=config.serial_port_globs,
            serial_port_urls=config.serial_port_urls,
            manage_host=config.manage_host,
            manage_port=config.manage_port,
            local_token=local_token,
            time_zone=config.time_zone,
        )
        manage = ManageServer(create_manage_app(context), config.manage_host, config.manage_port)
        resources.callback(manage.stop)
        manage.start()
        log.info("manage_api_listening", host=config.manage_host, port=config.manage_port)
        resources.callback(uploader.stop)
        uploader.start()
        day_loop = FiscalDayLoop(fiscal_day, stop, config.z_report.check_seconds)
        resources.callback(day_loop.join)
        day_loop.start()
        beats = HeartbeatSender(link, client, lambda: device_readings(hub, fiscal_day), journal, journal.pending_sales,
                                updater.current_version, stop)

        endpoint = str(config.aws_endpoint_url) if config.aws_endpoint_url else None

        def queue_for(session: EdgeSession) -> JobQueue:
            return JobQueue(session, endpoint, config.wait_time_seconds)

        def announce(session: EdgeSession) -> None:
            printer = store.get().fiscal(None)
            log.info("edge_ready", shop_id=session.shop_id, device=printer.settings.name if printer else None)
            out.write(f"EDGE READY shop={session.shop_id}\n")
            out.flush()
            resources.callback(beats.join)
            beats.start()  # once the poller holds a session: the two never open one each at start
            if progress:
                watcher = BacklogProgress(journal, out, stop)
                resources.callback(watcher.join)
                watcher.start()

        Poller(config, journal, hub, link, queue_for, stop, announce, charger=charger).run()
        log.info("edge_stopping")
