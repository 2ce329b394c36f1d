"""WeCom 网页授权: sign a member in inside WeCom's own browser, without a link.

djbot sends the browser to WeCom's authorize page (snsapi_base: no consent screen for
people of the corp), WeCom sends it back with a one-time code, and djbot asks WeCom whose
code it is. The state parameter is a signed, short-lived token carrying the page asked
for, so a forged or replayed callback cannot choose where it lands or sign anyone in.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from bot.adapters.wecom.client import WecomApiError, WecomClient
from bot.runtime import Runtime
from bot.web import tokens
from storage import org

log = logging.getLogger("djbot.web.oauth")

OAUTH = "oauth"
STATE_MINUTES = 5


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

    def redirect(self, then: str) -> Response:
        state = tokens.sign(self.web.secret, OAUTH, {"p": then},
                            expires=self.runtime.clock.now() + timedelta(minutes=STATE_MINUTES))
        query = urlencode({"appid": self.wecom.corp_id,
                           "redirect_uri": self.web.url("/web/oauth/wecom"),
                           "response_type": "code", "scope": "snsapi_base", "state": state,
                           "agentid": self.wecom.agent_id})
        url = f"{self.web.oauth_base.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect"
        return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})

    async def callback(self, code: str = "", state: str = "") -> Response:
        from bot.web.routes import _refused, start_session

        claims = tokens.verify(self.web.secret, OAUTH, state, now=self.runtime.clock.now())
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
        return start_session(self.runtime, member_id, how="wecom-oauth", then=claims.get("p"))
