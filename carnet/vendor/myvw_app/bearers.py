"""What the myVW client needs of the login: the bearers of its requests."""

from __future__ import annotations

from typing import Protocol


class Bearers(Protocol):
    """The account's tokens: the access token of reads and the vehicle tokens of commands."""

    def access_token(self) -> str:
        """A valid access token; raises AuthError or LoginChanged."""
        ...

    def access_rejected(self, token: str) -> None:
        """An API answered 401 to this access token: the next one must be new."""
        ...

    @property
    def user_id(self) -> str: ...

    @property
    def commands_enabled(self) -> bool:
        """False without a PIN, or after the S-PIN was refused."""
        ...

    @property
    def commands_refusal(self) -> str | None:
        """Why commands are disabled (None: they are not)."""
        ...

    def vehicle_token(self, vehicle_id: str, tsp: str) -> str:
        """The carnetVehicleToken of a vehicle (an S-PIN session, cached); raises PinRefused."""
        ...

    def vehicle_token_rejected(self, vehicle_id: str) -> None:
        """An API answered 401 to this vehicle's token: the next one must be new."""
        ...

    def close(self) -> None: ...
