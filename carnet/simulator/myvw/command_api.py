"""The routes of the myVW commands and of the outcome endpoint."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import replace
from functools import partial
from typing import Any

from carnet.simulator.clock import real_now
from carnet.simulator.context import Context
from carnet.simulator.limits import retry_after
from carnet.simulator.myvw.auth import caller, error, not_authorized, unauthorized, vehicle_of
from carnet.simulator.myvw.commands import (
    COMMANDS,
    EV_THRESHOLD,
    WAKE,
    WAKEUP_LIMIT,
    BadBody,
    Command,
)
from carnet.simulator.myvw.state import MyvwStore, Outcome
from carnet.simulator.web import Request, Response, Router, json_response

_LOG = logging.getLogger(__name__)


class CommandApi:
    def __init__(self, ctx: Context, store: MyvwStore) -> None:
        self.ctx = ctx
        self.store = store

    def register(self, router: Router) -> None:
        for command in COMMANDS:
            router.add(command.method, command.path, partial(self.command, command))
        router.add("GET", r"/history/v1/vehicle/([^/]+)/correlationId/([^/]+)/ro/?",
                   self.outcome)

    def command(self, spec: Command, req: Request, m: Any) -> Response:
        ctx = self.ctx
        with ctx.lock:
            who = caller(ctx, req)
            if who is None:
                return unauthorized()
            email = who.account.email
            # the sources disagree whether EV commands take the access token or the
            # vehicle token, so both pass; the others need the vehicle token
            vehicle, refusal = vehicle_of(ctx, who, m.group(1), vehicle_token=True,
                                          access_token=spec.ev)
            if refusal:
                return refusal
            assert vehicle is not None
            if spec.ev and not vehicle.ev:
                return not_authorized(email, "not an electric vehicle")
            if spec.combustion and vehicle.ev:
                return not_authorized(email, "not a combustion vehicle")
            if who.account.pin_locked:
                return error(403, "SPIN_LOCKED", "too many wrong S-PINs: commands are locked",
                             email)
            extras = self.store.of(vehicle.vin)
            gap = ctx.options.ev_command_gap
            if spec.ev and extras.last_ev_command is not None and \
                    real_now() - extras.last_ev_command < gap:
                wait = retry_after(extras.last_ev_command + gap - real_now())
                return error(429, EV_THRESHOLD, "another EV command for this vehicle is "
                             "still being processed; retry in a few seconds", email,
                             [("Retry-After", str(wait))])
            try:
                body = req.json() if req.body else {}
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return error(400, "INVALID_REQUEST", "body must be a JSON object", email)
            now = ctx.clock.now()
            vehicle.advance(now)
            kept = replace(extras, climate_elements=dict(extras.climate_elements))
            try:
                change, feasible = spec.effect(ctx, self.store, body, vehicle, who.account)
            except BadBody as exc:
                return error(400, "INVALID_REQUEST", str(exc), email)
            # checked once the body is known to be good, counted only once the command is
            # accepted: refusals and retries spend nothing
            fault = ctx.faults.get("rate_limit")
            retry = ctx.myvw_limiter.refusal(email, fault["per_minute"] if fault else None)
            if retry is not None:
                self.store.extras[vehicle.vin] = kept  # a refused command keeps no settings
                return error(429, "TOO_MANY_REQUESTS", "too many commands for this account",
                             email, [("Retry-After", str(retry))])
            opts = ctx.options
            if spec is WAKE and not vehicle.wake(now, opts.wakeup_limit, opts.wakeup_window):
                return error(429, WAKEUP_LIMIT, "the vehicle does not answer: too many "
                             "wake-ups in a row, it protects its 12 V battery", email)
            ctx.myvw_limiter.count(email)
            if spec.ev:
                extras.last_ev_command = real_now()
            carried_out = ctx.faults.get("ignore_commands") is None
            due = now + opts.apply_delay
            if change is not None and feasible and carried_out:
                vehicle.schedule(due, *change)
                vehicle.advance(now)  # a zero delay takes effect before the answer
            correlation_id = str(uuid.uuid4())
            self.store.add_outcome(correlation_id, Outcome(
                vehicle.vin, spec.code, spec.name, due, feasible, carried_out, now))
        if opts.latency > 0:
            ctx.stopping.wait(opts.latency)  # the round trip to the car's modem
        data: dict[str, Any] = {"result": 0}
        if spec is not WAKE:
            data["correlationId"] = correlation_id
        return json_response(200, {"data": data}, account=email)

    def outcome(self, req: Request, m: Any) -> Response:
        """A command's outcome, in both forms the public clients read."""
        ctx = self.ctx
        with ctx.lock:
            who = caller(ctx, req)
            if who is None:
                return unauthorized()
            vehicle, refusal = vehicle_of(ctx, who, m.group(1), vehicle_token=True)
            if refusal:
                return refusal
            assert vehicle is not None
            outcome = self.store.outcomes.get(m.group(2))
            if outcome is None or outcome.vin != vehicle.vin:
                return error(404, "CORRELATION_ID_NOT_FOUND", "no command with this "
                             "correlationId for this vehicle", who.account.email)
            now = ctx.clock.now()
            if not outcome.carried_out or now < outcome.due:
                status, code, result = 0, f"{outcome.code - 1} : RO_QUEUED", 1
            elif outcome.feasible:
                status, code, result = 1, f"{outcome.code} : {outcome.name}_SUCCESS", 2
            else:
                status, code, result = 1, f"{outcome.code + 1} : {outcome.name}_FAILED", 3
            event = {"correlationId": m.group(2), "vehicleId": vehicle.vehicle_id,
                     "requestTimestamp": int(outcome.issued * 1000),
                     "eventStatus": {"responseStatus": status, "responseCode": code,
                                     "responseOutcome": result}}
            return json_response(200, {"data": {"correlationId": m.group(2),
                                                "responseBody": json.dumps(event)}},
                                 account=who.account.email)
