"""The configuration's frozen dataclasses; every field is one key of
config.example.yaml, declared with its default, what it accepts and its check."""

from __future__ import annotations

from dataclasses import dataclass

from carnet.config import checks as c
from carnet.config.fields import setting
from carnet.core.topic_rules import BRIDGE

_INTERVAL = c.Rule("whole seconds, 60..86400", c.within(60, 86400))
_TOPIC = c.Rule("topic levels without +, # or a leading, trailing or double /", c.topic)
_FLAG = c.Rule("true or false")
_TEXT = c.Rule("non-empty text", c.non_empty)
_URL = c.Rule("an http(s) URL", c.url)
_GENERATIONS = ("carnet", "myvw")
_GENERATION = c.Rule(
    "carnet (the Car-Net app API) or myvw (the myVW app API)", c.one_of(*_GENERATIONS)
)


@dataclass(frozen=True)
class TlsConfig:
    enabled: bool = setting(False, _FLAG)
    ca_certs: str | None = setting(None, "a readable CA bundle file, or null for the system's")
    certfile: str | None = setting(None, "a readable client certificate file, or null")
    keyfile: str | None = setting(None, "a readable client key file, or null")
    insecure: bool = setting(False, _FLAG)


@dataclass(frozen=True)
class DiscoveryConfig:
    enabled: bool = setting(True, _FLAG)
    prefix: str = setting("homeassistant", _TOPIC)
    mode: str = setting("component", "component or device", c.one_of("component", "device"))


@dataclass(frozen=True)
class MqttConfig:
    host: str = setting("localhost", "a host name or address", c.non_empty)
    port: int = setting(1883, "a port number, 1..65535", c.within(1, 65535))
    username: str | None = setting(None, "text, or null for none")
    password: str | None = setting(None, "text, or null for none", secret=True)
    client_id: str = setting("carnet2mqtt", _TEXT)
    base_topic: str = setting("carnet2mqtt", _TOPIC)
    protocol: str = setting("5", '5 or "3.1.1"', coerce=c.as_protocol)
    qos: int = setting(1, "0, 1 or 2", c.within(0, 2))
    keepalive: int = setting(60, "whole seconds, 1..65535", c.within(1, 65535))
    output: str = setting(
        "attribute_and_json",
        "json, attribute or attribute_and_json",
        c.one_of("json", "attribute", "attribute_and_json"),
    )
    # MQTT 5 response topics the bridge answers on; any other is refused, so that a client
    # cannot make the bridge write where the client's own ACL does not reach.
    response_topics: tuple[str, ...] = setting(
        ("replies/#",),
        "a list of MQTT topic filters, such as [\"replies/#\"], or [] for none",
        c.topic_filters,
    )
    tls: TlsConfig = setting(
        factory=TlsConfig,
        accepted="a mapping with enabled, ca_certs, certfile, keyfile, insecure",
    )
    discovery: DiscoveryConfig = setting(
        factory=DiscoveryConfig, accepted="a mapping with enabled, prefix, mode"
    )


@dataclass(frozen=True)
class VendorConfig:
    # The API generation of every account that does not name its own.
    api: str = setting("carnet", _GENERATION)
    region: str = setting("us", "us or ca", c.one_of("us", "ca"))
    # null: the API generation's own value (its package in carnet/vendor/ holds them).
    # client_id, redirect_uri and user_agent apply to the accounts of ``api``'s generation
    # only: an app's identity means nothing to the other generation's service.
    api_base: str | None = setting(None, _URL)
    identity_base: str | None = setting(None, _URL)
    client_id: str | None = setting(None, _TEXT)
    redirect_uri: str | None = setting(None, _TEXT)
    user_agent: str | None = setting(None, _TEXT)
    token_helper: str | None = setting(None, "a command line, or null", secret=True)
    timeout: float = setting(30.0, c.seconds(1, 300))
    # The first wait after a refused login; doubles up to login_retry_max.
    login_retry: float = setting(900.0, c.seconds(60, 86400))
    login_retry_max: float = setting(21600.0, c.seconds(60, 86400, ", not less than login_retry"))


@dataclass(frozen=True)
class VehicleConfig:
    name: str | None = setting(
        None,
        f"lower-case letters, digits, _ and - but not '{BRIDGE}', or null for the VIN",
        c.vehicle_name,
    )
    poll_interval: int | None = setting(
        None, "whole seconds, 60..86400, or null for polling.interval", c.within(60, 86400)
    )
    enabled: bool = setting(True, _FLAG)


@dataclass(frozen=True)
class AccountConfig:
    email: str = setting(accepted="the login e-mail address of the account", check=c.email)
    password: str = setting(
        accepted="the account's password, non-empty text", check=c.non_empty, secret=True
    )
    pin: str | None = setting(
        None, 'digits only, quoted like "1234", or null for read-only', c.pin, secret=True
    )
    api: str | None = setting(
        None, "carnet, myvw, or null for carnet.api", c.one_of(*_GENERATIONS)
    )
    # The unit of the account's climate settings.
    temperature_unit: str = setting("auto", "auto, F or C", c.one_of("auto", "F", "C"))
    vehicles: dict[str, VehicleConfig] = setting(  # keyed by VIN or vehicleId
        factory=dict, accepted="a mapping of VIN or vehicleId to name, poll_interval, enabled"
    )


@dataclass(frozen=True)
class PollingConfig:
    interval: int = setting(600, _INTERVAL)
    active_interval: int = setting(120, _INTERVAL)
    health_interval: int = setting(
        86400, "whole seconds, 3600..604800", c.within(3600, 604800)
    )
    wakeups_per_day: int = setting(6, "a whole number, 0..48 (0: never)", c.within(0, 48))
    # The longest the daily budget may stretch the poll interval.
    max_interval: int = setting(3600, "whole seconds, 600..86400", c.within(600, 86400))


@dataclass(frozen=True)
class LimitsConfig:
    # All vendor requests of one account in a rolling 24 h. Owners report Car-Net blocking
    # at roughly 480-550 a day; 400 keeps a margin for the phone app.
    daily_requests: int = setting(400, "a whole number, 50..100000", c.within(50, 100000))
    # The share of daily_requests polling leaves to commands.
    command_reserve: float = setting(0.2, "a share, 0..0.9", c.within(0, 0.9))


@dataclass(frozen=True)
class CommandsConfig:
    unlock: bool = setting(True, _FLAG)
    unlock_code: str | None = setting(None, "text, or null for no code", secret=True)
    max_age: float = setting(120.0, c.seconds(1, 3600))
    queue_size: int = setting(20, "a whole number, 1..1000", c.within(1, 1000))
    min_interval: float = setting(2.0, c.seconds(0, 600))
    # TSP-token requests per account per minute (vendor: about 7).
    max_per_minute: int = setting(6, "a whole number, 1..60", c.within(1, 60))
    verify_after: float = setting(25.0, c.seconds(0, 600))
    # A command for the state read this recently sends nothing.
    skip_unchanged: float = setting(
        300.0, "seconds, 0..86400 (0: always send)", c.within(0, 86400)
    )


@dataclass(frozen=True)
class Config:
    accounts: tuple[AccountConfig, ...] = setting(
        accepted="a list of at least one account with email and password",
        check=c.non_empty_list,
    )
    mqtt: MqttConfig = setting(factory=MqttConfig, accepted="a mapping of MQTT settings")
    carnet: VendorConfig = setting(
        factory=VendorConfig, accepted="a mapping of vendor endpoint settings"
    )
    polling: PollingConfig = setting(
        factory=PollingConfig, accepted="a mapping of polling settings"
    )
    limits: LimitsConfig = setting(
        factory=LimitsConfig, accepted="a mapping of daily request limits"
    )
    commands: CommandsConfig = setting(
        factory=CommandsConfig, accepted="a mapping of command settings"
    )
    state_dir: str = setting("./state", "a directory path", c.non_empty)
    log_level: str = setting(
        "info", "debug, info, warning or error", c.one_of("debug", "info", "warning", "error")
    )
