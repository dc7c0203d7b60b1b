"""Bearers for the product's myVW client in tests, from the test-only myVW client that
signs in to the simulator over real HTTP (``tests/test_simulator_myvw_support.py``)."""

from __future__ import annotations

from carnet.core.errors import AuthError, PinRefused
from tests.test_simulator_myvw_support import MyvwClient as SignIn
from tests.test_simulator_myvw_support import spin_hash


class SimBearers:
    """The access token of a signed-in test client, and vehicle tokens from S-PIN sessions."""

    def __init__(self, sign_in: SignIn, commands: bool = True) -> None:
        self.sign_in = sign_in.login()
        self._commands = commands
        self.rejected_access: list[str] = []
        self.rejected_vehicles: list[str] = []
        self._vehicle_tokens: dict[str, str] = {}
        self.closed = False

    def access_token(self) -> str:
        return str(self.sign_in.tokens["access_token"])

    def access_rejected(self, token: str) -> None:
        self.rejected_access.append(token)
        if self.sign_in.refresh().status_code != 200:
            raise AuthError("the test client's refresh was refused", step="refresh")

    @property
    def user_id(self) -> str:
        return self.sign_in.user_id

    @property
    def commands_enabled(self) -> bool:
        return self._commands

    @property
    def commands_refusal(self) -> str | None:
        return None if self._commands else "no S-PIN in this test"

    def vehicle_token(self, vehicle_id: str, tsp: str) -> str:
        if not self._commands:
            raise PinRefused("no S-PIN in this test")
        if vehicle_id not in self._vehicle_tokens:
            challenge = self.sign_in.challenge()["challenge"]
            r = self.sign_in.send(
                "POST", f"/ss/v1/user/{self.user_id}/vehicle/{vehicle_id}/session",
                {"idToken": self.sign_in.tokens["id_token"],
                 "spinHash": spin_hash(challenge, self.sign_in.spin), "tsp": tsp})
            if r.status_code != 200:
                raise PinRefused(f"the S-PIN session was refused: HTTP {r.status_code}")
            self._vehicle_tokens[vehicle_id] = r.json()["data"]["carnetVehicleToken"]
        return self._vehicle_tokens[vehicle_id]

    def vehicle_token_rejected(self, vehicle_id: str) -> None:
        self.rejected_vehicles.append(vehicle_id)
        self._vehicle_tokens.pop(vehicle_id, None)

    def close(self) -> None:
        self.closed = True
