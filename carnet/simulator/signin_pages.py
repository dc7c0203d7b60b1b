"""The markup of the sign-in pages of the identity host (both app generations)."""

from __future__ import annotations

import html
import json
import logging
import time
from dataclasses import dataclass, field

from carnet.simulator.generations import MYVW, Generation
from carnet.simulator.web import Response, html_response

_LOG = logging.getLogger(__name__)


def prefix(app_id: str) -> str:
    """The path under which an application's sign-in pages live."""
    return f"/signin-service/v1/{app_id}"


@dataclass
class LoginTx:
    """One authorize request on its way through the sign-in pages, keyed by relayState."""

    relay_state: str
    generation: Generation
    redirect_uri: str  # as the authorize request sent it; "" when it sent none
    challenge: str
    state: str | None
    country: str = "US"
    scope_ok: bool = True  # myVW: the scope was exactly "openid", else no code at the end
    session: str | None = None
    email: str | None = None
    unknown_email: str | None = None  # myVW: the e-mail of no account, offered to register
    email_hmac: str = ""
    password_hmac: str = ""
    handoff: str | None = None
    created: float = field(default_factory=time.monotonic)


def _name(tx: LoginTx) -> str:
    return "myVW" if tx.generation.name == MYVW else "Car-Net"


def error_code(error: str | None) -> str | None:
    """The short code the later page puts beside the message key."""
    return error.rsplit(".", 1)[-1] if error else None


def _e(value: str | None) -> str:
    return html.escape(value or "", quote=True)


def _page(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en">\n'
        "<head>\n"
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"/>\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
        f"<title>{_e(title)}</title>\n"
        "</head>\n"
        f'<body class="signin-service">\n<div id="app">\n{body}\n</div>\n</body>\n</html>\n'
    )


_ERRORS = {
    "login.errors.user_not_found": "We could not find an account for this e-mail address.",
    "login.errors.password_invalid": "The e-mail address or password is incorrect.",
    "login.error.throttled": "Too many sign-in attempts. Please try again later.",
}


def _error_block(error: str | None) -> str:
    if not error:
        return ""
    text = _ERRORS.get(error, "Something went wrong. Please try again.")
    return f'<div class="error" id="error" role="alert" data-error="{_e(error)}">{_e(text)}</div>\n'


def error_page(status: int, message: str) -> Response:
    body = (f'<h1>Sign-in failed</h1>\n<div class="error" id="error" role="alert">'
            f"{_e(message)}</div>\n")
    return html_response(status, _page("Volkswagen ID - Error", body))


def email_page(csrf: str, tx: LoginTx, error: str | None) -> str:
    body = (
        "<h1>Sign in to Car-Net</h1>\n"
        f"{_error_block(error)}"
        '<form class="content" id="emailPasswordForm"\n'
        '      name="emailPasswordForm"\n'
        '      method="POST"\n'
        '      novalidate="true"\n'
        f'      action="{prefix(tx.generation.app_id)}/login/identifier">\n'
        f'<input type="hidden" id="csrf" name="_csrf" value="{_e(csrf)}"/>\n'
        f'<input type="hidden" id="input_relayState" name="relayState" '
        f'value="{_e(tx.relay_state)}"/>\n'
        f'<input type="hidden" id="hmac" name="hmac" value="{_e(tx.email_hmac)}"/>\n'
        '<label for="input_email">E-mail address</label>\n'
        '<input type="email" id="input_email" name="email" value="" autocomplete="username"/>\n'
        '<button type="submit" id="next-btn">Next</button>\n'
        "</form>"
    )
    return _page("Volkswagen ID", body)


def password_page(csrf: str, tx: LoginTx, error: str | None) -> str:
    body = (
        "<h1>Enter your password</h1>\n"
        f"{_error_block(error)}"
        '<form class="content" id="credentialsForm"\n'
        '      name="credentialsForm"\n'
        '      method="POST"\n'
        f'      action="{prefix(tx.generation.app_id)}/login/authenticate">\n'
        f'<input type="hidden" id="csrf" name="_csrf" value="{_e(csrf)}"/>\n'
        f'<input type="hidden" id="input_relayState" name="relayState" '
        f'value="{_e(tx.relay_state)}"/>\n'
        f'<input type="hidden" id="email" name="email" value="{_e(tx.email)}"/>\n'
        f'<input type="hidden" id="hmac" name="hmac" value="{_e(tx.password_hmac)}"/>\n'
        '<label for="password">Password</label>\n'
        '<input type="password" id="password" name="password" value=""'
        ' autocomplete="current-password"/>\n'
        '<button type="submit" id="next-btn">Sign in</button>\n'
        "</form>"
    )
    return _page("Volkswagen ID", body)


def template_password_page(csrf: str, tx: LoginTx, error: str | None,
                           unknown_account: bool = False) -> str:
    """The later page: no form in the markup, the values sit in a script.

    The myVW generation always serves it; an unknown account gets it too, with
    ``registerCredentialsPath: "register"`` (the offer to register) and no hmac."""
    model = {
        "clientLegalEntityModel": {"clientId": tx.generation.app_id,
                                   "clientName": _name(tx),
                                   "countryOfRegistration": tx.country},
        "template": "loginAuthenticate",
        "hmac": "" if unknown_account else tx.password_hmac,
        "relayState": tx.relay_state,
        "emailPasswordForm": {"email": tx.email or tx.unknown_email, "password": None},
        "error": error,
        "errorCode": error_code(error),
        "postAction": "login/authenticate",
        "registerCredentialsPath": "register" if unknown_account else None,
        "identifierUrl": "login/identifier",
        "titleKey": "title.login.password",
    }
    # "<" escaped so the JSON can never close the script element or the CDATA section
    model_json = json.dumps(model).replace("<", "\\u003c").replace("]]>", "]]\\u003e")
    body = (
        "<h1>Enter your password</h1>\n"
        f"{_error_block(error)}"
        '<div id="loginRoot"></div>\n'
        '<script type="text/javascript">\n'
        "//<![CDATA[\n"
        "window._IDK = {\n"
        f"  templateModel: {model_json},\n"
        f"  csrf_token: '{csrf}',\n"
        f"  csrf_parameterName: '_csrf',\n"
        "  userSession: {userId: null, countryOfResidence: null},\n"
        "  baseUrl: '/signin-service/v1'\n"
        "};\n"
        "//]]>\n"
        "</script>"
    )
    return _page("Volkswagen ID", body)
