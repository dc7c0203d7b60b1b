"""The charge blocks carry every field the facts file lists, ``status`` included."""

from __future__ import annotations

from tests.test_simulator_myvw_support import MyvwClient
from tests.test_simulator_support import EV_VIN, make_sim

BATTERY = {"currentSOCPct", "cruisingRange", "status"}
CHARGING = {"currentChargeState", "chargeType", "chargeMode", "chargePower", "chargeRate",
            "remainingChargingTimeToComplete", "chargeTargetTime", "status"}


def test_charge_blocks_have_their_status() -> None:
    with make_sim() as sim:
        client = MyvwClient(sim).login()
        vid = client.vid(EV_VIN)
        summary = client.get(f"/ev/v1/vehicle/{vid}/charge/summary").json()["data"]
        t2 = client.get(f"/ev/v1/user/{client.user_id}/vehicle/{vid}/summary",
                        token=client.vehicle_token(EV_VIN), tempUnit="fahrenheit")
        assert t2.status_code == 200, t2.text
        for blocks in (summary, t2.json()["data"]["batteryAndPlugStatus"]):
            assert set(blocks["batteryStatus"]) == BATTERY
            assert set(blocks["chargingStatus"]) == CHARGING
            assert blocks["batteryStatus"]["status"] == "VALID"
            assert blocks["chargingStatus"]["status"] == "VALID"
