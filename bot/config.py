"""Settings, read once from the environment (prefix DJBOT_) and passed in, never global."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class WecomSettings(BaseModel):
    enabled: bool = False
    corp_id: str = ""
    # 智能机器人 (AI bot), API mode: JSON callbacks, receiveid "".
    aibot_token: str = ""
    aibot_aes_key: str = ""
    # 智能机器人, long-connection mode.
    bot_id: str = ""
    bot_secret: str = ""
    mode: str = "api"  # "api" (HTTP callbacks) or "ws" (long connection)
    ws_url: str = "wss://openws.work.weixin.qq.com"
    # 自建应用 (self-built app): XML callbacks, receiveid = corp_id.
    app_token: str = ""
    app_aes_key: str = ""
    agent_id: str = ""
    app_secret: str = ""
    api_base: str = "https://qyapi.weixin.qq.com"
    # WeCom documents no freshness window; djbot applies its own.
    max_clock_skew_seconds: int = Field(default=3600, ge=1)
    proxy: str | None = None


class DingtalkSettings(BaseModel):
    enabled: bool = False
    app_key: str = ""
    app_secret: str = ""
    robot_code: str = ""
    mode: str = "http"  # "http" (callback URL) or "stream"
    api_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"
    max_clock_skew_seconds: int = Field(default=3600, ge=1)
    # 消息体加密 of the HTTP callback: the token and aes_key of the app's 事件订阅 page.
    callback_token: str = ""
    callback_aes_key: str = ""


class WebSettings(BaseModel):
    """The dashboard (看板): signed links from the chat, then a session cookie."""

    # Signs links, sessions and picture URLs; empty turns the dashboard off.
    secret: str = ""
    # The public address of `djbot serve`, e.g. https://djbot.example.gov.cn; links in
    # the chat and the DingTalk picture URL are built from it.
    base_url: str = ""
    link_minutes: int = Field(default=10, ge=1, le=24 * 60)
    session_hours: int = Field(default=10, ge=1, le=24)
    # How long the picture URL in a weekly push stays valid.
    picture_days: int = Field(default=7, ge=1, le=31)
    # Sign people in inside WeCom's own browser (网页授权) without a link; needs the
    # self-built app (DJBOT_WECOM__CORP_ID, APP_SECRET, AGENT_ID) and its 可信域名.
    wecom_oauth: bool = False
    oauth_base: str = "https://open.weixin.qq.com"
    # Sign people in inside DingTalk's own browser by DingTalk's OAuth2 web login (a
    # redirect to its login page, no script); needs the internal app (DJBOT_DINGTALK__
    # APP_KEY, APP_SECRET), its 重定向URL and the permissions in docs/dashboard.md.
    dingtalk_oauth: bool = False
    dingtalk_login_base: str = "https://login.dingtalk.com"

    @property
    def enabled(self) -> bool:
        return bool(self.secret)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DJBOT_", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = "sqlite:///djbot.db"
    timezone: str = "Asia/Shanghai"
    # Points rules (TOML); None means the documented defaults shipped with djbot.
    rules_file: Path | None = None
    # A check-in later than start + grace counts as late.
    late_grace_minutes: int = Field(default=10, ge=0)
    # Leave asked before the start is granted unless revoked; True makes it wait for approval.
    leave_requires_approval: bool = False
    # Absence stays provisional this long after the end unless the secretary closes the record.
    absence_confirm_hours: int = Field(default=24, ge=0)
    # How long before its start a member may check in.
    checkin_opens_minutes_before: int = Field(default=30, ge=0)
    visit_target_per_year: int = Field(default=2, ge=0)
    quiet_start: time = time(22, 0)
    quiet_end: time = time(7, 30)
    catchup_grace_minutes: int = Field(default=30, ge=0)
    # Delivery records (for de-duplicating retries) and sent or withdrawn outbox rows are
    # kept this long; under a day, a platform's retry could find its record gone and count twice.
    retention_days: int = Field(default=30, ge=1)
    tick_seconds: int = Field(default=30, ge=1)
    log_json: bool = False
    # Unset: INFO for `djbot serve`, ERROR for chat and tick (their output is what is said),
    # WARNING for the other commands.
    log_level: str | None = None

    wecom: WecomSettings = Field(default_factory=WecomSettings)
    dingtalk: DingtalkSettings = Field(default_factory=DingtalkSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("rules_file", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        # `DJBOT_RULES_FILE=` in an env file leaves it unset, as the example's other lines
        # do; read as a path it would be the working directory.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None  # unset (or left empty in an env file): the command's own level
        if value.upper() in LOG_LEVELS:
            return value
        raise ValueError(f"应为 {'、'.join(LOG_LEVELS)} 之一")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
