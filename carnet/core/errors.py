"""Every error the bridge raises on purpose.

HTTP status codes become these types in exactly one place (the vendor client), so the
poller and the executor decide what to do from the type, never from a status code.
Messages never contain secrets: passwords, PINs, tokens, codes or verifiers.
"""

from __future__ import annotations


class CarNetError(Exception):
    """Anything that went wrong talking to Car-Net."""


class AuthError(CarNetError):
    """The login or a token refresh was refused.

    ``step`` names the login step that failed (``authorize``, ``identifier``,
    ``authenticate``, ``token``, ``refresh``) so the message can say what to check.
    """

    def __init__(self, message: str, step: str = "token") -> None:
        super().__init__(message)
        self.step = step


class LoginChanged(AuthError):
    """The vendor changed its login (new form, new field, new endpoint): not a wrong password."""


class PinRefused(CarNetError):
    """The Car-Net PIN was refused. Never retried: repeated wrong PINs lock the account."""


class CommandRefused(CarNetError):
    """The vendor refused one command or TSP request (401/403, or a 200 that says no).

    Not a login problem: reading, other vehicles and other commands go on. ``status``
    is the HTTP status of the answer, ``detail`` the vendor's own words (masked).
    """

    def __init__(self, message: str, status: int, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class AccessDenied(CarNetError):
    """The vendor denied one read (HTTP 403 on a Bearer request): an error of that
    vehicle only. The tokens were accepted, so it is not a login problem."""


class RateLimited(CarNetError):
    """429 from the vendor; ``retry_after`` in seconds when the vendor said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class VendorUnavailable(CarNetError):
    """5xx, timeout or connection error: transient, worth retrying later."""


class BadRequest(CarNetError):
    """A 4xx other than 401/403/429: the request itself was wrong; never retried."""


class WakeupsUsedUp(CarNetError):
    """The day's wake-ups are spent: waking the modem again would drain the 12 V battery."""


class ConfigError(Exception):
    """The configuration is invalid. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
