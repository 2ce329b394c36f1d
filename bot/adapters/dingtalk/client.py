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
# The legacy oapi answers a bad or expired app token with these codes (newer topapi
# paths answer errcode 88 with the code as sub_code); the token is renewed once.
OAPI_BAD_TOKEN = {"40014", "42001"}
# The v1.0 API's code for a token it does not take (with HTTP 400).
TOKEN_REFUSED = "InvalidAuthentication"
# topapi/user/getbyunionid: "找不到该用户", the unionId is nobody in this organisation.
OAPI_NO_SUCH_USER = 60121


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

    # --- OAuth2 web login (the dashboard's sign-in inside DingTalk) --------------------
    # The flow of DingTalk's "实现登录第三方网站" tutorial (open.dingtalk.com/document/
    # isvapp/tutorial-enabling-login-to-third-party-websites): authCode → user token →
    # unionId → userid. Field names as in aliyun/dingtalk-sdk, python/alibabacloud_dingtalk
    # oauth2_1_0 (GetUserTokenRequest/ResponseBody) and contact_1_0 (GetUser).

    async def user_access_token(self, auth_code: str) -> str:
        """The user's token for a one-time authCode (SDK GetUserToken:
        POST /v1.0/oauth2/userAccessToken {clientId, clientSecret, code, grantType})."""
        data = await self._post(
            f"{self.settings.api_base}/v1.0/oauth2/userAccessToken",
            {"clientId": self.settings.app_key, "clientSecret": self.settings.app_secret,
             "code": auth_code, "grantType": "authorization_code"},
            what="userAccessToken",
        )
        token = data.get("accessToken")
        if not isinstance(token, str) or not token:
            raise DingtalkError("userAccessToken: unexpected answer", retryable=False)
        return token

    async def union_id_of(self, user_token: str) -> str:
        """Whose user token this is (SDK contact_1_0 GetUser: GET /v1.0/contact/users/
        {unionId}, "me" for the user the token belongs to; needs the app's permission
        Contact.User.Read, 通讯录个人信息读权限)."""
        data = await self._send("GET", f"{self.settings.api_base}/v1.0/contact/users/me",
                                what="contact/users/me",
                                headers={"x-acs-dingtalk-access-token": user_token})
        union_id = data.get("unionId")
        if not isinstance(union_id, str) or not union_id:
            raise DingtalkError("contact/users/me: no unionId", retryable=False)
        return union_id

    async def user_id_by_union_id(self, union_id: str) -> str | None:
        """The organisation's userid for a unionId, None when the person is not in it
        (oapi POST /topapi/user/getbyunionid?access_token=… {unionid} → {errcode,
        result: {userid, contact_type}}; open.dingtalk.com/document/orgapp/
        query-a-user-by-the-union-id; needs 成员信息读权限 qyapi_get_member)."""
        url = f"{self.settings.oapi_base}/topapi/user/getbyunionid"
        for attempt in (1, 2):
            data = await self._post(url, {"unionid": union_id}, what="getbyunionid",
                                    params={"access_token": await self.access_token()})
            errcode = data.get("errcode", 0)
            detail = str(data.get("sub_code") or errcode)
            if detail in OAPI_BAD_TOKEN and attempt == 1:
                self.forget_token()
                continue
            if errcode == OAPI_NO_SUCH_USER:
                return None
            if errcode != 0:
                # 60011 (as errcode or sub_code): the app lacks 成员信息读权限.
                raise DingtalkError(f"getbyunionid: errcode {errcode} {detail}",
                                    retryable=errcode == -1, code=detail)
            result = data.get("result")
            user_id = result.get("userid") if isinstance(result, dict) else None
            return user_id if isinstance(user_id, str) and user_id else None
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
                    headers: dict[str, str] | None = None,
                    params: dict[str, str] | None = None) -> dict[str, Any]:
        return await self._send("POST", url, what=what, body=body, headers=headers,
                                params=params)

    async def _send(self, method: str, url: str, *, what: str,
                    body: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                    params: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = await self.http.request(method, url, json=body, headers=headers,
                                               params=params)
        except httpx.HTTPError as exc:
            raise DingtalkError(f"{what}: {type(exc).__name__}", retryable=True) from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code == 401 or (response.status_code == 400
                                           and data.get("code") == TOKEN_REFUSED):
            # The v1.0 API refuses a token it no longer takes (revoked, the AppSecret reset)
            # with 400 InvalidAuthentication「不合法的access_token」, as integrations report
            # it (satorijs/satori#240, ClouGence/open-cdm#342): api() fetches a new one.
            raise DingtalkError(f"{what}: {response.status_code} {data.get('code', '')}".strip(),
                                retryable=True, code=401)
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
