"""What differs between the two API generations, as the bridge tests see it.

The tests of behaviour both generations share run once per generation (the ``generation``
fixture of tests/conftest.py). Where the vendor's side differs - the request a lock
becomes, the status read, the simulator options that keep a test quick - the test asks
this table instead of naming one generation's paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol


class RequestLog(Protocol):
    def requests(self, path_contains: str = "", method: str | None = None) -> list[dict[str, Any]]:
        ...


@dataclass(frozen=True)
class Endpoint:
    """One kind of vendor request: its path (a regular expression, searched) and method."""

    path: str
    method: str | None = None

    def matches(self, entry: dict[str, Any]) -> bool:
        return (self.method is None or entry["method"] == self.method) and bool(
            re.search(self.path, entry["path"])
        )

    def fault(self) -> dict[str, Any]:
        """The simulator fault matcher (``path``, ``method``) of these requests."""
        return {"path": self.path, **({"method": self.method} if self.method else {})}


@dataclass(frozen=True)
class Generation:
    api: str  # carnet.api
    # Every command request (what a rate limit or an outage must keep from repeating).
    command: tuple[Endpoint, ...]
    # The request each command attribute becomes (myVW sends a setting after reading it).
    commands: dict[str, Endpoint]
    status: Endpoint  # the status read of every poll
    # What the vendor's per-minute limit counts: every TSP request on Car-Net (the climate
    # details read too), the commands on myVW.
    rate_limited: tuple[Endpoint, ...]
    # What max_charge_current and climate_target_temperature say they accept.
    charge_currents: str
    climate_targets: str
    # Commands (vehicle, attribute, payload) the generation does not offer the demo cars.
    not_offered: tuple[tuple[str, str, str], ...]
    # The vendor reports each command's outcome, which the bridge asks for (instead of
    # re-reading the car after verify_after).
    reports_outcome: bool
    # Simulator options that keep tests quick where they are not about the vendor's pacing.
    quick: dict[str, Any] = field(default_factory=dict)

    def requests_to(self, log: RequestLog, attribute: str) -> list[dict[str, Any]]:
        """The requests ``attribute``'s commands became, oldest first."""
        endpoint = self.commands[attribute]
        return [r for r in log.requests() if endpoint.matches(r)]

    def command_requests(self, log: RequestLog) -> list[dict[str, Any]]:
        return [r for r in log.requests() if any(e.matches(r) for e in self.command)]

    def rate_limited_requests(self, log: RequestLog) -> list[dict[str, Any]]:
        return [r for r in log.requests() if any(e.matches(r) for e in self.rate_limited)]

    def status_reads(self, log: RequestLog) -> list[dict[str, Any]]:
        return [r for r in log.requests() if self.status.matches(r)]


_TSP = r"^/mps/v1/vehicles/[^/]+/"
CARNET = Generation(
    api="carnet",
    # The climate details read spends the command budget but is no command.
    command=(Endpoint(r"^/mps/v1/vehicles/(?!.*/status/climate/details$)"),),
    commands={
        "lock": Endpoint(_TSP + r"status/exterior/doors$", "PUT"),
        "charging": Endpoint(_TSP + r"status/charging$", "PATCH"),
        "climate_target_temperature": Endpoint(_TSP + r"status/climate$", "PUT"),
        "refresh": Endpoint(_TSP + r"status/fresh$", "PUT"),
    },
    status=Endpoint(r"^/rvs/v1/vehicle/[^/]+$", "GET"),
    rate_limited=(Endpoint(r"^/mps/v1/vehicles/"),),
    charge_currents="5, 10, 13, max",
    climate_targets="60..85",
    not_offered=(("egolf", "window_heating", "ON"), ("egolf", "target_soc", "80")),
    reports_outcome=False,
)

_EV = r"^/ev/v1/vehicle/[^/]+/"
_MYVW_COMMANDS = (
    Endpoint(r"^/(lockunlock|honkflash|rst)/v1/vehicle/[^/]+$"),
    Endpoint(r"^/rvs/v1/vehicle/[^/]+/refresh$", "POST"),
    Endpoint(_EV + r"(charging|pretripclimate|pretripclimate/windowheating)/(start|stop)$",
             "POST"),
    Endpoint(_EV + r"(charging|pretripclimate)/settings$", "PUT"),
)
MYVW = Generation(
    api="myvw",
    command=_MYVW_COMMANDS,
    commands={
        "lock": Endpoint(r"^/lockunlock/v1/vehicle/[^/]+$", "PUT"),
        "charging": Endpoint(_EV + r"charging/(start|stop)$", "POST"),
        "climate_target_temperature": Endpoint(_EV + r"pretripclimate/settings$", "PUT"),
        "refresh": Endpoint(r"^/rvs/v1/vehicle/[^/]+/refresh$", "POST"),
    },
    status=Endpoint(r"^/rvs/v1/vehicle/[^/]+$", "GET"),
    rate_limited=_MYVW_COMMANDS,
    charge_currents="max or reduced",
    climate_targets="61..85",
    # no defrost command on myVW; the combustion car has no charging nor climate
    not_offered=(("egolf", "defrost", "ON"), ("jetta", "charging", "ON"),
                 ("jetta", "climate", "ON")),
    reports_outcome=True,
    # No pause between two EV commands of one car, and no per-minute command limit but
    # the bridge's own (as the Car-Net tests lift the vendor's rate_limit).
    quick={"ev_command_gap": 0.0, "myvw_command_limit": 1000},
)

GENERATIONS = {generation.api: generation for generation in (CARNET, MYVW)}
