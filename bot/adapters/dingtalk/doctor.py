"""`djbot doctor dingtalk`: is the DingTalk configuration complete, and does it work?"""

from __future__ import annotations

import asyncio

from bot.clock import SystemClock
from bot.config import DingtalkSettings, Settings

from .client import DingtalkClient, DingtalkError


def run(settings: Settings) -> list[tuple[bool | None, str]]:
    cfg = settings.dingtalk
    if not cfg.enabled:
        from bot.doctor import disabled_lines

        return [(True, "未启用（需要时设置 DJBOT_DINGTALK__ENABLED=true）"),
                *disabled_lines(settings, "dingtalk")]
    lines: list[tuple[bool | None, str]] = []
    missing = [name for name, value in (("APP_KEY", cfg.app_key), ("APP_SECRET", cfg.app_secret),
                                        ("ROBOT_CODE", cfg.robot_code)) if not value]
    if missing:
        names = "、".join(f"DJBOT_DINGTALK__{name}" for name in missing)
        lines.append((False, f"缺少 {names}：在钉钉开发者后台「应用凭证」和「机器人」页面复制"))
    else:
        lines.append((True, "AppKey、AppSecret、RobotCode 已配置"))
    if cfg.mode == "http":
        lines.append((True, "HTTP 回调模式：机器人消息接收地址填 https://<你的域名>/dingtalk/callback"))
        from .crypto import configuration_problem

        problem = configuration_problem(cfg)
        if problem is not None:
            lines.append((False, f"消息体加密配置有误：{problem}"))
        elif cfg.callback_aes_key:
            lines.append((True, "消息体加密已配置（token 与 aes_key）"))
        else:
            lines.append((True, "未配置消息体加密：若开发者后台开启了「消息体加密」，请设置 "
                                "DJBOT_DINGTALK__CALLBACK_TOKEN 和 DJBOT_DINGTALK__CALLBACK_AES_KEY"))
    elif cfg.mode == "stream":
        lines.append((True, "Stream 模式：无需公网地址；多副本时只有一个副本保持连接"))
        from bot.checks import stream_endpoint_problems

        lines += [(False, line) for line in stream_endpoint_problems(settings)]
    else:
        lines.append((False, f"DJBOT_DINGTALK__MODE 只能是 http 或 stream，现在是「{cfg.mode}」"))
    if cfg.app_key and cfg.app_secret:
        lines.append(asyncio.run(_try_token(cfg)))
    from bot.doctor import unreached_lines

    lines += unreached_lines(settings, "dingtalk")
    return lines


async def _try_token(cfg: DingtalkSettings) -> tuple[bool, str]:
    client = DingtalkClient(cfg, SystemClock())
    try:
        await client.access_token()
        return True, "已用 AppKey/AppSecret 取得 accessToken"
    except DingtalkError as exc:
        if exc.retryable:
            return False, f"暂时取不到 accessToken（{exc.reason}）：请检查网络或稍后再试"
        return False, (f"钉钉拒绝了 AppKey/AppSecret（{exc.reason}）："
                       "请核对「应用凭证」页面的 Client ID 和 Client Secret")
    finally:
        await client.aclose()
