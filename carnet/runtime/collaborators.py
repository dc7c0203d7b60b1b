"""What the command road (dispatch, bridge requests, their listeners) works with.

The daemon builds one ``Collaborators`` and hands it down, so those components see the few
things they use and never the daemon itself: that keeps the imports one-way (the daemon
imports dispatch, nothing below imports the daemon).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from carnet.config import Config
from carnet.mqtt.link import MqttLink
from carnet.mqtt.results import ResultSink
from carnet.mqtt.topics import Topics
from carnet.runtime.assumed import AssumedStore
from carnet.runtime.poller import Poller
from carnet.runtime.registry import FleetRegistry
from carnet.runtime.scheduler import Scheduler
from carnet.runtime.vehicle import VehicleRuntime


@dataclass(frozen=True)
class Collaborators:
    config: Config
    topics: Topics
    link: MqttLink  # publishes, and answers on a request's response topic
    results: ResultSink  # the one result of every command
    scheduler: Scheduler  # delayed work: verification reads, polls after a wake-up
    poller: Poller  # reads a vehicle now; gates vendor calls behind the login
    assumed: AssumedStore  # values the car never reports back, kept across restarts
    fleet: FleetRegistry  # the vehicles by name
    publish_vehicle: Callable[[VehicleRuntime], None]
    republish: Callable[[], None]  # discovery and state again (Home Assistant came back)
