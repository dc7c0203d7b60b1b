"""What the myVW side keeps beside the cars: S-PIN challenges, command outcomes, and the
settings only the myVW app has. Callers hold the simulator's lock."""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field

_LOG = logging.getLogger(__name__)

_KEPT = 5000  # challenges and outcomes kept before the oldest are dropped


def _elements() -> dict[str, bool]:
    return {"climatizationAtUnlock": False, "mirrorHeatingEnabled": False,
            "zoneFrontLeftEnabled": True, "zoneFrontRightEnabled": True,
            "zoneRearLeftEnabled": False, "zoneRearRightEnabled": False}


@dataclass
class Extras:
    """Per vehicle: settings the Car-Net app has no word for, and the EV command pacing."""

    auto_unlock: str = "off"
    climate_elements: dict[str, bool] = field(default_factory=_elements)
    last_ev_command: float | None = None  # real monotonic time


@dataclass
class Outcome:
    """A command's fate, for ``/history/v1/…/correlationId/<cid>/ro/``."""

    vin: str
    code: int  # the success code; failure is code + 1
    name: str  # e.g. RO_DOOR
    due: float  # simulated time the car carries it out
    feasible: bool  # False: the car will refuse it (unplugged, climate on…)
    carried_out: bool  # False under the ignore_commands fault: queued for ever
    issued: float  # simulated time of the request


class MyvwStore:
    def __init__(self) -> None:
        self.extras: dict[str, Extras] = {}
        self.challenges: OrderedDict[str, tuple[str, bool]] = OrderedDict()  # -> (email, used)
        self.outcomes: OrderedDict[str, Outcome] = OrderedDict()
        #: remote start tokens: roToken -> (e-mail, VIN, real expiry)
        self.ro_tokens: OrderedDict[str, tuple[str, str, float]] = OrderedDict()

    def of(self, vin: str) -> Extras:
        return self.extras.setdefault(vin, Extras())

    def new_challenge(self, email: str) -> str:
        challenge = secrets.token_hex(32)
        self.challenges[challenge] = (email, False)
        while len(self.challenges) > _KEPT:
            self.challenges.popitem(last=False)
        return challenge

    def live_challenges(self, email: str) -> list[str]:
        return [c for c, (owner, used) in self.challenges.items() if owner == email and not used]

    def used_challenges(self, email: str) -> list[str]:
        return [c for c, (owner, used) in self.challenges.items() if owner == email and used]

    def spend(self, challenge: str) -> None:
        email, _used = self.challenges[challenge]
        self.challenges[challenge] = (email, True)

    def new_ro_token(self, email: str, vin: str, expires: float) -> str:
        token = secrets.token_hex(32)
        self.ro_tokens[token] = (email, vin, expires)
        while len(self.ro_tokens) > _KEPT:
            self.ro_tokens.popitem(last=False)
        return token

    def add_outcome(self, correlation_id: str, outcome: Outcome) -> None:
        self.outcomes[correlation_id] = outcome
        while len(self.outcomes) > _KEPT:
            self.outcomes.popitem(last=False)
