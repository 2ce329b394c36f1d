"""The dashboard in a real headless Chromium, as a leader, a secretary and a member would use it
on a phone: against `djbot serve` on 127.0.0.1 with the demo bureau and weeks of history.

Needs Debian's chromium and chromium-driver (`.ci/run` installs them); skipped where they are
absent. One served instance and one browser for the whole module, so it stays quick.
Screenshots go to the test's output folder; with DJBOT_DOCS_SCREENSHOTS=1 they are also
copied to docs/img/ (how docs/dashboard.md's pictures are refreshed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.clock import ManualClock
from bot.config import Settings, WebSettings
from bot.runtime import build_runtime
from bot.web import tokens
from tests.conftest import SHANGHAI
from tests.dashboard_history import build_history, say

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
selenium = pytest.importorskip("selenium",
                               reason="selenium is not installed (pip install '.[test]')")
pytestmark = [
    pytest.mark.own_databases,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="no headless Chromium: apt-get install chromium chromium-driver "
                              "(.ci/run does)"),
]

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

SECRET = "b" * 40
WIDTH = 375
DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A demo database with eight weeks of history, served by `djbot serve`."""
    folder = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{folder / 'djbot.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    now = datetime.now(SHANGHAI)
    monday = (now - timedelta(days=now.weekday())).date()
    clock = ManualClock(now)
    runtime = build_runtime(Settings(database_url=url, _env_file=None,
                                     web=WebSettings(secret=SECRET, base_url=base)), clock=clock)
    build_history(runtime, clock, weeks=8, last_monday=(monday.year, monday.month, monday.day))
    clock.set(datetime.now(SHANGHAI))
    env = {**os.environ, "DJBOT_DATABASE_URL": url, "DJBOT_WEB__SECRET": SECRET,
           "DJBOT_WEB__BASE_URL": base, "DJBOT_LOG_LEVEL": "WARNING"}
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
        yield {"base": base, "runtime": runtime, "clock": clock, "folder": folder}
    finally:
        process.terminate()
        process.wait(timeout=10)
        runtime.engine.dispose()


def activities_this_year(served, branch_id: int) -> int:
    """What the branch page must list: the branch's activities held this year so far."""
    from sqlmodel import Session, func, select

    from storage.models import Activity

    now = served["clock"].now()
    first = now.astimezone(SHANGHAI).replace(month=1, day=1, hour=0, minute=0, second=0,
                                             microsecond=0)
    with Session(served["runtime"].engine) as session:
        return session.exec(select(func.count()).select_from(Activity).where(
            Activity.branch_id == branch_id, Activity.starts_at >= first,
            Activity.starts_at <= now, Activity.status != "cancelled")).one()


def leave_reasons(served, activity_id: int) -> list[str]:
    """The reasons of those on leave from the activity (who asked and then came are not)."""
    from sqlmodel import Session, select

    from storage.models import Attendance, AttendanceStatus

    with Session(served["runtime"].engine) as session:
        return list(session.exec(select(Attendance.leave_reason).where(
            Attendance.activity_id == activity_id,
            Attendance.status == AttendanceStatus.LEAVE)).all())


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={WIDTH},800", "--lang=zh-CN", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps"):
        options.add_argument(flag)
    # A phone's width: WeCom's and DingTalk's in-app browsers are about this wide.
    options.add_experimental_option("mobileEmulation", {
        "deviceMetrics": {"width": WIDTH, "height": 800, "pixelRatio": 2}})
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.requested = []  # every URL the pages asked for, from the network log
    driver.console = []  # every message the pages wrote to the console, CSP refusals included
    yield driver
    driver.quit()


def requested(driver) -> list[str]:
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            driver.requested.append(message["params"]["request"]["url"])
    return driver.requested


def console(driver) -> list[str]:
    driver.console.extend(entry["message"] for entry in driver.get_log("browser"))
    return driver.console


def shot(driver, served, name: str) -> None:
    """The whole page at the phone's width (not just the first screen)."""
    import base64

    height = driver.execute_script("return document.documentElement.scrollHeight")
    picture = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": WIDTH, "height": min(height, 6000), "scale": 1}})
    path = served["folder"] / f"{name}.png"
    path.write_bytes(base64.b64decode(picture["data"]))
    if os.environ.get("DJBOT_DOCS_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_IMG / f"dashboard-{name}.png")
    assert path.stat().st_size > 5000


def link_for(served, user: str) -> str:
    served["clock"].set(datetime.now(SHANGHAI))
    reply = say(served["runtime"], user, "看板")
    found = re.search(r"http://127\.0\.0\.1:\d+/\S+", reply)
    assert found, reply
    return found.group(0)


def fits_the_phone(driver) -> None:
    """Nothing but the tables' own scroll boxes is wider than the screen."""
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= WIDTH + 1, f"page is {width}px wide on a {WIDTH}px screen"


def test_a_leader_opens_the_link_and_clicks_down_to_a_sheet(browser, served):
    browser.delete_all_cookies()
    browser.get(link_for(served, "ld01"))
    assert browser.current_url == served["base"] + "/web/"
    assert browser.find_element(By.TAG_NAME, "h1").text == "全局看板"
    drawn = browser.execute_script("""
        var el = document.getElementById('chart-trend');
        var chart = window.echarts && echarts.getInstanceByDom(el);
        if (!chart || !el.querySelector('canvas')) return 0;
        return chart.getOption().series[0].data.filter(function (v) { return v != null; }).length;
    """)
    assert drawn >= 8  # eight weeks of history drawn, from ECharts served by djbot
    for chart in ("chart-trend", "chart-year"):  # the table for browsers without scripts hidden
        assert browser.find_element(By.ID, chart).is_displayed()
        assert not browser.find_element(By.CSS_SELECTOR, f'[data-for="{chart}"]').is_displayed()
    rows = browser.find_elements(By.CSS_SELECTOR, "#tier-table tbody tr")
    assert len(rows) == 3 and "约谈" in rows[-1].text
    fits_the_phone(browser)
    shot(browser, served, "bureau")

    rows[0].find_element(By.TAG_NAME, "a").click()
    assert "/web/branch/" in browser.current_url
    branch_id = int(browser.current_url.rsplit("/", 1)[1])
    assert len(browser.find_elements(By.CSS_SELECTOR, "#activity-list li")) == \
        activities_this_year(served, branch_id)
    fits_the_phone(browser)
    shot(browser, served, "branch")

    browser.find_element(By.CSS_SELECTOR, "#activity-list li a").click()
    assert "/web/activity/" in browser.current_url
    sheet = browser.find_element(By.ID, "sheet").text
    # The history's last member asks leave (在岗值班) every week and some weeks comes after
    # all: the reason is printed beside 请假, never beside 出席.
    on_leave = leave_reasons(served, int(browser.current_url.rsplit("/", 1)[1]))
    assert "出席" in sheet and ("在岗值班" in sheet) == ("在岗值班" in on_leave)
    fits_the_phone(browser)
    shot(browser, served, "sheet")


def test_a_charts_tooltip_shows_its_figure_within_the_pages_policy(browser, served):
    """Tapping a point shows its figure: drawn by ECharts on the canvas, as the page's
    Content-Security-Policy (style-src 'self') refuses the inline styles of an HTML tooltip."""
    browser.delete_all_cookies()
    browser.get(link_for(served, "ld01"))
    for chart in ("chart-trend", "chart-year"):
        data = browser.execute_script("return echarts.getInstanceByDom(document.getElementById("
                                      "arguments[0])).getOption().series[0].data", chart)
        last = max(i for i, v in enumerate(data) if v is not None)
        assert f"{data[last]:g}%" in tooltip_of(browser, chart, last), chart
    refused = [m for m in console(browser) if "Content Security Policy" in m]
    assert refused == []


def tooltip_of(driver, chart: str, index: int) -> list[str]:
    """The words the chart's tooltip draws for the point at `index`, once tapped."""
    return driver.execute_script("""
        var chart = echarts.getInstanceByDom(document.getElementById(arguments[0]));
        function texts() {
            chart.getZr().flush();
            return chart.getZr().storage.getDisplayList(true)
                .filter(function (el) { return el.style && el.style.text != null; })
                .map(function (el) { return String(el.style.text); });
        }
        var before = texts();
        // Where a finger would land: on the point's column, half way up the chart.
        var at = chart.convertToPixel({xAxisIndex: 0, yAxisIndex: 0}, [arguments[1], 0]);
        chart.dispatchAction({type: 'showTip', x: at[0], y: chart.getHeight() / 2});
        return texts().filter(function (t) { return before.indexOf(t) < 0; });
    """, chart, index)


def test_a_tapped_month_without_activity_says_so_and_figures_carry_their_unit(browser, served):
    """A month with no activity read 「参与率 % -」 in its tooltip, where the page's table
    and the chart's label say 无活动; a figure reads 71.4%, as everywhere else."""
    browser.delete_all_cookies()
    browser.get(link_for(served, "ld01"))
    data = browser.execute_script("return echarts.getInstanceByDom("
                                  "document.getElementById('chart-year')).getOption()"
                                  ".series[0].data")
    assert data[0] is None  # January, before the history began
    assert "无活动" in tooltip_of(browser, "chart-year", 0)
    assert f"{data[-1]:g}%" in tooltip_of(browser, "chart-year", len(data) - 1)


def test_a_secretary_sees_the_own_branch_and_is_refused_another(browser, served):
    browser.delete_all_cookies()
    browser.get(link_for(served, "jj01"))
    own = browser.current_url
    assert re.search(r"/web/branch/\d+$", own)
    assert browser.find_element(By.TAG_NAME, "h1").text == "交警大队党支部"
    other = int(own.rsplit("/", 1)[1]) % 3 + 1
    browser.get(f"{served['base']}/web/branch/{other}")
    assert "你只能查看本支部的看板" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(f"{served['base']}/web/")
    assert browser.current_url == own  # the bureau page sends a secretary home


def test_a_member_sees_the_own_points(browser, served):
    browser.delete_all_cookies()
    browser.get(link_for(served, "cg03"))
    assert re.search(r"/web/member/\d+$", browser.current_url)
    assert browser.find_element(By.TAG_NAME, "h1").text == "张伟"
    assert int(browser.find_element(By.ID, "year-points").text) > 0
    fits_the_phone(browser)
    shot(browser, served, "member")


def test_a_week_of_lost_points_is_drawn_below_zero(browser, served):
    """xz07 misses every 政治夜学 (缺席 costs a point): those weeks' bars go below the axis,
    not cut off at 0 as if nothing had happened."""
    browser.delete_all_cookies()
    browser.get(link_for(served, "xz07"))
    chart = browser.execute_script("""
        var chart = echarts.getInstanceByDom(document.getElementById('chart-weekly'));
        return {data: chart.getOption().series[0].data,
                axis: chart.getModel().getComponent('yAxis').axis.scale.getExtent()};
    """)
    assert min(chart["data"]) < 0
    assert chart["axis"][0] <= min(chart["data"]), chart


def test_a_long_link_in_a_comment_wraps_on_the_phone(browser, served):
    """A rating's comment with a link (no spaces to wrap at) made the whole branch page wider
    than the phone, every section cut at the right edge."""
    say(served["runtime"], "cg05", "评价 4 学习资料见https://mp.weixin.qq.com/s/"
        "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEf", "demo-g1")
    browser.delete_all_cookies()
    browser.get(link_for(served, "cg01"))
    assert "AbCdEfGhIjKlMnOpQrStUvWxYz" in browser.find_element(By.ID, "ratings").text
    fits_the_phone(browser)


def test_an_expired_or_altered_link_is_refused(browser, served):
    browser.delete_all_cookies()
    good = link_for(served, "ld01")
    body, mac = good.split("t=")[1].split(".")
    browser.get(good.replace(mac, mac[::-1]))
    assert "链接无效或已过期" in browser.find_element(By.TAG_NAME, "body").text
    expired = tokens.sign(SECRET, tokens.LINK, {"m": 1},
                          expires=datetime.now(SHANGHAI) - timedelta(seconds=1))
    browser.get(f"{served['base']}/web/login?t={expired}")
    assert "链接无效或已过期" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(f"{served['base']}/web/")
    assert "请在与党建助手的私聊中发送「看板」" in browser.find_element(By.TAG_NAME, "body").text


def test_no_request_left_127_0_0_1(browser, served):
    """Checked over every page the module's tests opened, and the bureau page once more."""
    browser.delete_all_cookies()
    browser.get(link_for(served, "ld01"))
    urls = requested(browser)
    assert any(u.endswith("/echarts.common.min.js") for u in urls)
    outside = [u for u in urls if not (u.startswith(served["base"] + "/") or u.startswith("data:"))]
    assert outside == []


def test_no_page_logged_a_script_error_or_a_refusal(browser, served):
    """Over every page the module's tests opened (each role's, the sheet, the refusals):
    nothing refused by the Content-Security-Policy, no script error, no file missing.
    A refusal page's own status (401, 403, 404) is what it is meant to answer."""
    status = re.compile(r"^\S+ - Failed to load resource: the server responded with a "
                        r"status of 40[134] ")
    logged = [m for m in console(browser)
              if not (status.match(m) and "/web/static/" not in m.split(" ", 1)[0])]
    assert logged == []
