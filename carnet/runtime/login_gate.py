"""The account's login gate: a refused login blocks the whole account.

No request goes out until ``login_retry`` seconds have passed, doubling up to
``login_retry_max``, so a wrong password or a vendor login change never locks the
owner's account. Reads check :meth:`LoginGate.blocked`; every job of the executor runs
behind :meth:`LoginGate.gated`. The state lives in the fleet registry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from carnet.config import Config, mask_email
from carnet.core.errors import AuthError, LoginChanged
from carnet.runtime.registry import LOGGED_IN, FleetRegistry, LoginState
from carnet.runtime.vehicle import AccountRuntime
from carnet.vendor.protocol import Receipt

_LOG = logging.getLogger(__name__)


class LoginGate:
    def __init__(
        self,
        config: Config,
        fleet: FleetRegistry,
        on_login_refused: Callable[[AccountRuntime, AuthError], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._fleet = fleet
        self._on_login_refused = on_login_refused
        self._clock = clock

    def blocked(self, account: AccountRuntime) -> bool:
        return self._clock() < self._fleet.login(account).retry_at

    def gated(
        self, account: AccountRuntime, request: Callable[[], Receipt | None]
    ) -> Callable[[], Receipt | None]:
        """``request`` (a command) behind the account's login gate.

        A command needs valid tokens too, so while logins are blocked it must not log in,
        and a login it finds refused blocks the account like a refused poll does.
        """

        def run() -> Receipt | None:
            login = self._fleet.login(account)
            wait = login.retry_at - self._clock()
            if wait > 0:
                raise AuthError(
                    f"the vendor login is refused; next attempt in {wait:.0f} s ({login.error})"
                )
            try:
                return request()
            except AuthError as exc:
                self._on_login_refused(account, exc)
                raise

        return run

    def refused(self, account: AccountRuntime, exc: AuthError) -> float | None:
        """Block the account's logins for the next back-off step; returns the wait.

        None when ``exc`` was already counted and its back-off step still runs (so the
        next attempt is already due): the reader and the command worker can both meet
        the same refused login, which advances the back-off once.
        """
        vendor = self._config.carnet
        # The generation's own words usually name the remedy already; saying it twice
        # buries it.
        hint = (
            " The vendor may have changed its login: see carnet.token_helper in the README."
            if isinstance(exc, LoginChanged) and "carnet.token_helper" not in str(exc)
            else ""
        )
        waits: list[float] = []

        # The reader and the command worker of an account advance it: one step each.
        def refused(login: LoginState) -> LoginState:
            if exc is login.counted and self._clock() < login.retry_at:
                return login
            failures = login.failures + 1
            # The exponent is capped: a float overflows long before failures stop coming.
            wait = min(vendor.login_retry * 2 ** min(failures - 1, 32), vendor.login_retry_max)
            waits.append(wait)
            return LoginState(
                error=f"login refused: {exc}{hint}",
                failures=failures,
                retry_at=self._clock() + wait,
                since=login.since if login.since is not None else time.time(),
                counted=exc,
            )

        before, after = self._fleet.change_login(account, refused)
        if after is before:
            return None
        wait = waits[-1]
        _LOG.error(
            "vendor login for %s refused (%s).%s Next attempt in %.0f s; vehicles are offline.",
            mask_email(account.config.email),
            exc,
            hint,
            wait,
        )
        return wait

    def succeeded(self, account: AccountRuntime) -> None:
        before, _ = self._fleet.change_login(account, lambda login: LOGGED_IN)
        recovered = before != LOGGED_IN
        if recovered:
            _LOG.info("vendor login for %s works again", mask_email(account.config.email))
