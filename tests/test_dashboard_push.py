"""The leaders' Monday summary carries the dashboard's picture: a WeCom group-robot image
after the text, a DingTalk markdown image at a signed, expiring djbot URL; text alone
when no CJK font is installed."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from bot.adapters.dingtalk.client import DingtalkClient
from bot.adapters.dingtalk.senders import DingtalkSender
from bot.adapters.wecom.client import WecomClient
from bot.adapters.wecom.senders import WecomSender
from bot.app import create_app
from bot.config import DingtalkSettings, Settings, WebSettings, WecomSettings
from bot.outbox import OutboxWorker
from bot.scheduling.holidays import HolidayCalendar
from bot.scheduling.tick import Ticker
from bot.web import push
from storage.db import session_scope
from storage.models import PushChannel
from tests import fake_wecom as fw
from tests.conftest import local
from tests.dashboard_history import build_history
from tests.fake_dingtalk import FakeDingtalk

needs_font = pytest.mark.skipif(push.find_cjk_font() is None,
                                reason="no CJK font installed (fonts-noto-cjk): no picture to send")


@pytest.fixture
def wecom_fake():
    server = fw.FakeWecom().start()
    yield server
    server.stop()


@pytest.fixture
def dingtalk_fake():
    with FakeDingtalk() as server:
        yield server


@pytest.fixture
def settings(db_url, wecom_fake, dingtalk_fake) -> Settings:
    return Settings(
        database_url=db_url, _env_file=None,
        wecom=WecomSettings(enabled=True, corp_id=fw.CORP_ID, app_secret=fw.APP_SECRET,
                            agent_id="1000002", api_base=wecom_fake.base_url),
        dingtalk=DingtalkSettings(enabled=True, app_key=dingtalk_fake.app_key,
                                  app_secret=dingtalk_fake.app_secret, robot_code="ding-robot",
                                  api_base=dingtalk_fake.base_url,
                                  oapi_base=dingtalk_fake.base_url),
        web=WebSettings(secret="p" * 40, base_url="https://djbot.example.gov.cn"))


@pytest.fixture
async def monday(runtime, clock):
    """Three weeks of history, the leaders' WeCom robot set, and Monday 09:00's tick drained
    through both platforms' senders."""
    build_history(runtime, clock, weeks=3)
    with session_scope(runtime.engine) as s:
        s.add(PushChannel(platform="wecom", is_leaders=True, url="leaders-key",
                          set_at=clock.now()))
    wecom = WecomClient(runtime.settings.wecom, runtime.clock, backoff_seconds=0)
    dingtalk = DingtalkClient(runtime.settings.dingtalk, runtime.clock)
    worker = OutboxWorker(runtime.engine, runtime.clock, {
        "wecom": WecomSender(wecom, runtime.engine),
        "dingtalk": DingtalkSender(runtime.settings.dingtalk, dingtalk, runtime.engine,
                                   runtime.clock)})

    async def run():
        ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules,
                        calendar=HolidayCalendar())
        ticker.last = local(2026, 11, 23, 8, 59)
        clock.set(local(2026, 11, 23, 9, 0))
        ticker.tick()
        await worker.drain()

    yield run
    await wecom.aclose()
    await dingtalk.aclose()


def wecom_sends(fake) -> list[dict]:
    return [r.body for r in fake.calls("webhook/send") if r.params.get("key") == "leaders-key"]


def dingtalk_markdown(fake) -> str:
    [send] = [r for r in fake.delivered("/v1.0/robot/groupMessages/send")
              if r.body["openConversationId"] == "demo-leaders"]
    assert send.body["msgKey"] == "sampleMarkdown"
    return json.loads(send.body["msgParam"])["text"]


@needs_font
async def test_the_summary_carries_a_picture_on_both_platforms(monday, runtime, clock,
                                                               wecom_fake, dingtalk_fake,
                                                               monkeypatch):
    await monday()
    text, image = wecom_sends(wecom_fake)
    assert text["msgtype"] == "markdown" and "刑侦大队党支部" in text["markdown"]["content"]
    assert image["msgtype"] == "image"
    png = base64.b64decode(image["image"]["base64"])
    assert png.startswith(b"\x89PNG") and hashlib.md5(png).hexdigest() == image["image"]["md5"]

    markdown = dingtalk_markdown(dingtalk_fake)
    url = re.search(r"!\[[^\]]*\]\((https://djbot\.example\.gov\.cn/web/picture/[^)]+\.png)\)",
                    markdown)
    assert url and "刑侦大队党支部" in markdown  # the text summary is still there
    path = url.group(1).removeprefix("https://djbot.example.gov.cn")
    client = TestClient(create_app(runtime, start_background=False))
    served = client.get(path)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content.startswith(b"\x89PNG")
    # Fetched again and again (the link sits in a group for a week), it is drawn once a while.
    drawings = []
    drawing = push.picture_for_week
    monkeypatch.setattr(push, "picture_for_week", lambda *a: drawings.append(a) or drawing(*a))
    for _ in range(3):
        assert client.get(path).content == served.content
    assert drawings == []
    clock.set(clock.now() + timedelta(minutes=11))
    assert client.get(path).status_code == 200 and len(drawings) == 1
    assert client.get(path.replace(".png", "x.png")).status_code == 403  # altered
    clock.set(clock.now() + timedelta(days=8))
    assert client.get(path).status_code == 403  # expired


async def test_without_a_cjk_font_the_summary_goes_out_as_text(monday, monkeypatch,
                                                                wecom_fake, dingtalk_fake):
    monkeypatch.setattr(push, "find_cjk_font", lambda: None)
    await monday()
    [text] = wecom_sends(wecom_fake)
    assert text["msgtype"] == "markdown" and "刑侦大队党支部" in text["markdown"]["content"]
    markdown = dingtalk_markdown(dingtalk_fake)
    assert "刑侦大队党支部" in markdown and "![" not in markdown


@needs_font
async def test_without_a_public_address_dingtalk_gets_text_and_wecom_still_the_image(
        monday, runtime, wecom_fake, dingtalk_fake):
    runtime.settings.web.base_url = ""
    await monday()
    assert [b["msgtype"] for b in wecom_sends(wecom_fake)] == ["markdown", "image"]
    assert "![" not in dingtalk_markdown(dingtalk_fake)


@needs_font
def test_a_font_installed_after_matplotlib_listed_the_fonts_is_found(monkeypatch, tmp_path):
    # As on a machine that ran djbot (and so matplotlib, which keeps its font list in a
    # cache) before `apt-get install fonts-noto-cjk`.
    import matplotlib
    from matplotlib import font_manager

    manager = font_manager.fontManager
    cjk_files = {f.fname for f in manager.ttflist if f.name in push.CJK_FAMILIES}
    monkeypatch.setattr(manager, "ttflist", [f for f in manager.ttflist
                                             if f.fname not in cjk_files])
    monkeypatch.setattr(matplotlib, "get_cachedir", lambda: str(tmp_path))
    assert push.find_cjk_font.__wrapped__() in push.CJK_FAMILIES
    # … and the completed list is kept for the next start.
    [cache] = tmp_path.glob("fontlist-*.json")
    assert any(family in cache.read_text(encoding="utf-8") for family in push.CJK_FAMILIES)
