"""Checking the push credentials a secretary pastes: pure functions, one per platform.

A group push channel (WeCom group-robot webhook, DingTalk custom robot) lets anyone who
holds it post into the group, so these say what is wrong without ever echoing the value.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse, urlsplit

DINGTALK_URL_HELP = "自定义机器人的 Webhook 地址（…/robot/send?access_token=…）"
DINGTALK_SECRET_HELP = "加签密钥（以 SEC 开头）"
SECRET_MIN_CHARS = 16  # DingTalk's are SEC + 64 hex digits; a shorter one was cut off
_WECOM_KEY = re.compile(r"[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}")


def wecom_webhook_key(key_or_url: str) -> str | None:
    """The key from a pasted WeCom webhook URL (…/webhook/send?key=KEY) or a bare key."""
    value = key_or_url.strip()
    if value.startswith(("http://", "https://")):
        keys = parse_qs(urlparse(value).query).get("key")
        return keys[0] if keys and keys[0] else None
    if value and all(c.isalnum() or c in "-_" for c in value):
        return value
    return None


def looks_like_wecom_key(key: str) -> bool:
    """A group robot's key is a UUID (8-4-4-4-12); a word like "notakey" typed in chat is a
    slip, not a key (the command line, used by operators, takes any key as given)."""
    return _WECOM_KEY.fullmatch(key) is not None


def dingtalk_robot_url_problem(url: str, *, oapi_base: str) -> str | None:
    """What is wrong with a DingTalk custom robot webhook URL, or None."""
    parts = urlsplit(url.strip())
    base = urlsplit(oapi_base)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or parts.path != "/robot/send":
        return f"应是{DINGTALK_URL_HELP}"
    if not parse_qs(parts.query).get("access_token"):
        return "地址里缺少 access_token"
    return None


def dingtalk_secret_problem(secret: str) -> str | None:
    # djbot only sends signed: a robot guarded by keywords or an IP list would refuse
    # reminders whose wording changes, or a replica on another host.
    if not secret.startswith("SEC") or " " in secret:
        return f"应是{DINGTALK_SECRET_HELP}：在机器人安全设置里勾选「加签」后复制"
    if len(secret) < SECRET_MIN_CHARS:
        return (f"加签密钥不完整：完整的密钥是 SEC 开头的一长串（约 67 个字符），"
                f"收到的只有 {len(secret)} 个字符，请在机器人安全设置里重新复制")
    return None
