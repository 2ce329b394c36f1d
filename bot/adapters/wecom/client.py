"""The one outbound WeCom client: explicit timeouts, a cached access token, errcode handling.

Every call returns the decoded JSON on errcode 0 and raises WecomApiError otherwise; the
error says whether trying again later can help, so the outbox can decide.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import httpx

from bot.adapters.common import TokenCache, on_platform_host
from bot.clock import Clock
from bot.config import WecomSettings

log = logging.getLogger("djbot.wecom.client")

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Fetch a new token this long before WeCom says the old one expires.
TOKEN_MARGIN = timedelta(minutes=5)
TOKEN_INVALID = {40014, 42001}  # invalid / expired access_token: refetch once
# Where a response_url from a callback body may point (besides the configured API base).
OFFICIAL_HOSTS = ("qyapi.weixin.qq.com",)
SYSTEM_BUSY = -1  # WeCom: "系统繁忙", retry a few times
FREQ_LIMIT = 45009  # "api freq out of limit"
RATE_LIMIT_WAIT = 60.0
# "api concurrent out of limit" (接口并发调用超过限制): too many calls of one API at the
# same moment, a refusal of the moment like 45009, never of the message.
CONCURRENCY_LIMIT = 45033
CONCURRENCY_WAIT = 10.0
_WAIT_FOR = {FREQ_LIMIT: RATE_LIMIT_WAIT, CONCURRENCY_LIMIT: CONCURRENCY_WAIT}

EXPLANATIONS = {
    60020: "服务器出口 IP 不在自建应用的「企业可信IP」中：在管理后台 应用详情 → 企业可信IP 加入本机出口 IP，"
    "或设置 DJBOT_WECOM__PROXY 经固定 IP 的代理访问",
    40001: "应用 Secret 无效：核对 DJBOT_WECOM__APP_SECRET（应用详情 → Secret）",
    40013: "CorpID 无效：核对 DJBOT_WECOM__CORP_ID（我的企业 → 企业ID）",
    45009: "接口调用超过频率限制，稍后重试",
    45033: "接口并发调用超过限制，稍后重试",
    -1: "企业微信系统繁忙，稍后重试",
    93000: "群机器人 webhook key 无效或已删除：请重新设置推送地址",
}


NOT_REACHED = -6  # the connection failed: the request never reached WeCom


class WecomApiError(Exception):
    def __init__(self, errcode: int, errmsg: str, *, retryable: bool,
                 retry_after: float | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(self.describe())

    def describe(self) -> str:
        """A short line for logs and the outbox: errcode, WeCom's text and what to do."""
        hint = EXPLANATIONS.get(self.errcode)
        base = f"errcode {self.errcode}: {self.errmsg}"
        return f"{base}（{hint}）" if hint else base


def nothing_shown(exc: WecomApiError) -> bool:
    """Whether a failed one-shot POST (response_url) certainly showed nothing: WeCom
    answered with an errcode, -1 (系统繁忙, "try later") among them, or the request never
    reached it. A timeout or a broken answer may have been shown."""
    return exc.errcode in (NOT_REACHED, SYSTEM_BUSY) or exc.errcode > 0


class WecomClient:
    def __init__(self, settings: WecomSettings, clock: Clock, *,
                 http: httpx.AsyncClient | None = None, backoff_seconds: float = 0.5) -> None:
        self.settings = settings
        self.clock = clock
        self.base = settings.api_base.rstrip("/")
        self.http = http or httpx.AsyncClient(timeout=TIMEOUT, proxy=settings.proxy or None)
        self.backoff_seconds = backoff_seconds
        self._token = TokenCache(clock, margin=TOKEN_MARGIN)

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- access token -------------------------------------------------------------

    async def access_token(self, *, force: bool = False) -> str:
        return await self._token.get(self._fetch_token, force=force)

    async def _fetch_token(self) -> tuple[str, int]:
        data = await self._request(
            "GET", "/cgi-bin/gettoken",
            params={"corpid": self.settings.corp_id, "corpsecret": self.settings.app_secret},
        )
        expires_in = int(data.get("expires_in") or 7200)
        log.info("wecom access token fetched, valid %d s", expires_in)
        return data["access_token"], expires_in

    # --- calls --------------------------------------------------------------------

    async def _request(self, method: str, url: str, *, params: dict | None = None,
                       json: Any = None, attempts: int = 3) -> dict[str, Any]:
        """One call with the -1 retries; raise WecomApiError for anything but errcode 0."""
        full = url if url.startswith("http") else self.base + url
        for attempt in range(attempts):
            try:
                response = await self.http.request(method, full, params=params, json=json)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                # Nothing was sent (refused, or no connection made in time): unlike a
                # timeout while writing or reading, WeCom cannot have taken it.
                raise WecomApiError(NOT_REACHED, "could not connect", retryable=True) from None
            except httpx.TimeoutException:
                raise WecomApiError(-2, "timeout", retryable=True) from None
            except httpx.HTTPError as exc:
                raise WecomApiError(-3, f"network error ({type(exc).__name__})",
                                    retryable=True) from None
            if response.status_code >= 500:
                raise WecomApiError(-4, f"HTTP {response.status_code}", retryable=True)
            if response.status_code >= 400:
                # WeCom answers 200 (errcode says what went wrong): a 4xx comes from what
                # stands between, a forward proxy or a private deployment's gateway, and
                # whatever its body says, the message did not get through.
                raise WecomApiError(-4, f"HTTP {response.status_code}",
                                    retryable=response.status_code in (408, 429))
            try:
                data = response.json()
            except ValueError:
                raise WecomApiError(-5, f"HTTP {response.status_code}, not JSON",
                                    retryable=response.status_code >= 500) from None
            errcode = int(data.get("errcode") or 0)
            if errcode == 0:
                return data
            if errcode == SYSTEM_BUSY and attempt < attempts - 1:
                await asyncio.sleep(self.backoff_seconds * 2**attempt)
                continue
            errmsg = str(data.get("errmsg") or "")
            if errcode in _WAIT_FOR:  # a refusal of the moment, never of the message
                raise WecomApiError(errcode, errmsg, retryable=True, retry_after=_WAIT_FOR[errcode])
            raise WecomApiError(errcode, errmsg, retryable=errcode in (SYSTEM_BUSY,))
        raise AssertionError("unreachable")  # pragma: no cover

    async def call(self, path: str, body: dict[str, Any] | None = None, *,
                   method: str = "POST", params: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        """An access-token API (POST `body`, or GET with `params`); a token WeCom rejects
        as invalid or expired (it may end one early) is refetched once."""
        token = await self.access_token()
        try:
            return await self._request(method, path, params={**(params or {}),
                                                             "access_token": token}, json=body)
        except WecomApiError as exc:
            if exc.errcode not in TOKEN_INVALID:
                raise
            log.info("wecom access token rejected (errcode %d), fetching a new one", exc.errcode)
        token = await self.access_token(force=True)
        return await self._request(method, path, params={**(params or {}), "access_token": token},
                                   json=body)

    async def send_app_message(self, touser: str, msgtype: str, content: dict[str, Any], *,
                               duplicate_check: bool = True) -> dict[str, Any]:
        """A private message from the self-built app. With duplicate_check, WeCom does not
        show the same request again within 30 minutes (path/90236), whoever sent it: a
        retry never doubles a nudge, but an answer asked for twice is not shown twice."""
        body: dict[str, Any] = {
            "touser": touser,
            "msgtype": msgtype,
            "agentid": int(self.settings.agent_id) if str(self.settings.agent_id).isdigit()
            else self.settings.agent_id,
            msgtype: content,
        }
        if duplicate_check:
            body.update(enable_duplicate_check=1, duplicate_check_interval=1800)
        return await self.call("/cgi-bin/message/send", body)

    async def user_id_from_code(self, code: str) -> str | None:
        """网页授权: the userid behind an OAuth code (None for someone outside the corp)."""
        data = await self.call("/cgi-bin/auth/getuserinfo", method="GET", params={"code": code})
        return data.get("userid") or data.get("UserId") or None

    async def webhook_send(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """A group robot (消息推送) message; the key is the only credential, never logged."""
        return await self._request("POST", "/cgi-bin/webhook/send", params={"key": key},
                                   json=body)

    async def respond(self, response_url: str, body: dict[str, Any]) -> dict[str, Any]:
        """The AI bot's one-shot response_url (valid for an hour, usable once): never retried."""
        return await self._request("POST", response_url, json=body, attempts=1)

    def owns(self, url: str) -> bool:
        """Whether a URL from a callback body is on WeCom's API host (or the configured base)."""
        return on_platform_host(url, official=OFFICIAL_HOSTS, bases=(self.base,))
