"""The paho wrapper against a real mosquitto: failing handlers, the network thread, TLS."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from carnet.config import MqttConfig, TlsConfig
from carnet.mqtt.link import Inbound, MqttLink
from carnet.runtime.daemon import wait_until
from tests.support.broker import Broker
from tests.support.certs import _certificate, _write_key
from tests.support.mqtt_probe import Probe

STATE = "linktest/bridge/state"


def link_to(port: int, on_message=lambda m: None, on_connected=lambda: None, **options) -> MqttLink:
    config = MqttConfig(host="127.0.0.1", port=port, client_id="link-test", **options)
    return MqttLink(config, STATE, on_message, on_connected)


@pytest.fixture
def links() -> Iterator[list[MqttLink]]:
    started: list[MqttLink] = []
    yield started
    for link in started:
        link.stop(timeout=2)


@pytest.mark.slow(5)
def test_a_failing_handler_does_not_stop_later_messages(broker: Broker, links, caplog) -> None:
    received: list[bytes] = []
    connects: list[int] = []

    def on_message(message: Inbound) -> None:
        if message.payload == b"boom":
            raise RuntimeError("handler failed")
        received.append(message.payload)

    def on_connected() -> None:
        connects.append(1)
        raise RuntimeError("connect handler failed")

    link = link_to(broker.port, on_message, on_connected)
    link.subscribe("linktest/in")
    link.start()
    links.append(link)
    assert link.connected.wait(5)
    assert wait_until(lambda: connects, 5)
    probe = Probe(broker.port, "linktest/none", client_id="sender")
    try:
        time.sleep(0.2)  # the link's subscription is in place
        probe.publish("linktest/in", "boom")
        probe.publish("linktest/in", "after")
        assert wait_until(lambda: received == [b"after"], 5), received
    finally:
        probe.close()
    assert "handler failed" in caplog.text and "connect handler failed" in caplog.text
    assert link.alive()

    # The reconnect still works after both handlers failed.
    broker.restart()
    assert wait_until(lambda: len(connects) >= 2 and link.connected.is_set(), 20)
    assert link.alive()
    link.stop(timeout=2)
    links.remove(link)
    assert not link.alive()


def test_a_dead_mqtt_thread_stops_the_heartbeat(make_config, run_bridge) -> None:
    config = make_config()
    bridge = run_bridge(config)
    heartbeat = Path(config.state_dir) / "heartbeat"
    assert wait_until(heartbeat.exists, 5)
    assert bridge.link.alive()
    bridge.link._client.loop_stop()  # the network thread ends; nothing else does
    assert not bridge.link.alive()
    heartbeat.unlink()
    bridge.beat()
    assert not heartbeat.exists()


# --- TLS: insecure skips the host-name check, never the chain ---------------------------------


def _ca(directory: Path, name: str) -> tuple[ec.EllipticCurvePrivateKey, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    path = directory / f"{name}.pem"
    certificate = _certificate(name, key, name, key, True)
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key, path


@pytest.fixture
def wrong_name_tls(tmp_path: Path) -> Iterator[tuple[Broker, Path, Path]]:
    """A broker whose certificate names another host; its CA, and an unrelated CA."""
    ca_key, ca = _ca(tmp_path, "trusted CA")
    _, other_ca = _ca(tmp_path, "unrelated CA")
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(
        "broker.example", server_key, "trusted CA", ca_key, False,
        [x509.DNSName("broker.example")],
    )
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    _write_key(server_key, key)
    assert server.not_valid_after_utc > datetime.datetime.now(datetime.UTC)
    broker = Broker(extra_config=f"certfile {cert}\nkeyfile {key}\n").start()
    yield broker, ca, other_ca
    broker.close()


def _connects(link: MqttLink, links: list[MqttLink], timeout: float) -> bool:
    link.start()
    links.append(link)
    return link.connected.wait(timeout)


def test_tls_insecure_skips_only_the_host_name_check(wrong_name_tls, links) -> None:
    broker, ca, _ = wrong_name_tls
    strict = link_to(broker.port, tls=TlsConfig(enabled=True, ca_certs=str(ca)))
    assert not _connects(strict, links, 2)  # 127.0.0.1 is not broker.example
    insecure = link_to(broker.port, tls=TlsConfig(enabled=True, ca_certs=str(ca), insecure=True))
    assert _connects(insecure, links, 5)


def test_tls_insecure_still_verifies_the_certificate_chain(wrong_name_tls, links) -> None:
    broker, _, other_ca = wrong_name_tls
    untrusted = link_to(
        broker.port, tls=TlsConfig(enabled=True, ca_certs=str(other_ca), insecure=True)
    )
    assert not _connects(untrusted, links, 3)
    assert untrusted.alive()  # refused, and still retrying


def test_connect_and_stop_leave_no_thread_behind(broker: Broker, links) -> None:
    link = link_to(broker.port)
    assert not link.alive()  # not started yet
    assert _connects(link, links, 5)
    thread_names = {t.name for t in threading.enumerate()}
    assert any(name.startswith("paho-mqtt-client-") for name in thread_names)
    link.stop(timeout=2)
    links.remove(link)
    assert not link.alive()


@pytest.mark.slow(8)
def test_a_burst_larger_than_any_queue_cap_arrives_whole():
    """A fleet's start-up publishes thousands of retained messages at once: none is lost."""
    from carnet.config import MqttConfig
    from carnet.mqtt.link import MqttLink
    from tests.support.broker import Broker
    from tests.support.mqtt_probe import Probe

    # The broker keeps everything for the slow reader, so a gap can only be the bridge's.
    broker = Broker(extra_config="max_queued_messages 0\n").start()
    probe = Probe(broker.port, "burst/#", client_id="burst-reader")
    link = MqttLink(MqttConfig(host="127.0.0.1", port=broker.port, client_id="burst-writer"),
                    "burst-bridge/state", lambda message: None, lambda: None)
    link.start()
    try:
        assert link.connected.wait(5)
        for i in range(12000):
            link.publish(f"burst/{i}", str(i))
        assert link.flush(60)
        probe.wait_for(lambda m: m.topic.startswith("burst/"), count=12000, timeout=60)
    finally:
        link.stop()
        probe.close()
        broker.close()


def test_a_message_the_broker_refuses_is_sent_again_then_reported(
    tmp_path: Path, links, caplog
) -> None:
    """MQTT 5: a PUBACK with a failure reason code is a failed delivery, not a success."""
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite linktest/#\n")
    acl.chmod(0o644)
    broker = Broker(extra_config=f"acl_file {acl}\n").start()
    try:
        link = link_to(broker.port, qos=1)
        link.start()
        links.append(link)
        assert link.connected.wait(5)
        link.publish("denied/topic", "x")
        link.publish("linktest/after", "y", retain=True)
        assert link.flush(10)
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert any("denied/topic refused 10 times" in e and "Not authorized" in e for e in errors)
        probe = Probe(broker.port, "linktest/after", client_id="reader")
        try:
            assert probe.wait_topic("linktest/after", timeout=5).text == "y"
        finally:
            probe.close()
        link.stop(timeout=2)
        links.remove(link)
    finally:
        broker.close()
