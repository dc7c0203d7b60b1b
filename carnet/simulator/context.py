"""The state that every part of the simulator shares."""

from __future__ import annotations

import logging
import threading

from carnet.simulator.accounts import Registry, build_registry
from carnet.simulator.clock import SimClock
from carnet.simulator.faults import Faults
from carnet.simulator.generations import Generations, attestation_value
from carnet.simulator.limits import RateLimiter
from carnet.simulator.options import SimulatorOptions
from carnet.simulator.tokens import TokenStore

_LOG = logging.getLogger(__name__)


class Context:
    """Options, clock, accounts, tokens, limits and faults of one simulator.

    One re-entrant lock guards all of it: requests are short, and a single lock makes the
    simulated car behave the same however the threads interleave.
    """

    def __init__(self, options: SimulatorOptions) -> None:
        options.validate()
        self.options = options
        self.clock = SimClock(options.time_scale)
        self.registry: Registry = build_registry(options, self.clock.now())
        self.tokens = TokenStore(options.token_ttl, options.refresh_ttl, options.tsp_ttl,
                                 options.code_ttl)
        self.tokens.vehicle_ttl = options.vehicle_token_ttl
        self.generations = Generations(options)
        #: the play_integrity_token that passes under options.attestation == "required"
        self.attestation_token = attestation_value(options)
        self.limiter = RateLimiter(options.rate_limit, options.daily_budget)
        #: myVW commands: their own per-account limit, apart from the /mps/ requests
        self.myvw_limiter = RateLimiter(options.myvw_command_limit, options.daily_budget)
        self.faults = Faults()
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.api_url = ""
        self.identity_url = ""
        self.api_port = 0
        self.identity_port = 0

    def base_url(self, host_header: str, kind: str) -> str:
        """The base URL of the ``kind`` listener as this client reaches us.

        The redirects between the hosts keep the host name the client used and change only
        the port, so a simulator listening on 0.0.0.0 works for a client on another machine.
        """
        port = self.api_port if kind == "api" else self.identity_port
        header = host_header.strip()
        # "[::1]:8765" keeps its brackets; "example:8765" loses the port
        host = header[: header.find("]") + 1] if header.startswith("[") else header.split(":")[0]
        if not host or not port:
            return self.api_url if kind == "api" else self.identity_url
        return f"http://{host}:{port}"
