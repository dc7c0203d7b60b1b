"""The JSON bodies of the myVW reads, shaped as ``myvw-api.md`` shows them."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

from carnet.simulator import payloads
from carnet.simulator.accounts import Account
from carnet.simulator.vehicle import Vehicle

_LOG = logging.getLogger(__name__)

_KM_PER_MI = 1.609344
#: The myVW ``maxChargingCurrent`` values and the Car-Net settings they stand for.
CURRENTS: dict[str, int | str] = {"max": "max", "reduced": 10}
AUTO_UNLOCK = ("on", "off", "permanent")


def tsp(v: Vehicle) -> str:
    """The myVW TSP of a car: WirelessCar for EVs, Aeris for combustion cars."""
    return "WCT" if v.ev else "ATC"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _km(v: Vehicle, distance: float) -> int:
    return round(distance * _KM_PER_MI) if v.units == "MI" else round(distance)


def _services(v: Vehicle, canada: bool) -> list[tuple[str, str, str]]:
    """(service, short code, capability status) of a vehicle."""
    services = [("LockAndUnlock", "RLU", "AVAILABLE"), ("HonkAndFlash", "RHF", "AVAILABLE"),
                ("SPIN", "SPIN", "NOT_APPLICABLE" if canada else "AVAILABLE"),
                ("RemoteVehicleStatus", "RVS", "AVAILABLE"),
                ("VehicleHealthReport", "VHR", "AVAILABLE")]
    if v.ev:
        services += [("RemoteCharging", "RCH", "AVAILABLE"),
                     ("RemotePretripClimate", "RPC", "AVAILABLE")]
    else:
        services += [("RemoteStart", "RST", "AVAILABLE"), ("RemoteCharging", "RCH",
                                                           "NOT_APPLICABLE")]
    return services


def services(v: Vehicle, canada: bool) -> list[dict[str, Any]]:
    return [{"longCode": name, "shortCode": short, "operations": [{
        "longCode": "ALL", "shortCode": "ALL", "privilege": ["PRIMARY"],
        "capabilityStatus": status, "subscriptionStatus": "ACTIVE",
        "playProtection": {"status": "DISABLED"}}]}
        for name, short, status in _services(v, canada)]


def privilege_ids(v: Vehicle, canada: bool) -> list[str]:
    return [f"{name}:ALL" for name, _short, status in _services(v, canada)
            if status != "NOT_APPLICABLE" or name == "SPIN"]


def garage(account: Account, canada: bool) -> dict[str, Any]:
    vehicles = [{
        "vehicleId": v.vehicle_id, "vin": v.vin, "modelName": v.model_name,
        "modelYear": int(v.model_year), "modelCode": v.model_code, "tspProvider": tsp(v),
        "vehicleNickName": v.model_name,
        "representativeImgURLComplete": f"https://images.example.invalid/{v.model_desc}.png",
        "carnetEnabled": True, "carnetUserRole": "PRIMARY", "activation": {"status": "ACTIVE"},
        "status": "ACTIVE", "engineType": "BEV" if v.ev else "ICE", "platform": v.platform,
    } for v in account.vehicles]
    return {"data": {
        "profileStatus": "COMPLETE",
        "spinStatus": "LOCKED" if account.pin_locked else "ACTIVE",
        "user": {"userId": account.user_id, "vwId": account.vw_id, "email": account.email,
                 "firstName": account.first_name, "lastName": account.last_name,
                 "countryOfResidence": "CA" if canada else "US"},
        "vehicles": vehicles,
    }}


def status(v: Vehicle) -> dict[str, Any]:
    """``/rvs/v1/vehicle/<id>`` for the myVW app: the Car-Net shape and its extras."""
    body = payloads.status(v)
    data = body["data"]
    ms = data["timestamp"]
    exterior = data["exteriorStatus"]
    exterior["doorStatus"].update(leftCargo="NOTAVAILABLE", rightCargo="NOTAVAILABLE",
                                  doorStatusTimestamp=ms)
    exterior["doorLockStatus"]["doorLockStatusTimestamp"] = ms
    windows = exterior["windowStatus"]
    windows.update(sunRoof=windows.pop("sunroof"), rearSunRoof="NOTAVAILABLE",
                   convertibleTop="NOTAVAILABLE", windowStatusTimestamp=ms)
    exterior["lightStatus"].update(parking="OFF", tail="OFF", fog="OFF")
    data["lastParkedLocation"]["timestamp"] = ms
    data["currentMileage"] = _km(v, v.mileage)  # kilometres, whatever the car shows
    data.update(clampState="OFF", clampStateTimestamp=ms, platform=v.platform,
                instrumentCluserTime=_iso(v.timestamp))
    return body


def _charge_state(v: Vehicle) -> str:
    if v.charging:
        return "chargingHVBattery"
    if not v.plugged_in:
        return "notReadyForCharging"
    if (v.battery_level or 0) >= v.target_soc:
        return "chargePurposeReachedAndNotConservationCharging"
    return "readyForCharging"


def charge_settings(v: Vehicle, auto_unlock: str) -> dict[str, Any]:
    return {"maxChargingCurrent": "max" if v.max_charge_current == "max" else "reduced",
            "autoUnlockPlugWhenCharged": auto_unlock,
            "targetSOCPercentage": v.target_soc, "chargeModeSelection": "manual"}


def charge_blocks(v: Vehicle, auto_unlock: str) -> dict[str, Any]:
    level = v.battery_level or 0.0
    range_km = _km(v, level / 100.0 * v.full_range)
    rate_kmh = _km(v, v.charge_rate() * 60 / 100.0 * v.full_range) if v.charging else 0
    return {
        "carCapturedTimestamp": _iso(v.timestamp),
        # "status" of both blocks: the sources name the field but show no value
        "batteryStatus": {"currentSOCPct": int(level),
                          "cruisingRange": {"engineType": "electric", "range": range_km},
                          "status": "VALID"},
        "chargingStatus": {"currentChargeState": _charge_state(v),
                           "chargeType": "ac" if v.charging else "invalid",
                           "chargeMode": "manual", "chargePower": v.charge_power(),
                           "chargeRate": rate_kmh,
                           "remainingChargingTimeToComplete": v.minutes_to_full(),
                           "chargeTargetTime": None, "status": "VALID"},
        "plugStatus": {"plugConnectionState": "connected" if v.plugged_in else "disconnected",
                       "plugLockState": "locked" if v.plugged_in else "unlocked",
                       "infrastructureState": "ready" if v.plugged_in else "unavailable"},
        "chargeSettings": charge_settings(v, auto_unlock),
    }


def temperature(value: float, account_unit: str, unit: str) -> float:
    """A temperature in the account's unit ("F"/"C") expressed in ``unit``."""
    if account_unit == unit:
        return value
    if unit == "C":  # the app's steps: half degrees Celsius, whole degrees Fahrenheit
        return math.floor((value - 32) * 5 / 9 * 2 + 0.5) / 2
    return float(math.floor(value * 9 / 5 + 32 + 0.5))


def unit_of(query: dict[str, str], account: Account) -> str:
    asked = query.get("tempUnit", "").lower()
    return {"celsius": "C", "fahrenheit": "F"}.get(asked, account.temperature_unit)


def climate_settings(v: Vehicle, account: Account, unit: str,
                     elements: dict[str, bool]) -> dict[str, Any]:
    return {"targetTemperature": {
        "temperature": temperature(v.target_temperature, account.temperature_unit, unit),
        "unit": "celsius" if unit == "C" else "fahrenheit", "measurementState": "valid"},
        "climatizationWithoutExternalPower": v.unplugged_climate,
        "climatizationElementSettings": dict(elements)}


def climate_report(v: Vehicle, now: float) -> dict[str, Any]:
    remaining = 0
    if v.climate_on:
        remaining = math.ceil(max(0.0, (v.climate_off_at or now) - now) / 60.0)
    return {"climateStatusInd": "on" if v.climate_on else "off",
            "remainingClimatizationTimeMin": remaining,
            "trigger": "remote" if v.climate_on else "off"}


def window_heating(v: Vehicle) -> dict[str, Any]:
    state = "on" if v.defrost_on else "off"
    return {"windowHeatingStatus": [{"windowLocation": "front", "windowHeatingState": state},
                                    {"windowLocation": "rear", "windowHeatingState": state}]}
