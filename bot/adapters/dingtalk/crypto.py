"""Opening a DingTalk HTTP callback: plain JSON checked by its sign header, or, with
消息体加密 on, `{"encrypt": …}` checked by its msg_signature and decrypted.

DingTalk's callback cipher is WeCom's scheme (open-dingtalk/DingTalk-Callback-Crypto,
DingCallbackCrypto3.py): AES-256-CBC with key = b64decode(aes_key + "="), IV = its first
16 bytes, PKCS#7 to 32 bytes, plaintext = random(16) ‖ length(4, big-endian) ‖ message ‖
owner key (the app's AppKey for an internal app's event subscription); signature =
sha1 of token, timestamp, nonce and ciphertext sorted and joined. So djbot reuses
wechatpy's cipher rather than writing AES code. The answer to an encrypted callback is
"success" encrypted the same way, as {msg_signature, timeStamp, nonce, encrypt}.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wechatpy.enterprise.crypto import PrpCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException

from bot.adapters.common import MalformedJson, is_timestamp, loads_json
from bot.config import DingtalkSettings

from .signing import check_callback


class CallbackRefused(Exception):
    """A callback that must not be handled: `status` is the HTTP answer, `reason` is logged."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


def aes_key_ok(key: str) -> bool:
    try:
        return len(key) == 43 and len(base64.b64decode(key + "=")) == 32
    except (binascii.Error, ValueError):
        return False


@dataclass(frozen=True)
class CallbackCipher:
    token: str
    aes_key: str  # the 43-character 加密 aes_key from the developer console
    owner_key: str  # the AppKey (an internal app's event subscription)

    def _cipher(self) -> PrpCrypto:
        return PrpCrypto(base64.b64decode(self.aes_key + "="))

    def open(self, *, msg_signature: str | None, timestamp: str | None, nonce: str | None,
             encrypt: str, now: datetime, max_skew_seconds: int) -> str:
        """Verify (constant time, then freshness) and decrypt; the plaintext JSON text."""
        if not msg_signature or not nonce:
            raise CallbackRefused(400, "encrypted callback without msg_signature or nonce")
        if timestamp is None or not is_timestamp(timestamp):  # not isdigit: "²" passes it
            raise CallbackRefused(403, "missing or non-numeric timestamp")
        expected = signature(self.token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), msg_signature.lower().encode()):
            raise CallbackRefused(401, "bad msg_signature")
        seconds = int(timestamp) / 1000 if len(timestamp) >= 13 else int(timestamp)  # ms or s
        if abs(now.timestamp() - seconds) > max_skew_seconds:
            raise CallbackRefused(403, f"stale timestamp ({int(abs(now.timestamp() - seconds))} s off)")
        try:
            return self._cipher().decrypt(encrypt, self.owner_key)
        except InvalidCorpIdException:
            raise CallbackRefused(403, "encrypted for another app") from None
        except Exception as exc:  # bad base64, padding or length
            raise CallbackRefused(400, f"undecryptable ({type(exc).__name__})") from None

    def seal(self, plaintext: str, *, now: datetime, nonce: str | None = None) -> dict[str, str]:
        nonce = nonce or secrets.token_hex(4)
        timestamp = str(int(now.timestamp() * 1000))
        encrypt = self._cipher().encrypt(plaintext, self.owner_key).decode()
        return {"msg_signature": signature(self.token, timestamp, nonce, encrypt),
                "timeStamp": timestamp, "nonce": nonce, "encrypt": encrypt}


def cipher_for(settings: DingtalkSettings) -> CallbackCipher | None:
    if not (settings.callback_token and settings.callback_aes_key):
        return None
    return CallbackCipher(settings.callback_token, settings.callback_aes_key, settings.app_key)


def configuration_problem(settings: DingtalkSettings) -> str | None:
    """One line saying why the callback encryption settings cannot work, or None."""
    if bool(settings.callback_token) != bool(settings.callback_aes_key):
        return ("DJBOT_DINGTALK__CALLBACK_TOKEN and DJBOT_DINGTALK__CALLBACK_AES_KEY go "
                "together (the 加密 token and aes_key of the app's 事件订阅 page)")
    if settings.callback_aes_key and not aes_key_ok(settings.callback_aes_key):
        return "DJBOT_DINGTALK__CALLBACK_AES_KEY must be the 43-character aes_key"
    return None


@dataclass(frozen=True)
class Opened:
    """A checked callback: the robot message (None for an event such as check_url) and
    the body to answer with."""

    payload: dict[str, Any] | None
    answer: dict[str, Any] = field(default_factory=dict)
    # The (timestamp, sign) header pair that vouched for a plain body. The sign covers only
    # the timestamp, so the caller must refuse the same pair with another body; an
    # encrypted body is covered by its own msg_signature and has none.
    signed_by: tuple[str, str] | None = None


def open_callback(body: bytes, *, headers: Mapping[str, str],
                  query: Callable[[], Mapping[str, str]], settings: DingtalkSettings,
                  now: datetime) -> Opened:
    """Check and decode one callback body, or raise CallbackRefused (4xx, nothing stored).
    `query` gives the URL's query parameters, read only for an encrypted body."""
    try:
        data: Any = loads_json(body)
        shape = "body is not a JSON object"
    except MalformedJson as exc:
        data, shape = None, f"body {exc}"
    encrypted = isinstance(data, dict) and isinstance(data.get("encrypt"), str)
    has_sign = bool(headers.get("timestamp") or headers.get("sign"))
    if not encrypted or has_sign:
        problem = check_callback(timestamp=headers.get("timestamp"),
                                 signature=headers.get("sign"), app_secret=settings.app_secret,
                                 now=now, max_skew_seconds=settings.max_clock_skew_seconds)
        if problem is not None:
            raise CallbackRefused(403 if problem.startswith("stale") else 401, problem)
    if not isinstance(data, dict):
        raise CallbackRefused(400, shape)
    if not encrypted:
        return Opened(data, signed_by=(headers["timestamp"], headers["sign"]))
    cipher = cipher_for(settings)
    if cipher is None:
        raise CallbackRefused(400, "encrypted callback (消息体加密 is on) but "
                                   "DJBOT_DINGTALK__CALLBACK_TOKEN/CALLBACK_AES_KEY are not set")
    params = query()
    plaintext = cipher.open(
        msg_signature=params.get("msg_signature") or params.get("signature"),
        timestamp=params.get("timestamp") or params.get("timeStamp"), nonce=params.get("nonce"),
        encrypt=data["encrypt"], now=now, max_skew_seconds=settings.max_clock_skew_seconds)
    try:
        payload = loads_json(plaintext)
    except MalformedJson as exc:
        raise CallbackRefused(400, f"decrypted callback {exc}") from None
    if not isinstance(payload, dict):
        raise CallbackRefused(400, "decrypted callback is not a JSON object")
    answer = cipher.seal("success", now=now)
    # An event (EventType check_url when the URL is registered, or any other) is only
    # acknowledged; a robot message carries msgtype.
    return Opened(payload if "msgtype" in payload else None, answer)
