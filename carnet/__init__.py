"""carnet2mqtt: a bridge between Volkswagen Car-Net (North America) and MQTT."""

__version__ = "0.1.0"
