"""How far the daily request budget stretches an account's poll interval."""

from __future__ import annotations

import logging

from carnet.config import Config, mask_email
from carnet.runtime.ledger import budget_interval
from carnet.runtime.vehicle import AccountRuntime

_LOG = logging.getLogger(__name__)


def within_budget(account: AccountRuntime, base: float, vehicles: int, config: Config) -> float:
    """``base``, stretched so the account's day of polling of its ``vehicles`` stays under
    its share of ``limits.daily_requests``, but not past ``polling.max_interval``."""
    ledger = account.ledger
    if ledger is None:
        return base
    counts = ledger.counts()
    needed = budget_interval(base, vehicles, counts["login"] + counts["reads"], config.limits)
    longest = float(max(config.polling.max_interval, base))
    effective = min(needed, longest)
    over = needed > longest
    name = mask_email(account.config.email)
    if over and not account.over_budget:
        _LOG.warning(
            "%s: polling every %.0f s (polling.max_interval) spends more than the daily "
            "budget allows (limits.daily_requests %d, %.0f%% kept for commands)",
            name, longest, config.limits.daily_requests, config.limits.command_reserve * 100,
        )
    stretched = effective > base
    if stretched and account.poll_interval != effective and not over:
        _LOG.info("%s: polling every %.0f s instead of %.0f s to stay within "
                  "limits.daily_requests", name, effective, base)
    account.over_budget = over
    account.poll_interval = effective if stretched else None
    return effective
