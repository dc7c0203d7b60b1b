"""The running bridge: wires MQTT, the poller, the executors and discovery together.

Threads: paho's network thread (only queues what arrives), the link's sender thread
(hands queued messages to paho), one dispatcher thread (turns messages into commands and
requests), the scheduler thread, a bounded pool of reader threads shared by all accounts
(``carnet.runtime.reads``), and a bounded pool of command threads shared the same way
(``carnet.runtime.command_pool``). Nothing that waits on HTTP runs on the network thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from carnet.catalog.model import ApiState
from carnet.catalog.state import VehicleState
from carnet.config import Config, mask_email
from carnet.core import redact
from carnet.core.errors import AuthError, CarNetError
from carnet.mqtt.events import EventSink, transitions
from carnet.mqtt.ha_device import ORIGIN_NAME
from carnet.mqtt.link import Inbound, MqttLink
from carnet.mqtt.publisher import StatePublisher
from carnet.mqtt.results import ResultSink
from carnet.mqtt.topics import Topics
from carnet.runtime import sdnotify
from carnet.runtime.assumed import AssumedStore
from carnet.runtime.bridge_info import BridgeInfo
from carnet.runtime.collaborators import Collaborators
from carnet.runtime.command_pool import COMMAND_THREADS, CommandPool
from carnet.runtime.discovery_sync import DiscoverySync
from carnet.runtime.dispatch import Dispatcher
from carnet.runtime.executor import Executor
from carnet.runtime.heartbeat import Heartbeat
from carnet.runtime.inbox import Inbox
from carnet.runtime.ledger import RequestLedger
from carnet.runtime.poller import Poller
from carnet.runtime.reads import READ_THREADS, ReadPool
from carnet.runtime.registry import FleetRegistry
from carnet.runtime.roster import Roster
from carnet.runtime.scheduler import Scheduler
from carnet.runtime.vehicle import AccountRuntime, VehicleRuntime
from carnet.vendor.generations import open_client
from carnet.vendor.tokens import TokenStore

_LOG = logging.getLogger(__name__)

HEARTBEAT_EVERY = 30.0
ENROLLMENT_EVERY = 86400.0
# How often bridge/info shows the accounts' request counts anew: not at every poll, which
# would change the document (and send it) every time.
BUDGET_INFO_EVERY = 300.0
# Requests of the account's minute the bridge's own background reads leave to the owner:
# a new user's first few commands (lock, climate, charging, ...) then go at once.
OWNER_RESERVE = 5


class Bridge:
    def __init__(
        self,
        config: Config,
        *,
        node_prefix: str = ORIGIN_NAME,
        clear_retained_at_stop: bool = False,
        one_shot: bool = False,
    ) -> None:
        """``node_prefix`` and ``clear_retained_at_stop`` are for a guest on the broker
        (the demo): discovery ids of its own, and nothing left behind when it stops.
        ``one_shot``: a ``--once`` run, perhaps beside a running daemon, so it says
        nothing ``offline`` (no last will, nothing at stop) that is the daemon's to say."""
        self.config = config
        self._one_shot = one_shot
        redact.register_config_secrets(config)  # also when built without load_config
        self.topics = Topics(config.mqtt.base_topic, config.mqtt.discovery.prefix)
        self.scheduler = Scheduler()
        self.reads = ReadPool(min(READ_THREADS, max(len(config.accounts), 1)))
        self.command_pool = CommandPool(
            min(COMMAND_THREADS, max(len(config.accounts), 1)), self.scheduler.clock
        )
        self.link = MqttLink(
            config.mqtt,
            self.topics.bridge_state,
            self._receive,
            self._connected,
            track_retained=clear_retained_at_stop,
            says_offline=not one_shot,
        )
        self.publisher = StatePublisher(self.link.publish, self.topics, config.mqtt.output)
        self.events = EventSink(self.topics, self.link.publish)
        self.assumed = AssumedStore(config.state_dir)
        self.results = ResultSink(
            self.topics,
            self.link.publish,
            self.link.respond,
            config.mqtt.response_topics,
            self.events,
        )
        self.discovery = DiscoverySync(config, self.topics, self.link.publish, node_prefix)
        self.fleet = FleetRegistry()
        self.info = BridgeInfo(config, self.topics, self.publisher, self.fleet, node_prefix)
        self.publish_info = self.info.publish_info
        self.poller = Poller(
            config, self.scheduler, self._polled, self._unavailable, self._login_refused,
            self.fleet,
        )
        self.dispatcher = Dispatcher(
            Collaborators(
                config=config,
                topics=self.topics,
                link=self.link,
                results=self.results,
                scheduler=self.scheduler,
                poller=self.poller,
                assumed=self.assumed,
                fleet=self.fleet,
                publish_vehicle=self.publish_vehicle,
                republish=self.republish,
            )
        )
        self.roster = Roster(
            config,
            topics=self.topics,
            link=self.link,
            scheduler=self.scheduler,
            poller=self.poller,
            discovery=self.discovery,
            assumed=self.assumed,
            fleet=self.fleet,
            login_refused=self._login_refused,
            publish_info=self.publish_info,
        )
        self._stop_requested = threading.Event()
        self._stopped = False
        self._inbox = Inbox(self.dispatcher)
        self._dispatch_thread = threading.Thread(
            target=self._inbox.dispatch, name="dispatcher", daemon=True
        )
        self._heartbeat = Heartbeat(Path(config.state_dir) / "heartbeat")

    @property
    def accounts(self) -> tuple[AccountRuntime, ...]:
        return self.fleet.accounts()

    @property
    def vehicles(self) -> Mapping[str, VehicleRuntime]:
        return self.fleet.vehicles()

    # lifecycle --------------------------------------------------------------

    def start(self) -> None:
        Path(self.config.state_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        for topic_filter in self.dispatcher.subscriptions():
            self.link.subscribe(topic_filter)
        self._dispatch_thread.start()
        self.link.start()
        self.scheduler.start()
        store = TokenStore(self.config.state_dir)
        for account_config in self.config.accounts:
            ledger = RequestLedger(self.config.state_dir, account_config.email)
            client = open_client(
                self.config.carnet,
                account_config,
                store,
                min_interval=self.config.commands.min_interval,
                max_per_minute=self.config.commands.max_per_minute,
                recorder=ledger,
            )
            name = mask_email(account_config.email)
            account = AccountRuntime(
                account_config, client, self.reads.account(name), ledger=ledger
            )
            account.commands = Executor(
                name,
                self.config.commands.max_age,
                self.config.commands.queue_size,
                self.command_pool,
                budget=client.request_wait,
                on_waiting=self._commands_waiting,
                spare=client.spare_requests,
                # A --once run takes no commands: its reads need not leave room for them.
                owner_reserve=0 if self._one_shot else min(
                    OWNER_RESERVE, self.config.commands.max_per_minute - 1
                ),
            )
            self.fleet.add_account(account)
            self.enroll(account)
        self.scheduler.every(ENROLLMENT_EVERY, lambda: [self.enroll(a) for a in self.accounts])
        self.scheduler.every(BUDGET_INFO_EVERY, self.info.count_budget)
        self.info.publish_bridge_device()
        self.info.count_budget()

    def run(self) -> None:
        """Block until ``stop`` is called, keeping the heartbeat and the watchdog fed."""
        sdnotify.ready()
        self.beat()
        while not self._stop_requested.wait(HEARTBEAT_EVERY):
            self.beat()

    def request_stop(self) -> None:
        """Safe from a signal handler: ``run`` returns, then the caller calls ``stop``."""
        self._stop_requested.set()

    def resume(self) -> None:
        """After ``run`` returned for a reload that did not happen: ``run`` may block again."""
        if not self._stopped:
            self._stop_requested.clear()

    def beat(self) -> None:
        """Tell Docker and systemd the daemon is alive: its working threads still run.

        The threads are the scheduler, the dispatcher and paho's network thread (which
        also reconnects: without it no message arrives and the link never comes back).

        A broker or vendor outage is not a reason to restart: the daemon rides those out
        by itself. A dead thread is, so then the heartbeat stops and the watchdog fires.
        """
        if self.scheduler.alive() and self._dispatch_thread.is_alive() and self.link.alive():
            self._heartbeat.touch()
            sdnotify.watchdog()
        else:
            _LOG.error("an internal thread stopped; the heartbeat stops so a supervisor restarts")

    def stop(self, reloading: bool = False) -> None:
        """Finish or report commands, publish ``offline``, disconnect.

        ``reloading``: a new bridge starts in this process next, so systemd hears
        RELOADING rather than STOPPING (READY follows from the new bridge's ``run``).
        """
        if self._stopped:
            return
        self._stopped = True
        self._stop_requested.set()
        if reloading:
            sdnotify.reloading()
        else:
            sdnotify.stopping()
        # A command the vendor is handling ends within one request timeout, and so does a
        # read: wait that long for all of them together, then report what is still open.
        deadline = time.monotonic() + self.config.carnet.timeout
        self.scheduler.stop()
        for account in self.accounts:
            if account.commands:
                account.commands.close()
        for account in self.accounts:
            if account.commands:
                account.commands.stop(timeout=max(deadline - time.monotonic(), 0.0))
        self.command_pool.stop(timeout=max(deadline - time.monotonic(), 0.0))
        for account in self.accounts:
            account.reads.stop(timeout=max(deadline - time.monotonic(), 0.0))
            account.client.close()
        self.reads.stop(timeout=max(deadline - time.monotonic(), 0.0))
        # Verification re-polls died with the scheduler and readers: report those commands.
        self.dispatcher.abandon_verifications()
        self._inbox.close()
        self._dispatch_thread.join(5)
        if not self._one_shot:
            for vehicle in self.vehicles.values():
                self.link.publish(self.topics.availability(vehicle.name), "offline", True)
        self.link.stop()
        _LOG.info("stopped")

    def wait_first_cycle(self, timeout: float) -> bool:
        """For ``--once``: wait until every account was read once and all was sent.

        True when every vehicle was polled and published; False on any failure or timeout.
        """

        def settled() -> bool:
            accounts_done = all(a.enrolled or self.fleet.login(a).error for a in self.accounts)
            vehicles_done = all(v.state is not None or v.failures for v in self.vehicles.values())
            return accounts_done and vehicles_done and self.idle() and self.link.connected.is_set()

        if not wait_until(settled, timeout):
            return False
        self.link.flush(timeout=10)
        return all(self.fleet.login(a).error is None for a in self.accounts) and all(
            v.online for v in self.vehicles.values()
        )

    def idle(self) -> bool:
        """Nothing queued or running anywhere (for --once and tests)."""
        return all(
            a.reads.idle() and (a.commands is None or a.commands.pending == 0)
            for a in self.accounts
        )

    # accounts and vehicles --------------------------------------------------

    def enroll(self, account: AccountRuntime) -> None:
        self.roster.enroll(account)

    # poll outcomes (account reader threads) ---------------------------------

    def _polled(self, vehicle: VehicleRuntime, before: VehicleState | None) -> None:
        # bridge/info shows each vehicle's availability and whether commands work (a
        # refused PIN is found during a poll); only a changed document is sent.
        self.info.publish_if_changed(vehicle)
        self.discovery.publish_vehicle(vehicle)
        self.publish_vehicle(vehicle)
        # After the state, so a consumer that reads the state on an event sees the new one.
        if vehicle.state is not None:
            self.events.send(
                vehicle.name,
                transitions(before.values if before else None, vehicle.state.values),
            )

    def publish_vehicle(self, vehicle: VehicleRuntime) -> None:
        # Snapshot and publish under the vehicle's lock: whoever changes the vehicle after
        # this snapshot publishes after it, so the broker ends with the newest values.
        with vehicle.lock:
            self.publisher.publish(vehicle.name, vehicle.published_state())
            # A one-shot run says only what it read: its vehicles are offline until then,
            # and a daemon beside it keeps saying whether they are.
            if vehicle.online or not self._one_shot:
                self.publisher.availability(vehicle.name, vehicle.online)

    def _commands_waiting(self, name: str, count: int, seconds: float) -> None:
        """The executor's word on a vehicle's commands waiting for the account's budget."""
        vehicle = self.vehicles.get(name)
        if vehicle is None:
            return
        next_at = None
        if count:
            next_at = datetime.fromtimestamp(time.time() + seconds, UTC).isoformat(
                timespec="seconds")
        with vehicle.lock:
            vehicle.assumed["commands_waiting"] = count
            vehicle.notes["commands_waiting"] = {"seconds": round(seconds), "next_at": next_at}
        self.publish_vehicle(vehicle)

    def _unavailable(self, vehicle: VehicleRuntime, exc: CarNetError) -> None:
        self.publish_vehicle(vehicle)  # offline, with the reason in api_state
        # During an outage every vehicle fails at every retry: bridge/info changes once.
        self.info.publish_if_changed(vehicle)

    def _login_refused(self, account: AccountRuntime, exc: AuthError) -> None:
        wait = self.poller.logins.refused(account, exc)
        if wait is None:  # the same refusal, met by another thread: already handled
            return
        for vehicle in self.fleet.vehicles_of(account):
            vehicle.online = False
            vehicle.set_api_state(ApiState.LOGIN_REFUSED, self.fleet.login(account).error)
            self.publish_vehicle(vehicle)
        self.publish_info()
        self.scheduler.later(wait, lambda: self._retry_login(account))

    def _retry_login(self, account: AccountRuntime) -> None:
        if not account.enrolled:
            self.enroll(account)
        for vehicle in self.fleet.vehicles_of(account):
            self.poller.poll(vehicle)

    # MQTT -------------------------------------------------------------------

    def _connected(self) -> None:
        """On paho's thread after every (re)connect: schedule a full republish, no work here."""
        self.scheduler.later(0, self.republish)

    def republish(self) -> None:
        """Everything again: a restarted broker may have lost its retained messages."""
        self.publisher.forget()
        self.discovery.forget()
        self.info.publish_bridge_device()
        self.publish_info()
        self.info.publish_budget_values()
        for vehicle in list(self.vehicles.values()):
            if vehicle.state is not None:
                self.discovery.publish_vehicle(vehicle)
            self.publish_vehicle(vehicle)

    def _receive(self, message: Inbound) -> None:
        """On paho's thread, which starts with the link, after the inbox exists."""
        self._inbox.receive(message)


def wait_until(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
