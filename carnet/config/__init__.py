"""The configuration: YAML in, frozen dataclasses out.

Every key of config.example.yaml is a field of :mod:`carnet.config.model`, declared once
with its default, what it accepts, its check and whether it is a secret. Errors name
the key path (``accounts[0].pin``) and say what is accepted; all problems are
collected so the user fixes them in one go.

``${VAR}`` and ``${VAR:-default}`` (the default may hold another ``${...}``) in any
string value come from the environment, so secrets stay out of the file. Without a
``state_dir`` key the default is ``${CARNET2MQTT_STATE_DIR:-./state}``: the container
image and the systemd unit set that variable, so one configuration file works in both.
"""

from __future__ import annotations

from carnet.config.build import STATE_DIR_ENV, parse_config
from carnet.config.fields import secret_values
from carnet.config.loader import MAX_YAML_VALUES, load_config
from carnet.config.model import (
    AccountConfig,
    CommandsConfig,
    Config,
    DiscoveryConfig,
    LimitsConfig,
    MqttConfig,
    PollingConfig,
    TlsConfig,
    VehicleConfig,
    VendorConfig,
)
from carnet.config.summary import mask_email, summary
from carnet.core import redact

# The log filter masks what the declarations call secret, whoever registers a configuration.
redact.use_config_secrets(secret_values)

__all__ = [
    "MAX_YAML_VALUES",
    "STATE_DIR_ENV",
    "AccountConfig",
    "CommandsConfig",
    "Config",
    "DiscoveryConfig",
    "LimitsConfig",
    "MqttConfig",
    "PollingConfig",
    "TlsConfig",
    "VehicleConfig",
    "VendorConfig",
    "load_config",
    "mask_email",
    "parse_config",
    "summary",
]
