"""The PKCE pair of a myVW login, made as the app makes it."""

from __future__ import annotations

import base64
import hashlib
import secrets


def make_pkce() -> tuple[str, str]:
    """(verifier, challenge): 128 upper-case hex characters and their S256 challenge
    (base64url without padding)."""
    verifier = secrets.token_hex(64).upper()
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return verifier, challenge
