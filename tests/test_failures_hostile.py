"""Hostile MQTT input against a running bridge: garbage never stops it or reaches the car."""

from __future__ import annotations

import json
import logging
import threading
from itertools import count

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from carnet.catalog.commands import Command, parse_set, parse_vehicle_set
from carnet.catalog.table import ENTITIES
from carnet.vendor.carnet_app.vehicles import CAPABILITIES
from tests.support.failures import BASE, wait_online

KNOWN = ("egolf", "jetta")
ATTRIBUTES = [e.key for e in ENTITIES]

deep_json = st.integers(min_value=5, max_value=20000).map(
    lambda depth: ("[" * depth + "]" * depth).encode()
)
deep_object = st.integers(min_value=5, max_value=3000).map(
    lambda depth: ('{"lock": ' + '{"state": ' * depth + '"UNLOCK"' + "}" * depth + "}").encode()
)
numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e999", "-1e999", "NaN", "Infinity", "-0", "0x10", "1_000", "٣"]),
).map(str.encode)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
json_documents = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from([*ATTRIBUTES, "transaction", "code", "nope", "🚗"]),
                    json_values, max_size=5),
).map(lambda value: json.dumps(value).encode())
payloads = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=64).map(lambda b: b"\xff\xfe\xc3" + b),  # never valid UTF-8
    st.just(b"x" * 1_000_000),
    st.just(b'{"lock": "' + b"A" * 1_000_000 + b'"}'),
    deep_json,
    deep_object,
    numbers,
    json_documents,
    st.text(max_size=40).map(str.encode),
)
# Unicode levels the broker accepts: it drops a client that sends control characters or
# non-characters in a topic, so those never reach the bridge.
level = st.text(
    alphabet=st.characters(blacklist_characters="/+#", blacklist_categories=("Cs", "Cc", "Cn")),
    min_size=0,
    max_size=12,
)
topics = st.one_of(
    st.tuples(st.sampled_from(KNOWN), st.sampled_from([*ATTRIBUTES, "nope", "bridge"])).map(
        lambda t: f"{BASE}/{t[0]}/{t[1]}/set"
    ),
    st.sampled_from(KNOWN).map(lambda v: f"{BASE}/{v}/set"),
    st.tuples(level, level).map(lambda t: f"{BASE}/{t[0]}/{t[1]}/set"),
    level.map(lambda v: f"{BASE}/{v}/set"),
    st.lists(level, min_size=3, max_size=30).map(lambda ls: f"{BASE}/" + "/".join(ls) + "/set"),
    st.sampled_from(["poll", "refresh", "health_refresh", "nope", "ünï"]).map(
        lambda a: f"{BASE}/bridge/request/{a}"
    ),
)


def could_be_a_command(topic: str, payload: bytes) -> bool:
    """Whether the parser would accept it: such a message is allowed to reach the car.
    Parsed as the bridge parses it for the demo's Car-Net cars (amps map to a current)."""
    levels = topic.split("/")
    currents = CAPABILITIES.charge_currents
    if levels[-1] == "set" and len(levels) == 3:
        parsed = parse_vehicle_set(levels[1], payload, charge_currents=currents)
    elif levels[-1] == "set" and len(levels) == 4:
        parsed = [parse_set(levels[1], levels[2], payload, charge_currents=currents)]
    else:
        text = payload.decode("utf-8", "replace").strip()
        return any(name in text for name in KNOWN)  # a bridge request for a real vehicle
    return any(isinstance(item, Command) for item in parsed)


@pytest.mark.slow(6)
def test_hostile_input_never_reaches_the_car(make_config, run_bridge, probe, sim, caplog):
    caplog.set_level(logging.WARNING)
    bridge = run_bridge(make_config())
    wait_online(probe, *KNOWN)
    sim.clear_requests()
    sequence = count()

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                HealthCheck.data_too_large],
    )
    @given(topic=topics, payload=payloads)
    def publish_garbage(topic: str, payload: bytes) -> None:
        assume(not could_be_a_command(topic, payload))
        marker = f"sentinel-{next(sequence)}"
        logged = len(caplog.records)
        probe.clear()
        probe.publish(topic, payload)
        # The dispatcher is serial: once the sentinel's result is out, so is the garbage's.
        probe.publish(f"{BASE}/egolf/lock/set", marker)
        probe.wait_for(
            lambda m: m.topic == f"{BASE}/egolf/result" and json.loads(m.payload)["value"] == marker
        )
        answers = [
            json.loads(m.payload)
            for m in probe.messages
            if m.topic.endswith("/result") and m.topic.startswith(f"{BASE}/")
        ][:-1]
        assert all(a["status"] == "rejected" for a in answers), answers
        target = bridge.topics.parse_set(topic)
        if target is not None and target[0] in KNOWN:
            attribute = target[1]
            if attribute is None:
                assert len(answers) >= 1, (topic, answers)
            else:
                assert len(answers) == 1, (topic, answers)
            assert all(a["attribute"] != "" or attribute is None for a in answers)
        elif topic.startswith(f"{BASE}/bridge/request/"):
            assert answers == []
        else:
            assert answers == [], (topic, answers)
            delivered = topic.count("/") <= 3  # the bridge subscribes to two set levels
            if delivered:
                lines = [r.getMessage() for r in caplog.records[logged:]]
                assert any("ignoring" in line for line in lines), (topic, lines)
        assert bridge.link.connected.is_set()

    publish_garbage()

    # Nothing reached a command endpoint, and every worker is still there.
    assert sim.commands() == []
    assert len(sim.requests("/session")) == 0 or all(
        r["path"].endswith("/session") for r in sim.requests("/session")
    )
    names = {t.name for t in threading.enumerate() if t.is_alive()}
    assert {"dispatcher", "scheduler"} <= names
    assert any(n.startswith("reads-") for n in names)
    # And the bridge still answers a real command (its command worker starts with it).
    probe.clear()
    probe.publish(f"{BASE}/jetta/horn_lights/set", "LIGHTS")
    done = probe.wait_for(lambda m: m.topic == f"{BASE}/jetta/result")
    assert json.loads(done[0].payload)["status"] == "ok"
    assert any(t.name.startswith("commands-") for t in threading.enumerate())
