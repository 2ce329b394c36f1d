"""Signed, expiring tokens for the dashboard: chat links, session cookies, picture URLs.

A token is base64url(JSON) "." base64url(HMAC-SHA256(secret, purpose "." JSON)). The
purpose is inside the MAC, so a picture URL cannot be replayed as a session and a link
cannot be used as a cookie. Expiry is checked against the injected clock (tests move it),
which is why this is a few lines of hmac rather than a library that reads the wall clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime
from typing import Any

LINK = "link"
SESSION = "session"
PICTURE = "picture"
CSRF = "csrf"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}.{body}".encode(), hashlib.sha256).digest()
    return _b64(digest)


def sign(secret: str, purpose: str, claims: dict[str, Any], *, expires: datetime) -> str:
    """A token carrying `claims` until `expires`; a random nonce makes every link different."""
    if not secret:
        raise ValueError("the dashboard has no secret (DJBOT_WEB__SECRET)")
    data = {**claims, "exp": int(expires.timestamp()), "n": secrets.token_urlsafe(6)}
    body = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(secret, purpose, body)}"


def verify(secret: str, purpose: str, token: str | None, *, now: datetime) -> dict[str, Any] | None:
    """The claims of a genuine, unexpired token of this purpose; None for anything else."""
    if not secret or not token or token.count(".") != 1 or len(token) > 2048:
        return None
    # A genuine token is base64url; compare_digest raises on non-ASCII text, and a typed or
    # mangled link must be refused like any other bad one, not answered with a 500.
    if not token.isascii():
        return None
    body, mac = token.split(".")
    if not hmac.compare_digest(mac, _mac(secret, purpose, body)):
        return None
    try:
        claims = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        return None
    if claims["exp"] <= now.timestamp():
        return None
    return claims


def csrf_of(secret: str, session_id: str) -> str:
    """The token a form of this session carries: a page of djbot's has it, a page elsewhere
    that posts to djbot in the member's name does not."""
    return _mac(secret, CSRF, session_id)


def csrf_valid(secret: str, session_id: str, token: str | None) -> bool:
    if not token or not token.isascii():
        return False
    return hmac.compare_digest(token, csrf_of(secret, session_id))
