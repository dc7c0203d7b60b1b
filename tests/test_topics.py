"""Topic names: built in one place, wildcards and empty levels refused."""

from __future__ import annotations

import pytest

from carnet.mqtt.topics import Topics, check_topic, vehicle_topic_name


@pytest.fixture
def topics() -> Topics:
    return Topics("carnet2mqtt")


def test_bridge_topics(topics: Topics) -> None:
    assert topics.bridge_state == "carnet2mqtt/bridge/state"
    assert topics.bridge_info == "carnet2mqtt/bridge/info"
    assert topics.bridge_request("refresh") == "carnet2mqtt/bridge/request/refresh"
    assert topics.bridge_response("health_refresh") == "carnet2mqtt/bridge/response/health_refresh"
    assert topics.bridge_request_filter == "carnet2mqtt/bridge/request/+"
    assert topics.parse_bridge_request("carnet2mqtt/bridge/request/poll") == "poll"
    assert topics.parse_bridge_request("carnet2mqtt/bridge/request/a/b") is None
    assert topics.parse_bridge_request("other/bridge/request/poll") is None


def test_vehicle_topics(topics: Topics) -> None:
    assert topics.vehicle("egolf") == "carnet2mqtt/egolf"
    assert topics.availability("egolf") == "carnet2mqtt/egolf/availability"
    assert topics.attribute("egolf", "lock") == "carnet2mqtt/egolf/lock"
    assert topics.attribute_set("egolf", "lock") == "carnet2mqtt/egolf/lock/set"
    assert topics.attribute_details("egolf", "health") == "carnet2mqtt/egolf/health/attributes"
    assert topics.vehicle_set("egolf") == "carnet2mqtt/egolf/set"
    assert topics.result("egolf") == "carnet2mqtt/egolf/result"
    assert topics.set_filters() == ("carnet2mqtt/+/set", "carnet2mqtt/+/+/set")


def test_multi_level_base() -> None:
    topics = Topics("home/cars")
    assert topics.attribute_set("golf-1", "charging") == "home/cars/golf-1/charging/set"
    assert topics.parse_set("home/cars/golf-1/charging/set") == ("golf-1", "charging")
    assert topics.parse_set("home/cars/golf-1/set") == ("golf-1", None)


def test_parse_set(topics: Topics) -> None:
    assert topics.parse_set("carnet2mqtt/egolf/lock/set") == ("egolf", "lock")
    assert topics.parse_set("carnet2mqtt/egolf/set") == ("egolf", None)
    for other in (
        "carnet2mqtt/egolf/lock",
        "carnet2mqtt/egolf",
        "carnet2mqtt/egolf/lock/set/set",
        "carnet2mqtt/bridge/set",
        "carnet2mqtt/bridge/request/set",
        "carnet2mqtt//lock/set",
        "carnet2mqtt/EGolf/lock/set",
        "carnet2mqtt/egolf/Lock/set",
        "other/egolf/lock/set",
        "carnet2mqttx/egolf/lock/set",
        "",
    ):
        assert topics.parse_set(other) is None, other


def test_discovery_topics() -> None:
    topics = Topics("carnet2mqtt", "homeassistant")
    assert topics.ha_status == "homeassistant/status"
    assert (topics.discovery_component("sensor", "carnet2mqtt_vin1", "range")
            == "homeassistant/sensor/carnet2mqtt_vin1/range/config")
    assert (topics.discovery_device("carnet2mqtt_vin1")
            == "homeassistant/device/carnet2mqtt_vin1/config")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("egolf", "egolf"), ("WVWZZZAUZGW000001", "wvwzzzauzgw000001"), ("My e-Golf!", "my_e-golf"),
     ("Käfer", "kafer"), ("  two  words ", "two_words"), ("bridge", "bridge_"),
     ("a/b+c#d", "a_b_c_d")],
)
def test_vehicle_topic_name(given: str, expected: str) -> None:
    assert vehicle_topic_name(given) == expected


@pytest.mark.parametrize("nothing", ["", "   ", "!!!", "#+/"])
def test_vehicle_topic_name_needs_letters(nothing: str) -> None:
    with pytest.raises(ValueError):
        vehicle_topic_name(nothing)


@pytest.mark.parametrize(
    "build",
    [
        lambda t: t.attribute("egolf", "+"),
        lambda t: t.attribute("egolf", "#"),
        lambda t: t.attribute("e/golf", "lock"),
        lambda t: t.attribute("", "lock"),
        lambda t: t.vehicle("bridge"),
        lambda t: t.bridge_request("a/b"),
        lambda t: t.bridge_response("+"),
        lambda t: t.discovery_component("sensor", "node", "a+b"),
        lambda t: t.discovery_device("x#"),
    ],
)
def test_wildcards_and_empty_levels_refused(topics: Topics, build) -> None:
    with pytest.raises(ValueError):
        build(topics)


@pytest.mark.parametrize("base", ["", "a/+", "a/#", "a//b", "/a", "a/"])
def test_bad_base_refused(base: str) -> None:
    with pytest.raises(ValueError):
        Topics(base)


def test_check_topic() -> None:
    assert check_topic("a/b") == "a/b"
    with pytest.raises(ValueError):
        check_topic("a\0b")
