# carnet2mqtt: Volkswagen Car-Net (North America) to MQTT bridge.
#
#   docker build -t carnet2mqtt .
#   docker run -d --name carnet2mqtt \
#     -v ./config:/config:ro -v carnet2mqtt-state:/state \
#     -e CARNET_PASSWORD -e CARNET_PIN carnet2mqtt
#
# /config/config.yaml is the configuration (see config.example.yaml); secrets come from
# the environment through ${VAR} in that file, never from the image. Tokens are kept in
# /state: CARNET2MQTT_STATE_DIR is the default of state_dir.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# Dependencies first, read from pyproject.toml: this layer is rebuilt only when the
# dependencies change, not on every code change.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# A fixed, unprivileged user; /state must be writable by it when a volume is mounted.
RUN useradd --system --no-log-init --user-group --uid 10001 \
        --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin carnet2mqtt \
    && mkdir -p /config /state \
    && chown carnet2mqtt:carnet2mqtt /state \
    && chmod 0700 /state

COPY bridge.py ./
COPY carnet ./carnet

# No TZ: polls and other periodic jobs are timed on the monotonic clock, so any time
# zone, daylight saving changes included, leaves their intervals alone.
ENV PYTHONPATH=/app \
    CARNET2MQTT_CONFIG=/config/config.yaml \
    CARNET2MQTT_STATE_DIR=/state

VOLUME ["/config", "/state"]
USER 10001:10001

# Healthy only while the daemon itself says so: it touches /state/heartbeat every 30 s
# while its working threads run (scheduler, dispatcher, MQTT network thread); a broker or
# vendor outage does not stop it, since the daemon rides those out by itself.
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-m", "carnet.app.health", "/state/heartbeat", "--max-age", "120"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "/app/bridge.py"]
CMD []
