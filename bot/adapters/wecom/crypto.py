"""WeCom callback crypto: verify, check freshness, decrypt; encrypt a JSON passive reply.

The cipher is wechatpy's (`wechatpy.enterprise.crypto`). djbot adds what wechatpy does not
do: a constant-time signature comparison before anything is decrypted, and a freshness
window checked against the injected clock (WeCom documents none; msgid de-duplication
alone would accept a replayed message whose id has been forgotten).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from wechatpy.enterprise.crypto import PrpCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException

from bot.adapters.common import is_timestamp


class CallbackRejected(Exception):
    """A callback that must not be handled: `status` is the HTTP answer, `reason` is logged."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """WeCom's msg_signature: sha1 over the four values sorted and joined."""
    parts = sorted([token, timestamp, nonce, encrypt])
    return hashlib.sha1("".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class CallbackCrypto:
    token: str
    aes_key: str  # the 43-character EncodingAESKey
    # The CorpID for the self-built app's XML callbacks, "" for the AI bot's JSON ones.
    receive_id: str
    max_skew_seconds: int = 3600

    @cached_property
    def _cipher(self) -> PrpCrypto:
        # Built once: each encrypt or decrypt starts a fresh CBC context from it, and
        # building it (the key decoded, the AES cipher set up) cost as much as using it.
        return PrpCrypto(base64.b64decode(self.aes_key + "="))

    def verify(self, *, msg_signature: str | None, timestamp: str | None, nonce: str | None,
               encrypt: str | None, now: datetime) -> None:
        """Raise CallbackRejected unless the signature matches and the timestamp is fresh."""
        if not msg_signature or not nonce or not encrypt:
            raise CallbackRejected(400, "missing msg_signature, nonce or ciphertext")
        if not is_timestamp(timestamp):
            raise CallbackRejected(403, "missing or non-numeric timestamp")
        expected = signature(self.token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), msg_signature.lower().encode()):
            raise CallbackRejected(401, "signature mismatch")
        skew = abs(now.timestamp() - int(timestamp))  # type: ignore[arg-type]
        if skew > self.max_skew_seconds:
            raise CallbackRejected(403, f"stale timestamp ({int(skew)} s off)")

    def decrypt(self, *, msg_signature: str | None, timestamp: str | None, nonce: str | None,
                encrypt: str | None, now: datetime) -> str:
        """Verify, then decrypt; the plaintext must be addressed to our receive_id."""
        self.verify(msg_signature=msg_signature, timestamp=timestamp, nonce=nonce,
                    encrypt=encrypt, now=now)
        try:
            return self._cipher.decrypt(encrypt, self.receive_id)
        except InvalidCorpIdException:
            raise CallbackRejected(403, "encrypted for another receiver") from None
        except Exception as exc:  # bad base64, padding or length: garbage, not a callback
            raise CallbackRejected(400, f"undecryptable ({type(exc).__name__})") from None

    def encrypt_json_reply(self, plaintext: str, *, timestamp: str,
                           nonce: str | None = None) -> dict[str, str]:
        """The AI bot's passive reply envelope (official WXBizJsonMsgCrypt layout)."""
        # An input to the signature, not a secret (WeCom's own SDKs use a plain random
        # string): from `random`, since reading the system's source is a system call that
        # gives the interpreter lock away on the event loop (see incoming_request_id).
        nonce = nonce or f"{random.getrandbits(64):016x}"
        encrypt = self._cipher.encrypt(plaintext, self.receive_id).decode()
        return {
            "encrypt": encrypt,
            "msgsignature": signature(self.token, timestamp, nonce, encrypt),
            "timestamp": timestamp,
            "nonce": nonce,
        }

    def encrypt_xml_reply(self, plaintext: str, *, timestamp: str,
                          nonce: str | None = None) -> str:
        """The self-built app's passive reply envelope (XML)."""
        env = self.encrypt_json_reply(plaintext, timestamp=timestamp, nonce=nonce)
        return (
            "<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            "<MsgSignature><![CDATA[{msgsignature}]]></MsgSignature>"
            "<TimeStamp>{timestamp}</TimeStamp>"
            "<Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        ).format(**env)
