"""A branch's DingTalk custom robot (自定义机器人): its webhook URL and SEC… signing secret.

Both are credentials (together they let anyone post into the group): accepted from the
CLI or a private chat only, never echoed, never logged, never copied into the audit.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from sqlmodel import Session, select

from storage.models import PushChannel

from .inbound import PLATFORM

URL_HELP = "自定义机器人的 Webhook 地址（…/robot/send?access_token=…）"
SECRET_HELP = "加签密钥（以 SEC 开头）"


def robot_url_problem(url: str, *, oapi_base: str) -> str | None:
    """What is wrong with a custom robot webhook URL, or None."""
    parts = urlsplit(url.strip())
    base = urlsplit(oapi_base)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or parts.path != "/robot/send":
        return f"应是{URL_HELP}"
    if not parse_qs(parts.query).get("access_token"):
        return "地址里缺少 access_token"
    return None


def secret_problem(secret: str) -> str | None:
    # djbot only sends signed: a robot guarded by keywords or an IP list would refuse
    # reminders whose wording changes, or a replica on another host.
    if not secret.startswith("SEC") or len(secret) < 10 or " " in secret:
        return f"应是{SECRET_HELP}：在机器人安全设置里勾选「加签」后复制"
    return None


def save_robot(session: Session, *, branch_id: int | None, is_leaders: bool, url: str,
               secret: str, set_by: int | None, now: datetime) -> bool:
    """Create or replace the group's custom robot; True when one existed before."""
    existing = session.exec(select(PushChannel).where(
        PushChannel.platform == PLATFORM,
        PushChannel.branch_id == branch_id,
        PushChannel.is_leaders == is_leaders,
    )).first()
    channel = existing or PushChannel(platform=PLATFORM, branch_id=branch_id,
                                      is_leaders=is_leaders, url=url, set_at=now)
    channel.url, channel.secret = url.strip(), secret
    channel.set_by, channel.set_at = set_by, now
    session.add(channel)
    return existing is not None
