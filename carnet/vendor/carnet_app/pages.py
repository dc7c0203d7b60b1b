"""Reading Car-Net's sign-in pages: their forms, hidden values and script template.

The password page comes in two variants: a ``credentialsForm`` with hidden inputs, or
(later versions) a ``templateModel`` object and a ``csrf_token`` in a script.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

_LOG = logging.getLogger(__name__)


@dataclass
class LoginForm:
    """What a sign-in page offers: the form action and the hidden values."""

    form_id: str | None
    action: str | None
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class LoginPage:
    forms: list[LoginForm] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def form(self, *ids: str) -> LoginForm | None:
        for form in self.forms:
            if form.form_id in ids:
                return form
        return None


class _PageParser(HTMLParser):
    """Collects forms (with their inputs), script bodies and visible text.

    ``html.parser`` copes with unclosed tags and odd attribute quoting, which a
    regular expression over the whole page would not.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = LoginPage()
        self._form: LoginForm | None = None
        self._in_script = False
        self._script: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k.lower(): (v or "") for k, v in attrs}
        if tag == "form":
            self._form = LoginForm(
                form_id=attributes.get("id") or attributes.get("name") or None,
                action=attributes.get("action") or None,
            )
            self.page.forms.append(self._form)
        elif tag == "input":
            name = attributes.get("name")
            if name:
                target = self._form
                if target is None:  # an input outside any form still counts
                    target = LoginForm(form_id=None, action=None)
                    self.page.forms.append(target)
                    self._form = target
                target.fields.setdefault(name, attributes.get("value", ""))
        elif tag == "script":
            self._in_script = True
            self._script = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "script" and self._in_script:
            self._in_script = False
            self.page.scripts.append("".join(self._script))

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self._script.append(data)
        elif data.strip():
            self.page.text.append(data.strip())


def parse_page(html: str) -> LoginPage:
    parser = _PageParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # a parser error must not hide what was found so far
        _LOG.debug("Sign-in page did not parse cleanly")
    if parser._in_script:
        parser.page.scripts.append("".join(parser._script))
    return parser.page


_TEMPLATE_KEYS = ("hmac", "relayState", "postAction", "identifierUrl", "error", "errorCode")
_CSRF_IN_SCRIPT = re.compile(r"""csrf_token\s*[:=]\s*(['"])(?P<v>[^'"]*)\1""")


def template_model(scripts: list[str]) -> dict[str, Any] | None:
    """Values of the ``templateModel`` object of the script variant of the page.

    The object is tried as JSON first (it usually is); when that fails, the known
    keys are picked out individually so a single odd value does not lose the rest.
    """
    for script in scripts:
        start = script.find("templateModel")
        if start < 0:
            continue
        brace = script.find("{", start)
        if brace < 0:
            continue
        blob = _balanced(script, brace)
        model: dict[str, Any] = {}
        try:
            parsed = json.loads(blob)
            if isinstance(parsed, dict):
                model = parsed
        except ValueError:
            for key in _TEMPLATE_KEYS:
                match = re.search(rf"""["']?{key}["']?\s*:\s*(["'])(?P<v>[^"']*)\1""", blob)
                if match:
                    model[key] = match.group("v")
        csrf = _CSRF_IN_SCRIPT.search(script)
        if csrf:
            model.setdefault("_csrf", csrf.group("v"))
        return model
    return None


def _balanced(text: str, start: int) -> str:
    """The ``{...}`` block starting at ``start``, respecting strings."""
    depth = 0
    quote: str | None = None
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start : index + 1]
    return text[start:]


def csrf_anywhere(page: LoginPage) -> str | None:
    for script in page.scripts:
        match = _CSRF_IN_SCRIPT.search(script)
        if match:
            return match.group("v")
    return None


def missing_fields(form: LoginForm | None, names: tuple[str, ...]) -> list[str]:
    if form is None:
        return list(names)
    return [name for name in names if not form.fields.get(name)]


def resolve_post_action(
    post_action: str, page_url: str, identifier_action: str, model: Mapping[str, Any]
) -> str:
    """Turn the template's ``postAction`` (``login/authenticate``) into a URL.

    It is relative to the sign-in service's client path
    (``/signin-service/v1/<app id>/``), not to the page, so that prefix is taken from
    the template's client id, else from the page or the e-mail form's action.
    """
    if urlsplit(post_action).scheme or post_action.startswith("/"):
        return urljoin(page_url, post_action)
    client = model.get("clientLegalEntityModel")
    if isinstance(client, dict) and isinstance(client.get("clientId"), str):
        base = urljoin(page_url, "/signin-service/v1/" + client["clientId"] + "/")
        return urljoin(base, post_action)
    for candidate in (page_url, identifier_action):
        match = re.match(r"^(.*?/signin-service/v\d+/[^/?#]+/)", candidate)
        if match:
            return match.group(1) + post_action
    return urljoin(identifier_action, post_action)
