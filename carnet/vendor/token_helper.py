"""The token helper: a user's command that supplies extra token-request fields.

Vendors change their logins; when a token endpoint starts to require a new field, the
``carnet.token_helper`` setting names a command whose output (a JSON object of
string fields) is added to the token request, without a code change. Nothing here is
specific to one API generation.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import shlex
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping

from carnet.core import redact
from carnet.core.errors import AuthError

_LOG = logging.getLogger(__name__)

HELPER_OUTPUT_LIMIT = 64 * 1024
"""The most a token helper may print: a few tokens, never megabytes."""

HELPER_SECRET_LENGTH = 8
"""Helper output values shorter than this are not masked in the log: a token is long,
while a short value (``android``, ``1``) is a flag that would mask ordinary words."""

HELPER_WITHHELD_VARIABLES = frozenset(
    {"CARNET_PASSWORD", "CARNET_PIN", "CARNET_UNLOCK_CODE", "MQTT_PASSWORD"}
)
"""Variables never passed to the token helper, whatever their value: the names the
README and config.example.yaml suggest for the bridge's secrets."""

_HELPER_POLL = 0.05  # seconds between checks whether the helper has exited


def helper_environment(
    environ: Mapping[str, str], secret_values: Iterable[str | None]
) -> dict[str, str]:
    """The token helper's environment: the bridge's own, without its secrets.

    Dropped are :data:`HELPER_WITHHELD_VARIABLES` and every variable whose value is a
    configured secret (a password, a PIN, the MQTT password, the unlock code) or
    contains one of at least :data:`HELPER_SECRET_LENGTH` characters, whatever the
    variable is called.
    """
    known = {secret for secret in secret_values if secret}
    long = [secret for secret in known if len(secret) >= HELPER_SECRET_LENGTH]
    return {
        name: value
        for name, value in environ.items()
        if name not in HELPER_WITHHELD_VARIABLES
        and value not in known
        and not any(secret in value for secret in long)
    }


def run_token_helper(
    command: str, timeout: float, step: str, secret_values: Iterable[str | None] = ()
) -> dict[str, str]:
    """Run ``carnet.token_helper`` and return the form fields it prints.

    The command is split like a shell would but run without one, in a session (and
    process group) of its own, with :func:`helper_environment` built from ``secret_values``.
    Waiting ends when the helper exits, even if a child it left behind still holds its
    output open; on a timeout or too much output the whole group is killed. Its output
    is a secret (it exists to carry tokens) and is never logged; its error output,
    which may echo it, is discarded.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise AuthError(f"carnet.token_helper cannot be parsed ({exc})", step=step) from None
    if not argv:
        raise AuthError("carnet.token_helper is empty", step=step)
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=helper_environment(os.environ, secret_values),
        )
    except OSError as exc:
        raise AuthError(
            f"carnet.token_helper could not be started: {exc.strerror or type(exc).__name__} "
            f"({argv[0]})",
            step=step,
        ) from None
    try:
        output = _read_helper(process, timeout, step)
    finally:
        assert process.stdout is not None
        process.stdout.close()
    values = _helper_fields(output, step)
    for value in values.values():
        if len(value) >= HELPER_SECRET_LENGTH:
            redact.register_secret(value)
    _LOG.debug("carnet.token_helper supplied %d field(s): %s", len(values), sorted(values))
    return values


def _read_helper(process: subprocess.Popen[bytes], timeout: float, step: str) -> bytes:
    """Read the helper's output, at most :data:`HELPER_OUTPUT_LIMIT` bytes, until it exits."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    deadline = time.monotonic() + timeout
    output = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(descriptor, selectors.EVENT_READ)
        reading = True
        while True:
            exited = process.poll() is not None
            if not exited and time.monotonic() >= deadline:
                _kill_group(process)
                raise AuthError(
                    f"carnet.token_helper did not finish within {timeout:g} s", step=step
                )
            # Once the helper has exited, take only what is already in the pipe: a
            # child it left running may hold the pipe open for ever.
            wait = 0.0 if exited else min(_HELPER_POLL, max(deadline - time.monotonic(), 0.0))
            if not reading:
                if exited:
                    break
                time.sleep(wait)
                continue
            if not selector.select(wait):
                if exited:
                    break
                continue
            chunk = os.read(descriptor, HELPER_OUTPUT_LIMIT + 1 - len(output))
            if not chunk:  # end of output; the helper may still be running
                reading = False
                selector.unregister(descriptor)
                continue
            output += chunk
            if len(output) > HELPER_OUTPUT_LIMIT:
                _kill_group(process)
                raise AuthError(
                    f"carnet.token_helper printed more than {HELPER_OUTPUT_LIMIT // 1024} KiB "
                    "(a JSON object of a few form fields)",
                    step=step,
                )
    if process.returncode != 0:
        raise AuthError(
            f"carnet.token_helper failed with exit status {process.returncode}", step=step
        )
    return bytes(output)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the helper and everything it started (its session's process group)."""
    with contextlib.suppress(ProcessLookupError):  # the group is gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _helper_fields(output: bytes, step: str) -> dict[str, str]:
    try:
        values = json.loads(output.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise AuthError(
            "carnet.token_helper must print a JSON object of string values; its output "
            "is not JSON",
            step=step,
        ) from None
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise AuthError(
            "carnet.token_helper must print a JSON object of string values", step=step
        )
    return values
