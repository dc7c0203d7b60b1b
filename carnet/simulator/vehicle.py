"""One simulated car: its state, the commands it carries out, and its physics.

The state is advanced lazily: every read first calls :meth:`Vehicle.advance` with the
current simulated time, which carries out the commands that have come due and integrates
charging and battery drain piecewise between them. No background thread is needed, so the
outcome depends only on the seed and on when the requests arrive.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections import deque
from typing import Any

_LOG = logging.getLogger(__name__)

NA = "NOTAVAILABLE"
UNSUPPORTED = "UNSUPPORTED"
DOORS = ("frontLeft", "frontRight", "rearLeft", "rearRight", "trunk", "hood")
LOCKABLE_DOORS = ("frontLeft", "frontRight", "rearLeft", "rearRight")
WINDOWS = ("frontLeft", "frontRight", "rearLeft", "rearRight", "sunroof")
LIGHTS = ("left", "right")
OPEN_CLOSED = ("OPEN", "CLOSED")

#: Accepted values of max_charge_current (amperes, or the car's maximum).
CHARGE_CURRENTS: tuple[int | str, ...] = (5, 10, 13, "max")
#: Battery percent gained per simulated minute for each charge current setting: a 24 kWh
#: e-Golf pack on 240 V, "max" being its 7.2 kW on-board charger.
_CHARGE_PCT_PER_MIN: dict[int | str, float] = {5: 0.083, 10: 0.167, 13: 0.217, "max": 0.5}
#: The pack and charger those rates are for; other cars scale them (an ID.4: 77 kWh, 11 kW).
_BASE_KWH, _BASE_CHARGER_KW = 24.0, 7.2
#: Battery percent used per simulated minute by climate or defrost when unplugged.
_CLIMATE_DRAIN_PCT_PER_MIN = 0.05


class Vehicle:
    """The simulated state of one car.

    ``__slots__`` keeps a vehicle small: scale tests run hundreds of them.
    """

    __slots__ = (
        "account",
        "battery_kwh",
        "battery_level",
        "charger_kw",
        "charging",
        "climate_off_at",
        "climate_on",
        "defrost_on",
        "doors",
        "engine_running",
        "ev",
        "fuel_level",
        "full_range",
        "imei",
        "last_parked",
        "lights",
        "location",
        "locked",
        "max_charge_current",
        "mileage",
        "model_code",
        "model_desc",
        "model_name",
        "model_year",
        "next_service",
        "outdoor_temperature",
        "pending",
        "platform",
        "plugged_in",
        "service_days",
        "target_soc",
        "target_temperature",
        "timestamp",
        "tsp_account",
        "tsp_provider",
        "units",
        "unplugged_climate",
        "updated",
        "vehicle_id",
        "vhr_timestamp",
        "vin",
        "wakeups",
        "windows",
    )

    def __init__(self, *, vin: str, vehicle_id: str, tsp_account: str, account: str,
                 now: float, **spec: Any) -> None:
        self.vin = vin
        self.vehicle_id = vehicle_id
        self.tsp_account = tsp_account
        self.account = account
        self.ev: bool = bool(spec.get("ev", True))
        self.model_name: str = spec.get("model_name", "e-Golf" if self.ev else "Jetta")
        self.model_year: str = str(spec.get("model_year", "2016" if self.ev else "2020"))
        self.model_code: str = spec.get("model_code", "BE12B1" if self.ev else "BU34VS")
        self.model_desc: str = spec.get(
            "model_desc", f"{self.model_name.lower().replace('-', '')}_{self.model_year}")
        self.tsp_provider: str = spec.get("tsp_provider", "VZT")
        self.imei: str = spec.get("imei", "35" + vin[-13:].rjust(13, "0"))
        self.units: str = str(spec.get("units", "KM" if self.ev else "MI")).upper()
        self.mileage: int = int(spec.get("mileage", 34512 if self.ev else 18277))
        self.next_service: int = int(spec.get("next_service", self.mileage + 6488))
        self.service_days: int = int(spec.get("service_days", 72))
        self.full_range: int = int(spec.get("full_range", 134 if self.ev else 450))
        self.battery_level: float | None = (
            float(spec.get("battery_level", 80)) if self.ev else None)
        self.fuel_level: int | None = None if self.ev else int(spec.get("fuel_level", 62))
        self.plugged_in: bool | None = bool(spec.get("plugged_in", True)) if self.ev else None
        self.charging: bool = bool(spec.get("charging", False)) and bool(self.plugged_in)
        self.max_charge_current: int | str = spec.get("max_charge_current", "max")
        self.battery_kwh: float = float(spec.get("battery_kwh", _BASE_KWH))
        self.charger_kw: float = float(spec.get("charger_kw", _BASE_CHARGER_KW))
        self.platform: str = spec.get("platform", "MQB")
        # charging stops here; the Car-Net app cannot set it, the myVW app can (50-100)
        self.target_soc: int = int(spec.get("target_soc", 100))
        self.doors: dict[str, str] = {d: "CLOSED" for d in DOORS}
        self.windows: dict[str, str] = {w: "CLOSED" for w in WINDOWS}
        if not spec.get("sunroof", self.ev):
            self.windows["sunroof"] = UNSUPPORTED
        self.lights: dict[str, str] = {light: "OFF" for light in LIGHTS}
        self.locked: bool = bool(spec.get("locked", True))
        self.climate_on = False
        self.climate_off_at: float | None = None  # when the car ends pre-trip climate
        self.engine_running = False  # a combustion car's remote start (myVW app)
        self.defrost_on = False
        self.unplugged_climate: bool = bool(spec.get("unplugged_climate", False))
        self.target_temperature: float = spec.get("target_temperature", 72)
        self.outdoor_temperature: float = spec.get("outdoor_temperature", 64)
        self.location: dict[str, float] = dict(spec["location"])
        self.last_parked: dict[str, float] = dict(self.location)
        self.timestamp = now - float(spec.get("age", 300))
        self.vhr_timestamp = now - 86400.0
        self.updated = now
        # (due simulated time, command, value), kept sorted by due time
        self.pending: list[tuple[float, str, Any]] = []
        # simulated times of the status/fresh wake-ups since the last genuine change
        self.wakeups: deque[float] = deque()

    # ---- time ----------------------------------------------------------------------

    def schedule(self, due: float, command: str, value: Any) -> None:
        """Queue a command that the car carries out at simulated time ``due``."""
        keys = [p[0] for p in self.pending]
        self.pending.insert(bisect.bisect_right(keys, due), (due, command, value))

    def advance(self, now: float) -> None:
        """Bring the state up to simulated time ``now``."""
        while self.pending and self.pending[0][0] <= now:
            due, command, value = self.pending.pop(0)
            self._integrate(due)
            self._apply(due, command, value)
        self._integrate(now)

    def _integrate(self, t: float) -> None:
        off_at = self.climate_off_at
        if off_at is not None and self.climate_on and self.updated < off_at <= t:
            self._integrate_span(off_at)
            self.climate_on = self.engine_running = False  # the car ends the run itself
            self._changed(off_at)
        if not self.climate_on:  # however it ended, a remote start's engine stops with it
            self.climate_off_at, self.engine_running = None, False
        self._integrate_span(t)

    def _integrate_span(self, t: float) -> None:
        dt = t - self.updated
        if dt <= 0:
            return
        self.updated = t
        if self.ev and self.battery_level is not None:
            before, was_charging = self.battery_level, self.charging
            if self.charging and not self.plugged_in:
                self.charging = False
            if self.charging:
                level = before + self.charge_rate() * dt / 60.0
                if level >= self.target_soc:  # the charge target reached: charging ends
                    level = max(before, float(self.target_soc))
                    self.charging = False
                self.battery_level = level
            elif (self.climate_on or self.defrost_on) and not self.plugged_in:
                self.battery_level = max(0.0, before - _CLIMATE_DRAIN_PCT_PER_MIN * dt / 60.0)
            # the car reports when a whole percent changes or charging ends
            if int(self.battery_level) != int(before) or self.charging != was_charging:
                self._changed(t)
        if (self.climate_on or self.defrost_on) and not self.can_climate():
            # unplugged without unplugged climate enabled: the car switches it off
            self.climate_on = self.defrost_on = False
            self._changed(t)

    def mark_changed(self, t: float) -> None:
        """A change made from outside (``PATCH /_sim/vehicles``)."""
        self._changed(t)

    def _changed(self, t: float) -> None:
        """A genuine change of state: the car reports it, and it is awake on its own, so the
        run of wake-ups in a row ends."""
        self.timestamp = t
        self.wakeups.clear()

    def wake(self, now: float, limit: int, window: float) -> bool:
        """Count a ``status/fresh`` wake-up of the modem at simulated time ``now``.

        False, and nothing counted, when ``limit`` wake-ups without a genuine change
        already fell within the last ``window`` seconds: the car protects its 12 V battery
        and no longer answers. ``limit`` 0 means no limit.
        """
        self.recent_wakeups(now, window)
        if limit and len(self.wakeups) >= limit:
            return False
        self.wakeups.append(now)
        return True

    def recent_wakeups(self, now: float, window: float) -> int:
        """How many wake-ups in a row fall within the last ``window`` seconds."""
        while self.wakeups and self.wakeups[0] <= now - window:
            self.wakeups.popleft()
        return len(self.wakeups)

    def charge_rate(self) -> float:
        """Battery percent per simulated minute at the current charge current setting."""
        scale = (self.charger_kw / _BASE_CHARGER_KW) * (_BASE_KWH / self.battery_kwh)
        return scale * _CHARGE_PCT_PER_MIN.get(self.max_charge_current,
                                               _CHARGE_PCT_PER_MIN["max"])

    def charge_power(self) -> float:
        """Charging power in kW, 0 when not charging."""
        return round(self.charge_rate() * self.battery_kwh * 0.6, 1) if self.charging else 0.0

    def minutes_to_full(self) -> int:
        """Minutes until charging ends at the charge target."""
        if not self.charging or self.battery_level is None:
            return 0
        return math.ceil(max(0.0, self.target_soc - self.battery_level) / self.charge_rate())

    def can_climate(self) -> bool:
        """Climate and defrost run only on shore power, with unplugged climate enabled, or
        with the engine running (a combustion car's remote start)."""
        return bool(self.plugged_in) or self.unplugged_climate or self.engine_running

    # ---- commands ------------------------------------------------------------------

    def _apply(self, t: float, command: str, value: Any) -> None:
        before = self._fingerprint()
        if command == "lock":
            self.locked = bool(value)
        elif command == "charge":
            if not value:
                self.charging = False
            elif self.ev and self.plugged_in and (self.battery_level or 0) < self.target_soc:
                self.charging = True
            # otherwise accepted but nothing happens, as with the real car
        elif command == "max_charge_current":
            self.max_charge_current = value
        elif command == "defrost":
            self.defrost_on = bool(value) and self.can_climate()
        elif command == "climate":
            active, target = value
            if target is not None:
                self.target_temperature = target
            self.climate_on = bool(active) and self.can_climate()
        elif command == "pretrip_climate":
            active, minutes = value
            if not active:
                self.climate_on = False
            elif not self.climate_on and self.can_climate():
                # a second start while running does not extend the run
                self.climate_on, self.climate_off_at = True, t + minutes * 60.0
        elif command == "remote_start":
            active, minutes = value
            if not active:
                self.engine_running = self.climate_on = False
            elif not self.engine_running:
                self.engine_running = self.climate_on = True
                self.climate_off_at = t + minutes * 60.0
        elif command == "charge_settings":
            self.target_soc, self.max_charge_current = value
            if self.charging and (self.battery_level or 0) >= self.target_soc:
                self.charging = False
        elif command == "climate_settings":
            self.target_temperature, self.unplugged_climate = value
        elif command == "unplugged_climate":
            self.unplugged_climate = bool(value)
        elif command == "fresh":
            self.timestamp = t
        elif command == "health_fresh":
            self.vhr_timestamp = t
        # horn_and_lights changes nothing that the status reports
        if self._fingerprint() != before:
            self._changed(t)

    def _fingerprint(self) -> tuple[Any, ...]:
        return (self.locked, self.charging, self.max_charge_current, self.defrost_on,
                self.climate_on, self.target_temperature, self.unplugged_climate,
                self.target_soc, self.engine_running)

    # ---- inspection and direct changes (the /_sim/ API) -----------------------------

    def sim_state(self) -> dict[str, Any]:
        """The full simulated state, for ``GET /_sim/vehicles``."""
        return {
            "vin": self.vin,
            "account": self.account,
            "vehicleId": self.vehicle_id,
            "tspAccountNum": self.tsp_account,
            "model_name": self.model_name,
            "model_year": self.model_year,
            "ev": self.ev,
            "units": self.units,
            "mileage": self.mileage,
            "battery_level": (None if self.battery_level is None
                              else round(self.battery_level, 3)),
            "fuel_level": self.fuel_level,
            "plugged_in": self.plugged_in,
            "charging": self.charging,
            "minutes_to_full": self.minutes_to_full(),
            "max_charge_current": self.max_charge_current,
            "target_soc": self.target_soc,
            "charge_power_kw": self.charge_power(),
            "climate_off_at": (None if self.climate_off_at is None
                               else int(self.climate_off_at * 1000)),
            "platform": self.platform,
            "engine_running": self.engine_running,
            "doors": dict(self.doors),
            "windows": dict(self.windows),
            "lights": dict(self.lights),
            "locked": self.locked,
            "climate_on": self.climate_on,
            "defrost_on": self.defrost_on,
            "unplugged_climate": self.unplugged_climate,
            "target_temperature": self.target_temperature,
            "outdoor_temperature": self.outdoor_temperature,
            "location": dict(self.location),
            "last_parked_location": dict(self.last_parked),
            "timestamp": int(self.timestamp * 1000),
            "vhr_timestamp": int(self.vhr_timestamp * 1000),
            "pending": [{"due": int(due * 1000), "command": cmd} for due, cmd, _ in self.pending],
        }
