"""Accounts and their vehicles: the demo account, a YAML file, a generated fleet.

Identifiers are derived from the seed and the e-mail or VIN with ``random.Random``
(string seeds are hashed with SHA-512, so they are stable across runs and Python
processes): the same seed always gives the same userId, vwId, vehicleId and
tspAccountNum.

YAML file (``accounts_file``)::

    accounts:                       # or a bare list of accounts
      - email: someone@example.com
        password: secret
        pin: "4321"
        first_name: Ada             # optional
        last_name: Lovelace         # optional
        temperature_unit: F         # F (default) or C: the unit of climate temperatures
        vehicles:
          - vin: WVWZZZAUZGW123456
            type: ev                # ev (default) or combustion
            model_name: e-Golf      # optional, as are all the keys below
            model_year: "2016"
            units: KM               # KM or MI
            mileage: 1000
            battery_level: 55       # ev
            plugged_in: false       # ev
            fuel_level: 40          # combustion
            locked: true
            location: {latitude: 42.36, longitude: -71.06}
"""

from __future__ import annotations

import logging
import random
import uuid
from pathlib import Path
from typing import Any

import yaml

from carnet.simulator.options import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_PIN,
    FLEET_PASSWORD,
    FLEET_PIN,
    SimulatorOptions,
)
from carnet.simulator.vehicle import Vehicle

_LOG = logging.getLogger(__name__)

DEMO_EV_VIN = "WVWZZZAUZGW000001"
DEMO_COMBUSTION_VIN = "3VWZZZ1KZLM000002"
DEMO_ID4_VIN = "1V2GMPE2XMP000003"

DEMO_ID4: dict[str, Any] = {
    "vin": DEMO_ID4_VIN, "type": "ev", "model_name": "ID.4", "model_year": "2021",
    "model_code": "E214VS", "model_desc": "id4_2021", "units": "MI", "mileage": 9120,
    "battery_level": 64, "plugged_in": True, "charging": False, "sunroof": False,
    "full_range": 250, "battery_kwh": 77, "charger_kw": 11, "platform": "MEB",
    "target_soc": 80, "location": {"latitude": 37.774929, "longitude": -122.419416},
    "target_temperature": 70, "outdoor_temperature": 64,
}
"""The demo's ID.4, a myVW-era EV (MEB platform, 77 kWh, 11 kW charger, miles), in the
accounts file's vehicle keys, so an account of a file can have it too."""

_VEHICLE_KEYS = {
    "vin", "type", "model_name", "model_year", "model_code", "model_desc", "units", "mileage",
    "battery_level", "fuel_level", "plugged_in", "charging", "locked", "location",
    "unplugged_climate", "target_temperature", "outdoor_temperature", "sunroof",
    "full_range", "max_charge_current", "tsp_provider", "battery_kwh", "charger_kw", "platform",
    "target_soc",
}
_ACCOUNT_KEYS = {"email", "password", "pin", "first_name", "last_name", "temperature_unit",
                 "vehicles"}


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class Account:
    """A Car-Net account: credentials, identity and the PIN lock-out counter."""

    __slots__ = ("email", "failed_pins", "first_name", "last_name", "password", "pin",
                 "pin_locked", "temperature_unit", "user_id", "vehicles", "vw_id")

    def __init__(self, *, email: str, password: str, pin: str, seed: int,
                 first_name: str = "Demo", last_name: str = "Driver",
                 temperature_unit: str = "F") -> None:
        rng = random.Random(f"{seed}:user:{email.lower()}")
        self.email = email
        self.password = password
        self.pin = str(pin)
        self.user_id = _uuid(rng)
        # the real vwId is a UUID with the portal's server name glued on
        self.vw_id = _uuid(rng) + "vwcarnetportal-prod-002-appserver-000"
        self.first_name = first_name
        self.last_name = last_name
        self.temperature_unit = temperature_unit.upper()
        self.vehicles: list[Vehicle] = []
        self.failed_pins = 0
        self.pin_locked = False

    def summary(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "password": self.password,
            "pin": self.pin,
            "userId": self.user_id,
            "vwId": self.vw_id,
            "temperature_unit": self.temperature_unit,
            "pin_locked": self.pin_locked,
            "failed_pins": self.failed_pins,
            "vehicles": [v.vin for v in self.vehicles],
        }


class Registry:
    """All accounts and vehicles, with the look-ups the endpoints need."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.accounts: dict[str, Account] = {}
        self.by_vin: dict[str, Vehicle] = {}
        self.by_vehicle_id: dict[str, Vehicle] = {}
        self.by_tsp: dict[str, Vehicle] = {}

    def account(self, email: str | None) -> Account | None:
        return self.accounts.get(email.strip().lower()) if email else None

    def add_account(self, account: Account) -> Account:
        key = account.email.lower()
        if key in self.accounts:
            raise ValueError(f"duplicate account {account.email}")
        self.accounts[key] = account
        return account

    def add_vehicle(self, account: Account, now: float, spec: dict[str, Any]) -> Vehicle:
        vin = str(spec.pop("vin"))
        if len(vin) != 17 or vin in self.by_vin:
            raise ValueError(f"VIN {vin!r} is not 17 characters or is not unique")
        rng = random.Random(f"{self.seed}:vehicle:{vin}")
        vehicle_id = _uuid(rng)
        tsp = str(rng.randint(10_000_000, 99_999_999))
        while tsp in self.by_tsp:
            tsp = str(rng.randint(10_000_000, 99_999_999))
        if "location" not in spec:
            spec["location"] = {"latitude": round(rng.uniform(30.0, 47.0), 6),
                                "longitude": round(rng.uniform(-122.0, -72.0), 6)}
        if account.temperature_unit == "C":  # climate temperatures are in the account's unit
            spec.setdefault("target_temperature", 22)
            spec.setdefault("outdoor_temperature", 18)
        kind = spec.pop("type", "ev")
        if kind not in ("ev", "combustion"):
            raise ValueError(f"vehicle {vin}: type must be ev or combustion")
        spec["ev"] = kind == "ev"
        vehicle = Vehicle(vin=vin, vehicle_id=vehicle_id, tsp_account=tsp,
                          account=account.email, now=now, **spec)
        account.vehicles.append(vehicle)
        self.by_vin[vin] = vehicle
        self.by_vehicle_id[vehicle_id] = vehicle
        self.by_tsp[tsp] = vehicle
        return vehicle

    def vehicles(self) -> list[Vehicle]:
        return list(self.by_vin.values())


def build_registry(options: SimulatorOptions, now: float) -> Registry:
    """The demo account, then the accounts file, then the generated fleet."""
    registry = Registry(options.seed)
    _add_demo(registry, now, options.demo_id4)
    if options.accounts_file:
        _load_file(registry, Path(options.accounts_file), now)
    if options.fleet:
        _add_fleet(registry, options.fleet, now)
    _LOG.info("simulating %d accounts with %d vehicles",
              len(registry.accounts), len(registry.by_vin))
    return registry


def _add_demo(registry: Registry, now: float, with_id4: bool) -> None:
    demo = registry.add_account(Account(email=DEMO_EMAIL, password=DEMO_PASSWORD, pin=DEMO_PIN,
                                        seed=registry.seed, first_name="Demo",
                                        last_name="Driver", temperature_unit="F"))
    registry.add_vehicle(demo, now, {
        "vin": DEMO_EV_VIN, "type": "ev", "model_name": "e-Golf", "model_year": "2016",
        "model_code": "BE12B1", "model_desc": "egolf_2016", "units": "KM", "mileage": 34512,
        "battery_level": 80, "plugged_in": True, "charging": False, "sunroof": True,
        "location": {"latitude": 42.360082, "longitude": -71.05888},
        "target_temperature": 72, "outdoor_temperature": 64,
    })
    registry.add_vehicle(demo, now, {
        "vin": DEMO_COMBUSTION_VIN, "type": "combustion", "model_name": "Jetta",
        "model_year": "2020", "model_code": "BU34VS", "model_desc": "jetta_2020",
        "units": "MI", "mileage": 18277, "fuel_level": 62, "sunroof": False,
        "location": {"latitude": 38.969555, "longitude": -77.38609},
        "target_temperature": 72, "outdoor_temperature": 64,
    })
    if with_id4:
        registry.add_vehicle(demo, now, dict(DEMO_ID4))


def _load_file(registry: Registry, path: Path, now: float) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    entries = data.get("accounts", []) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of accounts")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not {"email", "password", "pin"} <= set(entry):
            raise ValueError(f"{path}: accounts[{i}] needs email, password and pin")
        unknown = set(entry) - _ACCOUNT_KEYS
        if unknown:
            raise ValueError(f"{path}: accounts[{i}]: unknown keys {sorted(unknown)}")
        account = registry.add_account(Account(
            email=str(entry["email"]), password=str(entry["password"]), pin=str(entry["pin"]),
            seed=registry.seed, first_name=str(entry.get("first_name", "Test")),
            last_name=str(entry.get("last_name", "Driver")),
            temperature_unit=str(entry.get("temperature_unit", "F"))))
        for j, spec in enumerate(entry.get("vehicles") or []):
            if not isinstance(spec, dict) or "vin" not in spec:
                raise ValueError(f"{path}: accounts[{i}].vehicles[{j}] needs a vin")
            unknown = set(spec) - _VEHICLE_KEYS
            if unknown:
                raise ValueError(
                    f"{path}: accounts[{i}].vehicles[{j}]: unknown keys {sorted(unknown)}")
            registry.add_vehicle(account, now, dict(spec))


def _add_fleet(registry: Registry, fleet: tuple[int, int], now: float) -> None:
    """``fleet-1@example.com`` … ``fleet-A@example.com``, each with V vehicles."""
    n_accounts, n_vehicles = fleet
    serial = 0
    for i in range(1, n_accounts + 1):
        account = registry.add_account(Account(
            email=f"fleet-{i}@example.com", password=FLEET_PASSWORD, pin=FLEET_PIN,
            seed=registry.seed, first_name="Fleet", last_name=f"Driver {i}"))
        for j in range(n_vehicles):
            serial += 1
            rng = random.Random(f"{registry.seed}:fleet:{i}:{j}")
            if rng.random() < 0.5:
                spec: dict[str, Any] = {
                    "vin": f"WVWZZZAUZGF{serial:06d}", "type": "ev",
                    "battery_level": rng.randint(15, 95), "plugged_in": rng.random() < 0.5,
                    "mileage": rng.randint(1000, 90000), "units": "KM"}
            else:
                spec = {"vin": f"3VWZZZ1KZLF{serial:06d}", "type": "combustion",
                        "fuel_level": rng.randint(5, 100), "mileage": rng.randint(1000, 60000),
                        "units": "MI"}
            spec["locked"] = rng.random() < 0.8
            registry.add_vehicle(account, now, spec)
