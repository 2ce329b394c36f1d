"""`djbot doctor wecom`: which WeCom modes are configured and complete, and whether the
self-built app's credentials work from this server (60020 = 企业可信IP, explained)."""

from __future__ import annotations

import asyncio
import base64
import binascii

from bot.clock import SystemClock
from bot.config import Settings, WecomSettings

Check = tuple[bool, str]


def _missing(settings: WecomSettings, names: list[str]) -> list[str]:
    return [f"DJBOT_WECOM__{n.upper()}" for n in names if not getattr(settings, n)]


def _aes_key_ok(key: str) -> bool:
    try:
        return len(key) == 43 and len(base64.b64decode(key + "=")) == 32
    except (binascii.Error, ValueError):
        return False


def _mode(label: str, settings: WecomSettings, names: list[str], key_field: str | None,
          ) -> tuple[bool, Check | None]:
    """(configured at all, the line about it)."""
    # corp_id is shared by both app modes, so it alone does not mean a mode is wanted.
    present = [n for n in names if n != "corp_id" and getattr(settings, n)]
    if not present:
        return False, None
    missing = _missing(settings, names)
    if missing:
        return True, (False, f"{label}：缺少 {'、'.join(missing)}")
    if key_field and not _aes_key_ok(getattr(settings, key_field)):
        return True, (False, f"{label}：DJBOT_WECOM__{key_field.upper()} 应是 43 位 EncodingAESKey")
    return True, (True, f"{label}：配置完整")


def run(settings: Settings) -> list[tuple[bool | None, str]]:
    wecom = settings.wecom
    if not wecom.enabled:
        from bot.doctor import disabled_lines

        return [(True, "未启用（设置 DJBOT_WECOM__ENABLED=true 启用企业微信）"),
                *disabled_lines(settings, "wecom")]
    checks: list[tuple[bool | None, str]] = []
    modes = []
    if wecom.mode == "ws":
        modes.append(_mode("智能机器人长连接", wecom, ["bot_id", "bot_secret"], None))
    elif wecom.mode == "api":
        modes.append(_mode("智能机器人回调 /wecom/aibot", wecom,
                           ["aibot_token", "aibot_aes_key"], "aibot_aes_key"))
    else:
        checks.append((False, f"DJBOT_WECOM__MODE 只能是 api 或 ws，现在是 {wecom.mode!r}"))
    modes.append(_mode("自建应用回调 /wecom/app", wecom, ["corp_id", "app_token", "app_aes_key"],
                       "app_aes_key"))
    modes.append(_mode("自建应用发消息", wecom, ["corp_id", "agent_id", "app_secret"], None))
    checks += [line for configured, line in modes if configured and line is not None]
    if not any(configured for configured, _ in modes[:1]):
        needed = ("DJBOT_WECOM__BOT_ID、DJBOT_WECOM__BOT_SECRET" if wecom.mode == "ws"
                  else "DJBOT_WECOM__AIBOT_TOKEN、DJBOT_WECOM__AIBOT_AES_KEY")
        checks.append((False, f"智能机器人未配置，群里的签到收不到：需要 {needed}"))
    checks.append((True, f"回调时间窗 {wecom.max_clock_skew_seconds} 秒；接口地址 {wecom.api_base}"
                   + (f"；经代理 {wecom.proxy.split('@')[-1]}" if wecom.proxy else "")))
    if wecom.corp_id and wecom.app_secret:
        checks.append(asyncio.run(_try_token(wecom)))
    from bot.doctor import unreached_lines

    checks += unreached_lines(settings, "wecom")
    return checks


async def _try_token(wecom: WecomSettings) -> Check:
    from bot.adapters.wecom.client import WecomApiError, WecomClient

    client = WecomClient(wecom, SystemClock())
    try:
        await client.access_token()
        return True, "自建应用凭据有效（已取得 access_token）"
    except WecomApiError as exc:
        return False, f"取 access_token 失败：{exc.describe()}"
    finally:
        await client.aclose()
