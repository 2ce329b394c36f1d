"""`djbot doctor web`: is the dashboard reachable from the chat, and can the weekly push
carry its picture?"""

from __future__ import annotations

from bot.config import Settings
from bot.web import push


def run(settings: Settings) -> list[tuple[bool, str]]:
    web = settings.web
    lines: list[tuple[bool, str]] = []
    if not web.enabled:
        lines.append((True, "看板未开通（未设置 DJBOT_WEB__SECRET）；「看板」会回复尚未开通"))
    elif not web.base_url:
        lines.append((False, "已设置 DJBOT_WEB__SECRET，但缺少 DJBOT_WEB__BASE_URL："
                             "聊天里的链接和钉钉周报图片需要 djbot serve 的公网地址"))
    else:
        lines.append((True, f"看板已开通：{web.url('/web/')}"))
    if web.enabled and web.dingtalk_oauth:
        ding = settings.dingtalk
        if ding.app_key and ding.app_secret:
            lines.append((True, "钉钉内免登录已开启：钉钉应用「登录与分享」的重定向URL应为 "
                                f"{web.url('/web/oauth/dingtalk')}"))
        else:
            lines.append((False, "已设置 DJBOT_WEB__DINGTALK_OAUTH，但缺少 DJBOT_DINGTALK__APP_KEY/"
                                 "APP_SECRET：钉钉内不会自动登录"))
    font = push.find_cjk_font()
    if font:
        lines.append((True, f"周报图片可用：已安装中文字体 {font}"))
    else:
        # A note, not a failure: the summary still goes out, as text.
        lines.append((None, "未找到中文字体，周报只发文字：安装 fonts-noto-cjk 或 fonts-wqy-microhei 后重启"))
    return lines
