"""DingTalk's two HMAC signatures: the callback check and the custom-robot URL.

Both are Base64(HmacSHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}")); the
platform rejects (and djbot rejects) a timestamp more than an hour off.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote_plus

from bot.adapters.common import is_timestamp


def sign(timestamp_ms: str | int, secret: str) -> str:
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_callback(
    *,
    timestamp: str | None,
    signature: str | None,
    app_secret: str,
    now: datetime,
    max_skew_seconds: int,
) -> str | None:
    """Why a callback must be refused, or None when its headers are genuine and fresh.

    The signature is compared first (in constant time), so a forger learns nothing from
    which check failed; the reason is for our log, never for the caller.
    """
    if not app_secret:
        return "app secret not configured"
    if not timestamp or not signature:
        return "missing timestamp or sign header"
    if not is_timestamp(timestamp):
        return "timestamp is not a number"
    if not hmac.compare_digest(sign(timestamp, app_secret).encode(), signature.encode()):
        return "bad signature"
    skew = abs(now.timestamp() * 1000 - int(timestamp)) / 1000
    if skew > max_skew_seconds:
        return f"stale timestamp ({int(skew)} s off)"
    return None


def signed_webhook_url(url: str, secret: str, now: datetime) -> str:
    """A custom robot's webhook URL with its timestamp and sign appended."""
    timestamp = int(now.timestamp() * 1000)
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}timestamp={timestamp}&sign={quote_plus(sign(timestamp, secret))}"
