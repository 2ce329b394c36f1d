"""DingTalk's sign-in in a real headless Chromium that says it is DingTalk's browser: a page
without a session goes to DingTalk's login page (the fake, on 127.0.0.1), comes back with
an authCode and lands signed in; the network log shows nothing but djbot and that page,
and no script but djbot's own.

Skipped where chromium and chromium-driver are absent, like tests/test_dashboard_browser.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime

import httpx
import pytest

from bot.clock import ManualClock
from bot.config import Settings, WebSettings
from bot.demo import load_demo
from bot.runtime import build_runtime
from tests.conftest import SHANGHAI
from tests.fake_dingtalk import FakeDingtalk
from tests.test_dashboard_browser import (CHROMEDRIVER, CHROMIUM, browser, free_port,  # noqa: F401
                                          requested)

pytestmark = [
    pytest.mark.own_databases,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="no headless Chromium: apt-get install chromium chromium-driver "
                              "(.ci/run does)"),
]

SECRET = "d" * 40
DINGTALK_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/120.0 Mobile Safari/537.36 AliApp(DingTalk/7.6.0) "
               "com.alibaba.android.rimet/36512345 Channel/700159 language/zh-CN")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The demo roster, DingTalk's fake, and `djbot serve` with DingTalk sign-in on."""
    folder = tmp_path_factory.mktemp("dashboard-dingtalk")
    url = f"sqlite:///{folder / 'djbot.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    runtime = build_runtime(Settings(database_url=url, _env_file=None,
                                     web=WebSettings(secret=SECRET, base_url=base)),
                            clock=ManualClock(datetime.now(SHANGHAI)))
    load_demo(runtime)
    runtime.engine.dispose()
    with FakeDingtalk() as fake:
        fake.registered_redirect = f"{base}/web/oauth/dingtalk"
        env = {**os.environ, "DJBOT_DATABASE_URL": url, "DJBOT_WEB__SECRET": SECRET,
               "DJBOT_WEB__BASE_URL": base, "DJBOT_LOG_LEVEL": "WARNING",
               "DJBOT_WEB__DINGTALK_OAUTH": "true",
               "DJBOT_WEB__DINGTALK_LOGIN_BASE": fake.base_url,
               "DJBOT_DINGTALK__APP_KEY": fake.app_key,
               "DJBOT_DINGTALK__APP_SECRET": fake.app_secret,
               "DJBOT_DINGTALK__API_BASE": fake.base_url,
               "DJBOT_DINGTALK__OAPI_BASE": fake.base_url}
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"djbot serve did not start: {process.stderr.read()!r}")
                time.sleep(0.2)
            yield {"base": base, "fake": fake}
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_in_dingtalks_browser_a_member_is_signed_in_by_dingtalk(browser, served):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": DINGTALK_UA})
    browser.delete_all_cookies()
    served["fake"].client_user = "ding-cg03"  # 张伟 is signed in to the DingTalk client
    browser.get(served["base"] + "/web/")
    assert "/web/member/" in browser.current_url
    assert "张伟" in browser.find_element(By.TAG_NAME, "body").text
    urls = requested(browser)
    login = [u for u in urls if u.startswith(served["fake"].base_url)]
    assert len(login) == 1 and "/oauth2/auth?" in login[0]  # one top-level visit
    scripts = [u for u in urls if u.endswith(".js")]
    assert scripts and all(u.startswith(served["base"] + "/web/static/") for u in scripts)
    assert all(u.startswith(("http://127.0.0.1:", "data:")) for u in urls), urls


def test_in_dingtalks_browser_someone_off_the_roster_gets_a_refusal(browser, served):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": DINGTALK_UA})
    browser.delete_all_cookies()
    served["fake"].client_user = "ding-driver07"  # in the organisation, not a party member
    browser.get(served["base"] + "/web/")
    assert "/web/oauth/dingtalk" in browser.current_url
    assert "不在党员名册中" in browser.find_element(By.TAG_NAME, "body").text
    assert not [c for c in browser.get_cookies() if c["name"] == "djbot_session"]
