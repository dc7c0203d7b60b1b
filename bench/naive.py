#!/usr/bin/env python3
"""The naive baseline: one poll the way a shell user writes it for cron.

Log in, list the vehicles, read each status, publish every field with ``mosquitto_pub``
(one process per message, retained), exit. Nothing is remembered between runs: every
poll logs in again and publishes everything again. The four login steps are borrowed
from ``carnet.vendor.carnet_app.login`` because a hand-written copy sends exactly the same requests.

Prints one JSON line: ``{"vehicles": N, "messages": M}``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from carnet.config import AccountConfig, VendorConfig
from carnet.vendor.carnet_app.errors import error_for_response
from carnet.vendor.carnet_app.login import Authenticator
from carnet.vendor.http import Http


def leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{prefix}/{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{prefix}/{index}")
    else:
        yield prefix, str(value)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True)
    parser.add_argument("--identity", required=True)
    parser.add_argument("--mqtt-port", required=True)
    parser.add_argument("--account", action="append", required=True, help="email:password")
    args = parser.parse_args()
    vendor = VendorConfig(api_base=args.api, identity_base=args.identity)
    vehicles = messages = 0
    for account in args.account:
        email, password = account.split(":", 1)
        http = Http("Car-Net", 30, error_for_response)
        tokens = Authenticator(vendor, AccountConfig(email, password), http).login()
        headers = {"Authorization": f"Bearer {tokens.access_token}"}
        session = requests.Session()
        enrollment = session.get(f"{args.api}/account/v1/enrollment/status", headers=headers,
                                 params={"idToken": tokens.id_token}, timeout=30).json()
        for entry in enrollment["data"]["vehicleEnrollmentStatus"]:
            vehicles += 1
            vin = entry["vehicle"]["vin"]
            status = session.get(f"{args.api}/rvs/v1/vehicle/{entry['vehicleId']}",
                                 headers=headers, timeout=30).json()["data"]
            for key, value in leaves(status):
                subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", args.mqtt_port, "-r",
                                "-t", f"naive/{vin}/{key}", "-m", value], check=True)
                messages += 1
    print(json.dumps({"vehicles": vehicles, "messages": messages}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
