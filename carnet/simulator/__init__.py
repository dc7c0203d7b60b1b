"""A stand-in for the Volkswagen Car-Net cloud (North America), for development and tests.

It serves both hosts of the real service on two local listeners, the API host (OIDC
authorize and token endpoints, and the vehicle API) and the identity host (sign-in
pages), so that cookies and redirects cross hosts as they do for real. Everything follows
the public API description: a client written from it alone logs in and drives this
simulator without change. Standard library only.

Use::

    from carnet.simulator import Simulator, SimulatorOptions

    with Simulator(SimulatorOptions(port=0, identity_port=0, apply_delay=0.0)) as sim:
        sim.api_url, sim.identity_url      # "http://127.0.0.1:<port>"

or ``python -m carnet.simulator --port 8765 --identity-port 8766``.

Accounts: ``demo@example.com`` / ``demo``, PIN ``1234``, with an e-Golf 2016 EV
(VIN WVWZZZAUZGW000001, kilometres, plugged in, 80 %, ``fuelPercentRemaining`` 0 as in
the description) and a Jetta 2020
(VIN 3VWZZZ1KZLM000002, miles, fuel 62 %, battery values NOTAVAILABLE); more from a YAML
file (see :mod:`carnet.simulator.accounts`); ``fleet=(A, V)`` adds accounts
``fleet-1@example.com`` … ``fleet-A@example.com`` (password ``fleet``, PIN ``1234``), V
vehicles each. userId, vwId, vehicleId and tspAccountNum are derived from the seed.

Two app generations share the listeners, as on the real hosts: the client id of the
authorize request picks the Car-Net app's flow or the myVW app's (``kombi:///login``,
the garage, the S-PIN session and its vehicle token, the ``/lockunlock``, ``/honkflash``
and ``/ev/v1`` commands and their outcomes; see :mod:`carnet.simulator.myvw` and
``docs/simulator.md``). Options ``region`` ("us"/"ca"), ``attestation``
("off"/"present"/"required", with ``attestation_token``), ``vehicle_token_ttl``,
``ev_command_gap``, ``climate_minutes``, ``myvw_command_limit`` and ``demo_id4`` (the
demo account's ID.4, VIN 1V2GMPE2XMP000003; on by default, False leaves it out) belong
to that side.

Behaviour worth knowing:

* Only the registered ``redirect_uri`` (``car-net:///oauth-callback``, option
  ``redirect_uri``) is accepted: another one at authorize is a 400 ``invalid_request``
  (no redirect); at the token endpoint it must be the one of the authorize request
  (it may be left out of both), else 400 ``invalid_grant``.
* Login codes are single-use and live ``code_ttl`` seconds; access and id tokens
  ``token_ttl``; refresh tokens a year and rotate on use; TSP tokens ``tsp_ttl``.
* Three wrong PINs in a row lock commands for the account (403 ``PIN_LOCKED``).
* Every ``/mps/`` request counts against the account's limits: ``rate_limit`` per
  sliding minute and ``daily_budget`` per rolling day; over them: 429 with
  ``Retry-After`` (whole seconds until a slot frees).
* myVW commands have their own limit, ``myvw_command_limit`` (20) per account per
  sliding minute (and ``daily_budget``); only accepted commands count against it.
* Commands change the car ``apply_delay`` simulated seconds later (default 20, as the
  real car; 0: before the answer). The simulated clock runs ``time_scale`` times real
  time. Charging raises the battery while plugged in; climate and defrost only start
  when plugged in or with unplugged climate enabled (otherwise accepted, and nothing
  happens).
* Battery protection: every ``status/fresh`` wakes the car's modem. After
  ``wakeup_limit`` (10) of them for one vehicle within ``wakeup_window`` simulated
  seconds (6 h) with no genuine change in between, the car stops answering: further
  ``status/fresh`` for that vehicle get 429 ``{"error": {"code": "VEHICLE_WAKEUP_LIMIT",
  …}}`` without ``Retry-After`` (the cloud cannot know when the car answers again) and
  change nothing, until the oldest counted wake-up leaves the window. A genuine change
  (a command that changes the car, a whole battery percent, the car switching the
  climate off, a ``PATCH /_sim/vehicles``) ends the run. Refused wake-ups still count
  against the account's rate limits. ``wakeup_limit=0`` switches this off.
* Errors of the vehicle API are ``{"error": {"code": …, "message": …}}``; those of the
  OIDC endpoints ``{"error": …, "error_description": …}``.

Inspection and fault injection, JSON, on the API listener only (not logged, never
affected by faults):

``GET /_sim/requests``
    Every other request received, oldest first: ``{"time": epoch seconds, "method",
    "host": "api"|"identity", "path" (no query string), "status" (null for a request
    that hung), "account": e-mail or null, "generation": "carnet"|"myvw"|null, "bearer":
    "access"|"id"|"vehicle"|null, "body": the parsed JSON body of a JSON request, else
    null}``.
``DELETE /_sim/requests``
    Clear the log.
``POST /_sim/fault``
    Switch a fault on; several kinds may be on at once, posting a kind again replaces it:

    * ``{"kind": "outage", "status": 503}`` every request of both hosts gets that status;
    * ``{"kind": "hang"}`` requests are accepted and never answered; when the fault is
      cleared or the simulator stops, their connections are closed unanswered;
    * ``{"kind": "login_change", "require_field": "play_integrity_token", "value": …}``
      the token endpoint answers 401 ``{"errorCode": "INVALID_REQUEST", "origin":
      "CarnetSPAuthorizationServer"}`` unless that form
      field is present (and equals ``value`` when given);
    * ``{"kind": "rate_limit", "per_minute": N}`` replaces the per-minute limits;
    * ``{"kind": "password_page", "variant": "template_model"}`` serves the later
      password page, whose values sit in a script (``templateModel: {…}``,
      ``csrf_token: '…'``) instead of hidden inputs; variant ``hidden_inputs`` serves the
      page with hidden inputs. Without the fault each generation gets its own page: hidden
      inputs for the Car-Net app, ``window._IDK`` for the myVW app;
    * ``{"kind": "ignore_commands"}`` commands are answered as usual but the car never
      carries them out;
    * ``{"kind": "answer", "path": regex, "method": "PUT", "status": 403, "body": {…},
      "headers": {…}, "times": N}`` requests whose path matches (``re.search``; and the
      method, when given) get that canned JSON answer instead of being served, so they
      change nothing; ``times`` ends the fault after N of them (default: every one);
    * ``{"kind": "slow", "path": regex, "method": …, "seconds": S, "times": N}``
      matching requests wait S seconds (at most 60) before they are served;
    * ``{"kind": "retire", "generation": "carnet"|"myvw"}`` that generation's client id
      is unknown to the authorize and token endpoints (posting again adds one);
    * ``{"kind": "login_throttle", "after": 8}`` after that many password posts of one
      account within 10 minutes, the sign-in redirects with
      ``error=login.error.throttled``;
    * ``{"kind": "terms"}`` a correct password redirects to the
      ``…/terms-and-conditions`` page (new terms to accept in the app), never to a code.
``GET /_sim/fault``
    The active faults.
``DELETE /_sim/fault``, ``DELETE /_sim/fault/<kind>``
    Clear all faults, or one.
``POST /_sim/expire_tokens``
    Every code, access, id, refresh and TSP token becomes invalid.
``GET /_sim/vehicles``, ``GET /_sim/vehicles/<vin>``
    The full simulated state of every vehicle (or one), each with ``vin``, the
    ``account`` e-mail and ``wakeups``, the wake-ups in a row the battery protection
    counts.
``PATCH /_sim/vehicles/<vin>``
    Change the state at once, e.g. ``{"plugged_in": true}``,
    ``{"doors": {"frontLeft": "OPEN"}}``, ``{"location": {"latitude": 42.3,
    "longitude": -71.1}}``, ``{"locked": false}``, ``{"battery_level": 50}``. Accepted
    keys: plugged_in, charging, battery_level, fuel_level, doors, windows, lights,
    locked, location, mileage, climate_on, defrost_on, unplugged_climate,
    target_temperature, outdoor_temperature, max_charge_current, target_soc; any other
    key is a 400
    that lists them. Answers the new state.
``GET /_sim/accounts``, ``PATCH /_sim/accounts/<email>`` with ``{"pin_locked": false}``
or ``{"password": "new"}``
    The accounts with their credentials and ids; lift a PIN lock-out; change the
    password, as the owner does on the vendor's site (the old one is then refused).
"""

from __future__ import annotations

import logging

from carnet.simulator.options import SimulatorOptions
from carnet.simulator.server import Simulator

_LOG = logging.getLogger(__name__)

__all__ = ["Simulator", "SimulatorOptions"]
