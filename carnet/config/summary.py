"""What ``bridge/info`` shows of the configuration: secrets become booleans that say
whether they are set, e-mail addresses are masked."""

from __future__ import annotations

import dataclasses
from typing import Any

from carnet.config.model import Config


def mask_email(email: str) -> str:
    """``daniel@example.com`` -> ``d***@example.com``: enough to tell accounts apart."""
    local, at, domain = email.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def summary(config: Config) -> dict[str, Any]:
    """The configuration as published on ``bridge/info``: secrets become booleans that
    say whether they are set, e-mail addresses are masked."""
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
            "discovery": dataclasses.asdict(mqtt.discovery),
        },
        "carnet": {
            "api_base": vendor.api_base,
            "identity_base": vendor.identity_base,
            "client_id": vendor.client_id,
            "redirect_uri": vendor.redirect_uri,
            "user_agent": vendor.user_agent,
            "token_helper": vendor.token_helper is not None,
            "timeout": vendor.timeout,
            "login_retry": vendor.login_retry,
            "login_retry_max": vendor.login_retry_max,
        },
        "accounts": [
            {
                "email": mask_email(account.email),
                "commands": account.pin is not None,
                "temperature_unit": account.temperature_unit,
                "vehicles": {
                    key: dataclasses.asdict(vehicle) for key, vehicle in account.vehicles.items()
                },
            }
            for account in config.accounts
        ],
        "polling": dataclasses.asdict(config.polling),
        "limits": dataclasses.asdict(config.limits),
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
