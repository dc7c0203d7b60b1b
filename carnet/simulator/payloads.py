"""The JSON bodies of the read endpoints, shaped as the API description shows them."""

from __future__ import annotations

import logging
from typing import Any

from carnet.simulator.accounts import Account
from carnet.simulator.vehicle import LOCKABLE_DOORS, NA, Vehicle

_LOG = logging.getLogger(__name__)

_PRIORITY_LEGEND = [
    {"priorityCode": "A",
     "priorityDescription": "Red - Stop! Do not drive vehicle, get professional assistance"},
    {"priorityCode": "B",
     "priorityDescription": "Yellow - Please see your authorized Volkswagen dealer or an "
                            "authorized Volkswagen Service Facility for needed repair or "
                            "adjustment"},
    {"priorityCode": "C",
     "priorityDescription": "Blue - Please see your authorized Volkswagen dealer or an "
                            "authorized Volkswagen Service Facility for regular service and "
                            "maintenance"},
    {"priorityCode": "D", "priorityDescription": "Green - Vehicle OK"},
    {"priorityCode": "E", "priorityDescription": "White"},
]
_CATEGORIES = [
    ("DRVR_ASSIST_SYS", "Driver Assistance Systems"),
    ("ELECTRIC_SYS", "Electric System"),
    ("ENG_TRANS_PWTR", "Engine & Transmission & Powertrain"),
    ("TIRES_BRAKES", "Tires & Brakes"),
]
_PRIVILEGES = ["REMOTE_LOCK_UNLOCK", "REMOTE_HONK_FLASH", "VEHICLE_HEALTH_REPORT",
               "LAST_PARKED_LOCATION", "REMOTE_STATUS", "CLIMATE", "CHARGING"]


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def enrollment(account: Account, now: float) -> dict[str, Any]:
    """``GET /account/v1/enrollment/status``: the profile and every enrolled vehicle."""
    customer = {
        "userId": account.user_id,
        "vwId": account.vw_id,
        "uuid": account.user_id,
        "firstName": account.first_name,
        "lastName": account.last_name,
        "preferredLanguage": "English",
        "birthDate": "1970-01-01",
        "address": {"street1": "1 Main Street", "city": "Herndon", "state": "VA",
                    "zipCode": "20171", "country": "US"},
        "phones": [{"phoneType": "MOBILE", "number": "5555550100", "primary": True}],
        "emails": [{"emailType": "PRIMARY", "email": account.email, "verified": True}],
        "temperatureUnit": "FAHRENHEIT" if account.temperature_unit == "F" else "CELSIUS",
        "updatedAt": _ms(now) - 86_400_000,
    }
    statuses = []
    for v in account.vehicles:
        statuses.append({
            "vehicleId": v.vehicle_id,
            "carName": {},
            "associationStatus": "ASSOCIATION_VERIFIED",
            "enrollmentStatus": "ENROLLED",
            "vehicle": {
                "vin": v.vin,
                "vehicleId": v.vehicle_id,
                "brand": "VW",
                "modelName": v.model_name,
                "modelYear": v.model_year,
                "modelCode": v.model_code,
                "modelDesc": v.model_desc,
                "stolenFlag": "N",
                "tspProvider": v.tsp_provider,
                "engineType": "BEV" if v.ev else "ICE",
                "ocuSim": {"imei": v.imei, "defaultMno": "Verizon"},
                "vehicleCapabilities": {
                    "remoteLockUnlock": True, "remoteHonkFlash": True,
                    "remoteClimate": v.ev, "remoteCharging": v.ev,
                },
            },
            "rolesAndRights": {
                "vehicleId": v.vehicle_id,
                "userId": account.user_id,
                "role": "PRIMARY",
                "tspAccountNum": v.tsp_account,
                "tspProvider": v.tsp_provider,
                "privileges": _PRIVILEGES if v.ev else _PRIVILEGES[:5],
                "enrollmentDate": _ms(now) - 400 * 86_400_000,
            },
            "subscriptionStatus": "ACTIVE",
        })
    return {"data": {"customer": customer, "vehicleEnrollmentStatus": statuses}}


def status(v: Vehicle) -> dict[str, Any]:
    """``GET /rvs/v1/vehicle/<vehicleId>``."""
    lock = "LOCKED" if v.locked else "UNLOCKED"
    door_locks = {d: (lock if v.doors.get(d) != "UNSUPPORTED" else "UNSUPPORTED")
                  for d in LOCKABLE_DOORS}
    closed = all(s != "OPEN" for s in v.doors.values()) and \
        all(s not in ("OPEN", "VENTED") for s in v.windows.values())
    if v.ev and v.battery_level is not None:
        level = int(v.battery_level)
        cruise = round(v.battery_level / 100.0 * v.full_range)
        battery: dict[str, Any] = {
            "chargePercentRemaining": level,
            "minutesUntilFullCharge": v.minutes_to_full(),
            "chargePlug": "PLUGGEDIN" if v.plugged_in else "UNPLUGGED",
            "triggeredByTimer": "false",
        }
        fuel: Any = 0  # an EV reports 0 % fuel, not NOTAVAILABLE (the e-Golf of the description)
    else:
        cruise = round((v.fuel_level or 0) / 100.0 * v.full_range)
        battery = {"chargePercentRemaining": NA, "minutesUntilFullCharge": NA,
                   "chargePlug": NA, "triggeredByTimer": NA}
        fuel = v.fuel_level
    return {"data": {
        "vehicleId": v.vehicle_id,
        "currentMileage": v.mileage,
        "nextMaintenanceMilestone": {"mileageInterval": 0, "absoluteMileage": v.next_service},
        "timestamp": _ms(v.timestamp),
        "exteriorStatus": {
            "secure": "SECURE" if v.locked and closed else "INSECURE",
            "doorStatus": dict(v.doors),
            "doorLockStatus": door_locks,
            "windowStatus": dict(v.windows),
            "lightStatus": dict(v.lights),
        },
        "powerStatus": {
            "cruiseRange": cruise,
            "fuelPercentRemaining": fuel,
            "cruiseRangeUnits": v.units,
            "cruiseRangeFirst": cruise,
            "battery": battery,
        },
        "location": dict(v.location),
        "lastParkedLocation": dict(v.last_parked),
        "lockStatus": lock,
    }}


def health(v: Vehicle) -> dict[str, Any]:
    """``GET /vhs/v2/vehicle/<vehicleId>``: the vehicle health report."""
    km = v.units == "KM"
    return {"data": {
        "odoReadCount": v.mileage,
        "odoUOM": "km" if km else "mi",
        "vehicleId": v.vehicle_id,
        "vhrTimeStamp": _ms(v.vhr_timestamp),
        "overallPriorityCode": "D",
        "overAllPriorityDescription": "ALL_GOOD",
        "applicableCategories": [
            {"categoryCode": code, "categoryDesc": desc, "categoryPriorityCode": "D",
             "diagnosticMessages": []}
            for code, desc in _CATEGORIES
        ],
        "vhrMaintEvents": [{
            "distance": max(0, v.next_service - v.mileage),
            "daysCount": v.service_days,
            "eventStatusCode": "2",
            "eventStatusDesc": "Service in",
            "eventType": "INSPECTION",
            "eventTypeDesc": "Service inspection",
            "uom": "km" if km else "mi",
            "uomDesc": "Kilometer" if km else "Mile",
        }],
        "priorityCodeLegend": [dict(entry) for entry in _PRIORITY_LEGEND],
    }}


def climate_details(v: Vehicle) -> dict[str, Any]:
    """``PUT .../status/climate/details``: temperatures in the account's unit."""
    return {"data": {
        "outdoor_temperature": v.outdoor_temperature,
        "target_temperature": v.target_temperature,
        "climate_on": v.climate_on,
        "defrost_on": v.defrost_on,
        "unplugged_climate_control_enabled": v.unplugged_climate,
        "triggered_by_timer": False,
    }}
