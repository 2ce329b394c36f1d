"""DingTalk's HTTP APIs behind one async client: explicit timeouts, a cached access token.

Errors come back as DingtalkError saying whether a retry can help; no URL (they carry
tokens) and no message body ever goes into an error or a log line.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx

from bot.adapters.common import TokenCache, on_platform_host
from bot.clock import Clock
from bot.config import DingtalkSettings

log = logging.getLogger("djbot.dingtalk")

TIMEOUT = httpx.Timeout(5.0, connect=3.0)
# Where a sessionWebhook from a callback body may point (besides the configured bases).
OFFICIAL_HOSTS = ("oapi.dingtalk.com", "api.dingtalk.com")
# Refresh this long before DingTalk says the token expires, so a send never races expiry.
TOKEN_MARGIN = timedelta(minutes=5)
# Custom robot: "send too fast, exceed 20 times per minute"; the robot is then blocked 10 min.
ROBOT_THROTTLED = 130101
ROBOT_THROTTLE_SECONDS = 600


class DingtalkError(Exception):
    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None,
                 code: str | int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.code = code


class DingtalkClient:
    def __init__(self, settings: DingtalkSettings, clock: Clock,
                 *, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.http = http or httpx.AsyncClient(timeout=TIMEOUT)
        self._token = TokenCache(clock, margin=TOKEN_MARGIN)

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- access token -------------------------------------------------------------

    async def access_token(self) -> str:
        return await self._token.get(self._fetch_token)

    async def _fetch_token(self) -> tuple[str, int]:
        data = await self._post(
            f"{self.settings.api_base}/v1.0/oauth2/accessToken",
            {"appKey": self.settings.app_key, "appSecret": self.settings.app_secret},
            what="accessToken",
        )
        token, expire_in = data.get("accessToken"), data.get("expireIn")
        if not token or not isinstance(expire_in, int):
            raise DingtalkError("accessToken: unexpected answer", retryable=True)
        log.info("dingtalk access token refreshed, valid %d s", expire_in)
        return token, expire_in

    def forget_token(self) -> None:
        self._token.forget()

    # --- calls --------------------------------------------------------------------

    async def api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to the v1.0 API with the access token; a rejected token is renewed once."""
        url = f"{self.settings.api_base}{path}"
        for attempt in (1, 2):
            headers = {"x-acs-dingtalk-access-token": await self.access_token()}
            try:
                return await self._post(url, body, what=path, headers=headers)
            except DingtalkError as exc:
                if exc.code == 401 and attempt == 1:
                    self.forget_token()
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def owns(self, url: str) -> bool:
        """Whether a URL from a callback body is on DingTalk's hosts (or a configured base)."""
        return on_platform_host(url, official=OFFICIAL_HOSTS,
                                bases=(self.settings.api_base, self.settings.oapi_base))

    async def webhook(self, url: str, body: dict[str, Any], *, what: str) -> None:
        """POST to a sessionWebhook or a custom robot; they answer {errcode, errmsg}."""
        data = await self._post(url, body, what=what)
        errcode = data.get("errcode", 0)
        if errcode == 0:
            return
        if errcode == ROBOT_THROTTLED:
            raise DingtalkError(f"{what}: throttled (130101)", retryable=True,
                                retry_after=ROBOT_THROTTLE_SECONDS, code=errcode)
        # -1 is "system busy"; anything else (bad sign, keyword, IP list) will not heal.
        raise DingtalkError(f"{what}: errcode {errcode}", retryable=errcode == -1, code=errcode)

    async def _post(self, url: str, body: dict[str, Any], *, what: str,
                    headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = await self.http.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DingtalkError(f"{what}: {type(exc).__name__}", retryable=True) from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code == 401:
            raise DingtalkError(f"{what}: 401 {data.get('code', '')}".strip(), retryable=True,
                                code=401)
        if response.status_code == 429 or response.status_code >= 500:
            raise DingtalkError(f"{what}: HTTP {response.status_code}", retryable=True,
                                retry_after=_retry_after(response), code=response.status_code)
        if response.status_code >= 400:
            code = data.get("code") or response.status_code
            # The v1.0 API says "QpsLimit…"/"Throttling…" when we go too fast.
            retryable = any(word in str(code) for word in ("Qps", "Throttl", "Limit"))
            raise DingtalkError(f"{what}: HTTP {response.status_code} {code}", retryable=retryable,
                                code=code)
        if not isinstance(data, dict):
            raise DingtalkError(f"{what}: answer is not a JSON object", retryable=True)
        return data


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None
