"""Sign a member in inside WeCom's or DingTalk's own browser, without a link.

WeCom 网页授权: djbot sends the browser to WeCom's authorize page (snsapi_base: no
consent screen for people of the corp), WeCom sends it back with a one-time code, and
djbot asks WeCom whose code it is. DingTalk's OAuth2 web login works the same way (see
DingtalkOAuth). The state parameter is a signed, short-lived token carrying the page
asked for, so a forged or replayed callback cannot choose where it lands or sign anyone in.
It is also bound to the browser that began the sign-in (a cookie set with the redirect):
a way back begun elsewhere, sent as a link, would sign whoever opens it in as the sender.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from bot.adapters.wecom.client import WecomApiError, WecomClient
from bot.config import WebSettings
from bot.runtime import Runtime
from bot.web import tokens
from storage import org

log = logging.getLogger("djbot.web.oauth")

OAUTH = "oauth"
# Its own purpose: a WeCom state cannot be replayed at the DingTalk callback.
DINGTALK_OAUTH = "oauth-dingtalk"
STATE_MINUTES = 5
# The browser's half of a sign-in: a random value whose digest the state carries, kept
# only as long as a state lasts. Sent to every page under /web/, so that a sign-in begun
# in a second tab keeps it and either tab may finish.
BINDING = "djbot_signin"
BINDING_PATH = "/web"


def _binding_of(value: str) -> str:
    return tokens._b64(hashlib.sha256(value.encode()).digest())


def _bound_redirect(request: Request, web: WebSettings, url: Callable[[str], str],
                    purpose: str, then: str, now: datetime) -> Response:
    """The redirect to `url(state)`, the state signed for `then` and bound to this browser."""
    browser = request.cookies.get(BINDING) or ""
    if not (20 <= len(browser) <= 64 and browser.isascii()):
        browser = secrets.token_urlsafe(24)
    state = tokens.sign(web.secret, purpose, {"p": then, "b": _binding_of(browser)},
                        expires=now + timedelta(minutes=STATE_MINUTES))
    response = RedirectResponse(url(state), status_code=302,
                                headers={"Cache-Control": "no-store"})
    # Lax: the platform sends the browser back with a top-level GET, which carries it.
    response.set_cookie(BINDING, browser, max_age=STATE_MINUTES * 60, path=BINDING_PATH,
                        httponly=True, samesite="lax",
                        secure=web.base_url.startswith("https://"))
    return response


def _same_browser(request: Request, claims: dict[str, Any]) -> bool:
    """Whether the callback comes to the browser the state was made for."""
    browser = request.cookies.get(BINDING) or ""
    if not browser.isascii() or not isinstance(claims.get("b"), str):
        return False
    return hmac.compare_digest(_binding_of(browser), claims["b"])


def _signed_in(response: Response, web: WebSettings) -> Response:
    """The binding is spent once the sign-in is done."""
    if response.status_code == 303:
        response.delete_cookie(BINDING, path=BINDING_PATH, httponly=True, samesite="lax",
                               secure=web.base_url.startswith("https://"))
    return response


class WecomOAuth:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.web = runtime.settings.web
        self.wecom = runtime.settings.wecom
        self.client = WecomClient(self.wecom, runtime.clock)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        await self.client.aclose()

    def redirect(self, request: Request, then: str) -> Response:
        def url(state: str) -> str:
            query = urlencode({"appid": self.wecom.corp_id,
                               "redirect_uri": self.web.url("/web/oauth/wecom"),
                               "response_type": "code", "scope": "snsapi_base", "state": state,
                               "agentid": self.wecom.agent_id})
            return (f"{self.web.oauth_base.rstrip('/')}/connect/oauth2/authorize?{query}"
                    "#wechat_redirect")

        return _bound_redirect(request, self.web, url, OAUTH, then, self.runtime.clock.now())

    async def callback(self, request: Request, code: str = "", state: str = "") -> Response:
        from bot.web.routes import _refused, start_session

        claims = tokens.verify(self.web.secret, OAUTH, state, now=self.runtime.clock.now())
        if claims is not None and not _same_browser(request, claims):
            claims = None
        if claims is None or not code or len(code) > 512:
            return _refused(403, "登录已过期，请重新打开看板。")
        try:
            user_id = await self.client.user_id_from_code(code)
        except WecomApiError as exc:
            log.warning("wecom oauth code refused: %s", exc.describe())
            return _refused(403, "企业微信未能确认你的身份，请在私聊中发送「看板」获取链接。")
        if not user_id:
            return _refused(403, "你不是本单位企业微信成员，无法打开看板。")
        with Session(self.runtime.engine) as session:
            member = org.member_by_identity(session, platform="wecom", user_id=user_id)
            member_id = member.id if member else None
        if member_id is None:
            return _refused(403, "你不在党员名册中，无法打开看板。")
        return _signed_in(start_session(self.runtime, member_id, how="wecom-oauth",
                                        then=claims.get("p")), self.web)


class DingtalkOAuth:
    """DingTalk's OAuth2 web login (登录第三方网站), in place of 免登's JSAPI script.

    The browser goes to DingTalk's own login page: a top-level navigation, so nothing of
    DingTalk's is loaded into djbot's pages. Inside DingTalk's client the person is
    already signed in there, so it comes straight back with a one-time authCode; djbot
    turns it into the person's unionId and the organisation's userid, server-side.
    """

    def __init__(self, runtime: Runtime) -> None:
        from bot.adapters.dingtalk.client import DingtalkClient

        self.runtime = runtime
        self.web = runtime.settings.web
        self.dingtalk = runtime.settings.dingtalk
        self.client = DingtalkClient(self.dingtalk, runtime.clock)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        await self.client.aclose()

    def redirect(self, request: Request, then: str) -> Response:
        # Parameters of login.dingtalk.com/oauth2/auth as DingTalk's "实现登录第三方网站"
        # tutorial gives them: redirect_uri must equal the app's registered 重定向URL;
        # client_id is the internal app's AppKey; scope openid yields the unionId;
        # prompt=consent is what the tutorial asks for; state comes back unchanged.
        def url(state: str) -> str:
            query = urlencode({"redirect_uri": self.web.url("/web/oauth/dingtalk"),
                               "response_type": "code", "client_id": self.dingtalk.app_key,
                               "scope": "openid", "state": state, "prompt": "consent"})
            return f"{self.web.dingtalk_login_base.rstrip('/')}/oauth2/auth?{query}"

        return _bound_redirect(request, self.web, url, DINGTALK_OAUTH, then,
                               self.runtime.clock.now())

    async def callback(self, request: Request, authCode: str = "",  # noqa: N803
                       state: str = "") -> Response:
        """DingTalk sends the browser back with ?authCode=…&state=…"""
        from bot.adapters.dingtalk.client import DingtalkError
        from bot.web.routes import _refused, start_session

        claims = tokens.verify(self.web.secret, DINGTALK_OAUTH, state,
                               now=self.runtime.clock.now())
        if claims is not None and not _same_browser(request, claims):
            claims = None  # begun in another browser: a link someone sent
        if claims is None:
            return _refused(403, "登录已过期或无效，请重新打开看板。")
        if not authCode or len(authCode) > 512:
            return _refused(400, "钉钉没有给出授权码，请重新打开看板。")
        try:
            user_token = await self.client.user_access_token(authCode)
            union_id = await self.client.union_id_of(user_token)
            user_id = await self.client.user_id_by_union_id(union_id)
        except DingtalkError as exc:
            log.warning("dingtalk oauth refused: %s%s", exc.reason, _permission_hint(exc))
            if exc.retryable and exc.code != 401:  # 401: the user token itself was refused
                return _refused(503, "暂时无法连接钉钉，请稍后重新打开看板。")
            return _refused(403, "钉钉未能确认你的身份，请在私聊中发送「看板」获取链接。")
        if not user_id:
            return _refused(403, "你不是本单位钉钉组织的成员，无法打开看板。")
        with Session(self.runtime.engine) as session:
            member = org.member_by_identity(session, platform="dingtalk", user_id=user_id)
            member_id = member.id if member else None
        if member_id is None:
            return _refused(403, "你不在党员名册中，无法打开看板。")
        return _signed_in(start_session(self.runtime, member_id, how="dingtalk-oauth",
                                        then=claims.get("p")), self.web)


def _permission_hint(exc: Exception) -> str:
    """What the operator should grant when DingTalk says the app may not ask."""
    reason = getattr(exc, "reason", "")
    if "contact/users/me" in reason and "403" in reason:
        return " (grant the app 通讯录个人信息读权限 Contact.User.Read)"
    if "getbyunionid" in reason and str(getattr(exc, "code", "")) == "60011":
        return " (grant the app 成员信息读权限 qyapi_get_member)"
    return ""
