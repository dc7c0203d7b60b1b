"""``python -m carnet.simulator``: run the Car-Net simulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import threading

from carnet.simulator.accounts import DEMO_COMBUSTION_VIN, DEMO_EV_VIN, DEMO_ID4_VIN
from carnet.simulator.options import (
    ATTESTATION_MODES,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_PIN,
    REGIONS,
    SimulatorOptions,
)
from carnet.simulator.server import Simulator

_LOG = logging.getLogger(__name__)


def _fleet(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)[xX](\d+)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError("expected AxV, e.g. 10x3")
    return int(match.group(1)), int(match.group(2))


def parse_args(argv: list[str] | None = None) -> SimulatorOptions:
    p = argparse.ArgumentParser(prog="python -m carnet.simulator",
                                description="Simulate the Volkswagen Car-Net cloud locally.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on [127.0.0.1]")
    p.add_argument("--port", type=int, default=8765, help="API host port [8765]; 0: any free")
    p.add_argument("--identity-port", type=int, default=8766,
                   help="identity (sign-in) host port [8766]; 0: any free")
    p.add_argument("--apply-delay", type=float, default=20.0,
                   help="simulated seconds before a command changes the car [20]")
    p.add_argument("--latency", type=float, default=0.0,
                   help="seconds before a command endpoint answers [0]")
    p.add_argument("--token-ttl", type=float, default=1800.0, help="access/id token life [1800]")
    p.add_argument("--tsp-ttl", type=float, default=2700.0, help="TSP token life [2700]")
    p.add_argument("--code-ttl", type=float, default=60.0, help="authorization code life [60]")
    p.add_argument("--rate-limit", type=int, default=7,
                   help="Car-Net app (/mps/) requests with a TSP token per account per "
                        "minute [7]")
    p.add_argument("--myvw-command-limit", type=int, default=20,
                   help="accepted myVW app commands per account per minute [20]")
    p.add_argument("--daily-budget", type=int, default=500,
                   help="TSP-token requests per account per rolling 24 h [500]")
    p.add_argument("--wakeup-limit", type=int, default=10,
                   help="status/fresh per vehicle in a row before the car stops answering "
                        "[10]; 0: no limit")
    p.add_argument("--wakeup-window", type=float, default=21_600.0,
                   help="simulated seconds over which wake-ups in a row count [21600]")
    p.add_argument("--fleet", type=_fleet, default=None, metavar="AxV",
                   help="add A accounts fleet-<i>@example.com with V vehicles each")
    p.add_argument("--accounts-file", default=None, help="YAML file with more accounts")
    p.add_argument("--seed", type=int, default=0, help="seed of ids and generated state [0]")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="simulated seconds per real second, for the car's physics [1]")
    p.add_argument("--region", default="us", choices=REGIONS,
                   help="us: the myVW app's US client id; ca: the Canadian one [us]")
    p.add_argument("--attestation", default="off", choices=ATTESTATION_MODES,
                   help="present: myVW token requests need a play_integrity_token; "
                        "required: the one printed at start [off]")
    p.add_argument("--attestation-token", default="",
                   help="the play_integrity_token accepted [derived from the seed]")
    p.add_argument("--vehicle-token-ttl", type=float, default=1800.0,
                   help="myVW carnetVehicleToken life [1800]")
    p.add_argument("--ev-command-gap", type=float, default=10.0,
                   help="seconds between two myVW EV commands of one car before "
                        "EV_THRESHOLD_EXCEEDED stops [10]")
    p.add_argument("--climate-minutes", type=float, default=30.0,
                   help="simulated minutes before the car ends pre-trip climate [30]")
    p.add_argument("--id4", dest="demo_id4", action=argparse.BooleanOptionalAction,
                   default=True,
                   help="the demo account has an ID.4 (a myVW-era EV) beside the e-Golf and "
                        "the Jetta; --no-id4 leaves it out [on]")
    p.add_argument("--log-level", default="info",
                   choices=("debug", "info", "warning", "error"))
    a = p.parse_args(argv)
    logging.basicConfig(level=a.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return SimulatorOptions(
        host=a.host, port=a.port, identity_port=a.identity_port, apply_delay=a.apply_delay,
        latency=a.latency, token_ttl=a.token_ttl, tsp_ttl=a.tsp_ttl, code_ttl=a.code_ttl,
        rate_limit=a.rate_limit, myvw_command_limit=a.myvw_command_limit,
        daily_budget=a.daily_budget, fleet=a.fleet,
        accounts_file=a.accounts_file, seed=a.seed, time_scale=a.time_scale,
        wakeup_limit=a.wakeup_limit, wakeup_window=a.wakeup_window, region=a.region,
        attestation=a.attestation, attestation_token=a.attestation_token,
        vehicle_token_ttl=a.vehicle_token_ttl, ev_command_gap=a.ev_command_gap,
        climate_minutes=a.climate_minutes, demo_id4=a.demo_id4)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        sim = Simulator(options).start()
    except (OSError, ValueError) as exc:
        print(f"carnet.simulator: cannot start: {exc}", file=sys.stderr)
        return 1
    done = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"API:      {sim.api_url}", flush=True)
    print(f"Identity: {sim.identity_url}", flush=True)
    vins = [DEMO_EV_VIN, DEMO_COMBUSTION_VIN] + ([DEMO_ID4_VIN] if options.demo_id4 else [])
    print(f"Demo account: {DEMO_EMAIL} / {DEMO_PASSWORD}, PIN {DEMO_PIN} "
          f"(vehicles {', '.join(vins)})", flush=True)
    generations = sim.ctx.generations
    print(f"Car-Net app client: {generations.carnet.client_id}; myVW app client "
          f"({options.region}): {generations.myvw.client_id}", flush=True)
    if options.attestation == "required":
        # a stand-in for a genuine verdict: not a secret, it exists to be copied
        print(f"Attestation required: play_integrity_token={sim.ctx.attestation_token}",
              flush=True)
    print(f"Login starts at {sim.api_url}/oidc/v1/authorize; "
          f"inspect at {sim.api_url}/_sim/vehicles", flush=True)
    while not done.wait(0.5):
        pass
    sim.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
