"""What ``bridge/info`` shows of the configuration: secrets become booleans that say
whether they are set, e-mail addresses are masked."""

from __future__ import annotations

import dataclasses
from typing import Any

from carnet.config.fields import is_secret
from carnet.config.model import Config


def mask_email(email: str) -> str:
    """``daniel@example.com`` -> ``d***@example.com``: enough to tell accounts apart."""
    local, at, domain = email.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def shown(section: Any) -> dict[str, Any]:
    """A section key by key as declared: a secret says whether it is set, a nested
    section is shown the same way, so a new key appears without being listed here."""
    result: dict[str, Any] = {}
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        if is_secret(type(section), f.name):
            result[f.name] = value is not None
        elif dataclasses.is_dataclass(value):
            result[f.name] = shown(value)
        else:
            result[f.name] = value
    return result


def summary(config: Config) -> dict[str, Any]:
    """The configuration as published on ``bridge/info``: secrets become booleans that
    say whether they are set, e-mail addresses are masked. The sections whose shape is
    their declaration come from :func:`shown`; the others name their keys, in the order
    bridge/info has always had them."""
    mqtt, vendor = config.mqtt, config.carnet
    return {
        "mqtt": {
            "host": mqtt.host,
            "port": mqtt.port,
            "authenticated": mqtt.username is not None or mqtt.password is not None,
            "client_id": mqtt.client_id,
            "base_topic": mqtt.base_topic,
            "protocol": mqtt.protocol,
            "qos": mqtt.qos,
            "keepalive": mqtt.keepalive,
            "output": mqtt.output,
            "response_topics": list(mqtt.response_topics),
            "tls": {
                "enabled": mqtt.tls.enabled,
                "insecure": mqtt.tls.insecure,
                "client_certificate": mqtt.tls.certfile is not None,
            },
            "discovery": shown(mqtt.discovery),
        },
        "carnet": shown(vendor),
        "accounts": [
            {
                "email": mask_email(account.email),
                "api": account.api or vendor.api,
                "commands": account.pin is not None,
                "temperature_unit": account.temperature_unit,
                "vehicles": {
                    key: shown(vehicle) for key, vehicle in account.vehicles.items()
                },
            }
            for account in config.accounts
        ],
        "polling": shown(config.polling),
        "limits": shown(config.limits),
        "commands": {
            "unlock": config.commands.unlock,
            "unlock_code": config.commands.unlock_code is not None,
            "max_age": config.commands.max_age,
            "queue_size": config.commands.queue_size,
            "max_per_minute": config.commands.max_per_minute,
            "min_interval": config.commands.min_interval,
            "verify_after": config.commands.verify_after,
            "skip_unchanged": config.commands.skip_unchanged,
        },
        "state_dir": config.state_dir,
        "log_level": config.log_level,
    }
