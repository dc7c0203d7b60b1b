"""Hand the bridge a Play Integrity token that a phone provides.

The myVW token endpoint wants a ``play_integrity_token``: a Google Play Integrity verdict,
which only a genuine Android phone with the myVW app can obtain. This script does not
make one. It relays the newest token a phone-side job left in a file or serves on a local
URL, in the form ``carnet.token_helper`` expects::

    python3 scripts/play_integrity_helper.py --file PATH [--max-age SECONDS]
    python3 scripts/play_integrity_helper.py --url http://127.0.0.1:PORT/PATH [--timeout S]

and in the bridge's configuration, for example::

    carnet:
      token_helper: python3 /opt/carnet2mqtt/scripts/play_integrity_helper.py --file /run/pi

The file is read again at each call, so the job may replace it at any time (write a
temporary file and rename it over the old one). The URL is fetched with one GET, without
proxies or redirects; only a loopback address (127.0.0.0/8, ::1, localhost) is accepted
unless ``--allow-remote`` is given. The file or the answer holds either the raw token or
a JSON object ``{"play_integrity_token": "..."}``.

On success it prints ``{"play_integrity_token": "..."}`` on standard output and exits 0.
On any problem it prints one line on standard error and exits 1; that line never
contains the token. Standard library only.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

FIELD = "play_integrity_token"
MAX_ANSWER = 32 * 1024
"""The most the file or the URL may hold: a token is a few kilobytes, and the bridge
takes at most 64 KiB from its token helper."""

DEFAULT_TIMEOUT = 5.0
"""Seconds to wait for the URL to connect and to answer; well under ``carnet.timeout``,
which bounds the whole helper."""

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class HelperError(Exception):
    """A problem the user must fix; its message never holds the token."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.file is not None:
            text = read_file(Path(args.file), args.max_age)
        else:
            text = fetch(args.url, args.timeout, args.allow_remote)
        token = token_from(text)
    except HelperError as exc:
        print(f"play_integrity_helper: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({FIELD: token}))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="play_integrity_helper.py",
        description="Print a phone-provided Play Integrity token for carnet.token_helper.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", metavar="PATH", help="a file holding the token")
    source.add_argument("--url", metavar="URL", help="a local URL answering the token")
    parser.add_argument("--allow-remote", action="store_true",
                        help="accept a URL that is not a loopback address")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"seconds to wait for the URL (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--max-age", type=_seconds, default=None, metavar="SECONDS",
                        help="refuse a file not updated within this many seconds")
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def read_file(path: Path, max_age: float | None) -> str:
    """The file's text, read now; refused when missing, too large or too old."""
    try:
        with path.open("rb") as stream:
            if max_age is not None:
                age = time.time() - os.fstat(stream.fileno()).st_mtime
                if age > max_age:
                    raise HelperError(
                        f"{path} was last updated {age:.0f} s ago (--max-age {max_age:g}); "
                        "the job that writes it may have stopped"
                    )
            data = stream.read(MAX_ANSWER + 1)
    except FileNotFoundError:
        raise HelperError(f"{path} does not exist (the job that writes the token "
                          "has not run yet?)") from None
    except OSError as exc:
        raise HelperError(f"{path} cannot be read: {exc.strerror or type(exc).__name__}") from None
    return _text(data, str(path))


def fetch(url: str, timeout: float, allow_remote: bool) -> str:
    """The body of one GET of ``url``; only loopback addresses unless ``allow_remote``."""
    where = _checked_origin(url, allow_remote)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())
    request = urllib.request.Request(url, headers={"Accept": "application/json, text/plain"})
    try:
        with opener.open(request, timeout=timeout) as response:
            data = response.read(MAX_ANSWER + 1)
    except urllib.error.HTTPError as exc:
        raise HelperError(f"{where} answered HTTP {exc.code}"
                          f"{' (redirects are not followed)' if 300 <= exc.code < 400 else ''}"
                          ) from None
    except TimeoutError:
        raise HelperError(f"{where} did not answer within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise HelperError(f"{where} did not answer within {timeout:g} s") from None
        reason = getattr(exc.reason, "strerror", None) or str(exc.reason)
        raise HelperError(f"{where} cannot be reached: {reason}") from None
    except OSError as exc:
        raise HelperError(f"{where} failed: {exc.strerror or type(exc).__name__}") from None
    return _text(data, where)


def _checked_origin(url: str, allow_remote: bool) -> str:
    """``scheme://host:port`` of ``url`` (never its path or query, which may hold a key)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise HelperError("--url is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HelperError("--url must be an http:// or https:// URL with a host")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    where = f"{parts.scheme}://{host}{f':{port}' if port else ''}"
    if not allow_remote and not _is_loopback(parts.hostname):
        raise HelperError(f"{where} is not a loopback address; the token would cross the "
                          "network (give --allow-remote to accept that)")
    return where


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead off the loopback address: it ends as an HTTP error."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _text(data: bytes, where: str) -> str:
    if len(data) > MAX_ANSWER:
        raise HelperError(f"{where} holds more than {MAX_ANSWER // 1024} KiB; "
                          "a token is a few kilobytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise HelperError(f"{where} is not UTF-8 text") from None


def token_from(text: str) -> str:
    """The token in ``text``: the whole of it, or the field of a JSON object."""
    text = text.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            raise HelperError("the answer starts like JSON but is not valid JSON") from None
        value = document.get(FIELD) if isinstance(document, dict) else None
        if not isinstance(value, str):
            raise HelperError(f'the JSON object has no string "{FIELD}"')
        text = value.strip()
    if not text:
        raise HelperError("the token is empty")
    if any(character.isspace() or not character.isprintable() for character in text):
        raise HelperError("the answer is not a token: it contains spaces or control "
                          "characters (an error page?)")
    return text


if __name__ == "__main__":
    sys.exit(main())
