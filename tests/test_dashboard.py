"""看板: the chat link, sign-in, who may open which page, and the figures the pages show."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bot.app import create_app
from bot.config import Settings, WebSettings
from bot.demo import load_demo
from bot.domain.points import last_complete_week, percent, previous_period
from bot.web import pages, tokens
from storage import dashboard as store
from storage.models import Activity, Attendance, AuditEntry, Branch, Member
from storage.reports import branch_figures, build_report, render_json, render_markdown
from tests.conftest import SHANGHAI, local
from tests.dashboard_history import build_history, say
from tests.factories import make_member

SECRET = "s" * 40


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url, _env_file=None,
                    web=WebSettings(secret=SECRET, base_url="https://djbot.example.gov.cn"))


@pytest.fixture
def bureau(runtime, clock):
    build_history(runtime, clock, weeks=3)
    return runtime


@pytest.fixture
def client(bureau):
    # https, as behind the reverse proxy: the session cookie is Secure.
    with TestClient(create_app(bureau, start_background=False), base_url="https://testserver") as c:
        yield c


def link(runtime, user: str) -> str:
    reply = say(runtime, user, "看板")
    url = re.search(r"https://\S+", reply)
    assert url, reply
    return url.group(0)


def sign_in(client, runtime, user: str):
    url = link(runtime, user).removeprefix("https://djbot.example.gov.cn")
    return client.get(url, follow_redirects=False)


def branch_id(runtime, name: str) -> int:
    with Session(runtime.engine) as s:
        return s.exec(select(Branch.id).where(Branch.name == name)).one()


def test_the_link_is_a_full_url_for_the_sender_only_and_private(bureau):
    reply = say(bureau, "ld01", "看板")
    assert "全局看板：https://djbot.example.gov.cn/web/login?t=" in reply
    assert "10 分钟内有效" in reply
    assert "本支部看板" in say(bureau, "cg01", "看板")
    assert "个人积分看板" in say(bureau, "cg03", "看板")
    assert link(bureau, "cg03") != link(bureau, "cg03")  # never the same twice
    in_group = say(bureau, "cg03", "看板", "demo-g1")
    assert "私聊" in in_group and "http" not in in_group


def test_without_a_secret_the_command_says_the_dashboard_is_not_set_up(runtime, db_url):
    runtime.settings = Settings(database_url=db_url, _env_file=None)
    runtime.dispatcher.settings = runtime.settings
    load_demo(runtime)
    assert "看板还没有开通" in say(runtime, "ld01", "看板")


def test_each_role_lands_on_its_own_scope_and_the_login_is_on_record(client, bureau):
    g1 = branch_id(bureau, "城关派出所党支部")
    leader = sign_in(client, bureau, "ld01")
    assert leader.status_code == 303 and leader.headers["location"] == "/web/"
    cookie = leader.cookies.get("djbot_session")
    assert cookie and "httponly" in leader.headers["set-cookie"].lower()
    secretary = sign_in(client, bureau, "cg01")
    assert secretary.headers["location"] == f"/web/branch/{g1}"
    member = sign_in(client, bureau, "cg03")
    assert re.fullmatch(r"/web/member/\d+", member.headers["location"])
    with Session(bureau.engine) as s:
        logins = s.exec(select(AuditEntry).where(AuditEntry.action == "web.login")).all()
    assert {e.actor for e in logins} == {"王建国", "张伟", bureau_leader_name(bureau)}


def bureau_leader_name(runtime) -> str:
    with Session(runtime.engine) as s:
        return pages.viewer_of(s, s.exec(select(Member.id).where(Member.role == "leader")
                                         .order_by(Member.id)).first()).name


def test_a_secretary_cannot_open_another_branch_or_the_bureau(client, bureau):
    g1, g2 = branch_id(bureau, "城关派出所党支部"), branch_id(bureau, "交警大队党支部")
    sign_in(client, bureau, "cg01")
    assert client.get(f"/web/branch/{g1}").status_code == 200
    assert client.get(f"/web/branch/{g2}").status_code == 403
    assert client.get("/web/", follow_redirects=False).headers["location"] == f"/web/branch/{g1}"
    with Session(bureau.engine) as s:
        other = s.exec(select(Activity.id).where(Activity.branch_id == g2)).first()
        stranger = s.exec(select(Member.id).where(Member.branch_id == g2)).first()
    assert client.get(f"/web/activity/{other}").status_code == 403
    assert client.get(f"/web/member/{stranger}").status_code == 403


def test_a_member_sees_only_the_own_record(client, bureau):
    me = sign_in(client, bureau, "cg03").headers["location"]
    page = client.get(me)
    assert page.status_code == 200 and "张伟" in page.text
    assert "出席" in page.text and "第3次夜学" in page.text
    g1 = branch_id(bureau, "城关派出所党支部")
    assert client.get(f"/web/branch/{g1}").status_code == 403
    with Session(bureau.engine) as s:
        neighbour = s.exec(select(Member.id).where(Member.name == "刘洋")).one()
    assert client.get(f"/web/member/{neighbour}").status_code == 403


def test_a_members_ledger_names_the_activity_each_line_was_earned_at(client, bureau, clock):
    """The page's 积分明细 says what an entry was for as the chat's 积分明细 does: the night
    study and its topic, not the rule's key (活动 出席), and a correction's reversal as 冲销
    of that same activity."""
    clock.set(local(2026, 11, 24, 19, 30))
    assert "开始了" in say(bureau, "cg01", "开始 政治夜学 廉洁自律准则再学习", "demo-g1")
    assert "签到成功" in say(bureau, "cg03", "签到", "demo-g1")
    clock.set(local(2026, 11, 24, 20, 0))
    assert "由出席更正为缺席" in say(bureau, "cg01", "更正 张伟 缺席 系他人代签")
    entries = _section(client.get(sign_in(client, bureau, "cg03").headers["location"]).text,
                       "积分明细")
    assert "政治夜学「廉洁自律准则再学习」出席" in entries
    assert "冲销 政治夜学「廉洁自律准则再学习」出席" in entries
    assert "政治夜学「第3次夜学」出席" in entries
    assert "活动 出席" not in entries
    chat = say(bureau, "cg03", "积分明细")
    assert "政治夜学「廉洁自律准则再学习」" in chat


def test_no_page_answers_without_a_session_and_links_expire(client, bureau, clock):
    assert client.get("/web/").status_code == 401
    assert client.get("/web/branch/1").status_code == 401
    url = link(bureau, "ld01").removeprefix("https://djbot.example.gov.cn")
    body, mac = url.split("t=")[1].split(".")
    altered = url.replace(mac, mac[:-2] + ("AA" if not mac.endswith("AA") else "BB"))
    assert client.get(altered).status_code == 403
    forged = url.replace(body, tokens._b64(b'{"exp":9999999999,"m":1,"n":"x"}'))
    assert client.get(forged).status_code == 403
    clock.set(clock.now() + timedelta(minutes=11))
    refused = client.get(url)
    assert refused.status_code == 403 and "已过期" in refused.text
    assert "djbot_session" not in refused.cookies
    # A session lasts the working day, then the page asks for a new link.
    assert sign_in(client, bureau, "ld01").status_code == 303
    assert client.get("/web/").status_code == 200
    clock.set(clock.now() + timedelta(hours=11))
    assert client.get("/web/").status_code == 401


def test_a_session_from_another_purpose_or_secret_is_refused(client, bureau, clock):
    later = clock.now() + timedelta(hours=1)
    picture = tokens.sign(SECRET, tokens.PICTURE, {"m": 1, "w": "2026-11-16"}, expires=later)
    client.cookies.set("djbot_session", picture, path="/web")
    assert client.get("/web/").status_code == 401
    client.cookies.set("djbot_session",
                       tokens.sign("x" * 40, tokens.SESSION, {"m": 1}, expires=later), path="/web")
    assert client.get("/web/").status_code == 401


def test_pages_say_where_everything_comes_from_and_load_nothing_from_outside(client, bureau):
    sign_in(client, bureau, "ld01")
    page = client.get("/web/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert url.startswith("/web/") or url.startswith("data:"), url
    script = client.get("/web/static/vendor/echarts.common.min.js")
    assert script.status_code == 200 and len(script.content) > 500_000


def _shown_rates(data) -> list[str]:
    """The 红黄蓝榜's 参与率 column as the bureau page writes it."""
    return ["—" if b["participation"] is None else f'{b["participation"]:.1f}%'
            for b in data["tiers"]]


def test_the_bureau_tiers_are_the_weekly_reports_tiers(bureau, clock):
    """The dashboard's last week equals 周报's: same figures, same tiers."""
    settings, rules = bureau.settings, bureau.rules
    week = last_complete_week(clock.now(), settings.tz)
    with Session(bureau.engine) as s:
        data = pages.bureau_page(s, now=clock.now(), settings=settings, rules=rules)
        before = previous_period(week)
        report = build_report(s, start=week.start, end=week.end,
                              previous=(before.start, before.end), tz=settings.tz,
                              visit_target=settings.visit_target_per_year, rules=rules)
        tallies = store.activity_tallies(s, start=week.start, end=week.end)
        [ours] = store.weekly_branch_figures(s, weeks=[store.Week(week.start, week.end)],
                                             tallies=tallies)
        theirs = branch_figures(s, start=week.start, end=week.end)
    assert [(f.name, f.expected, f.attended, f.leave, f.points) for f in ours] == \
           [(f.name, f.expected, f.attended, f.leave, f.points) for f in theirs]
    assert [(b["name"], b["tier"], b["score"]) for b in data["tiers"]] == \
           [(b.name, b.tier, b.score) for b in report.branches]
    # The rate itself: the same exact figure, rounded once to the same percent.
    assert {b.name: b.participation_rate for b in report.branches} == \
           {f.name: f.participation for f in ours}
    assert _shown_rates(data) == [percent(b.participation_rate) for b in report.branches]
    assert data["tiers"][-1]["name"] == "刑侦大队党支部" and data["tiers"][-1]["talk"]
    assert all(len(b["history"]) == 12 for b in data["tiers"])
    assert data["trend"][-3:] == [v for v in data["trend"][-3:] if v is not None] and \
           all(0 < v <= 100 for v in data["trend"][-3:])


def test_the_attendance_sheet_names_leave_reasons_and_make_ups(client, bureau):
    sign_in(client, bureau, "ld01")
    g3 = branch_id(bureau, "刑侦大队党支部")
    with Session(bureau.engine) as s:
        activity = s.exec(select(Activity.id).where(Activity.branch_id == g3)
                          .order_by(Activity.starts_at.desc())).first()
    sheet = client.get(f"/web/activity/{activity}")
    assert sheet.status_code == 200
    assert "在岗值班" in sheet.text  # 请假原因
    assert "郑国庆：手机没电" in sheet.text  # 补签, by whom and why
    assert "@media print" in client.get("/web/static/dashboard.css").text


def test_the_kept_figures_follow_corrections_and_new_entries(bureau, clock):
    """The serving process keeps running totals; after a 补签, a new activity and new
    points they still equal the figures counted afresh."""
    settings, rules = bureau.settings, bureau.rules
    cache = store.FigureCache()

    def both():
        with Session(bureau.engine) as s:
            kept = pages.bureau_page(s, now=clock.now(), settings=settings, rules=rules,
                                     cache=cache)
            fresh = pages.bureau_page(s, now=clock.now(), settings=settings, rules=rules)
        return kept, fresh

    kept, fresh = both()
    assert kept == fresh
    # Last Wednesday's night study in 刑侦: a make-up for someone marked absent.
    clock.set(local(2026, 11, 19, 10, 0))
    made_up = say(bureau, "xz01", "补签 冯刚 手机没电", "demo-g3")
    assert "补签" in made_up and "冯刚" in made_up, made_up
    clock.set(local(2026, 11, 23, 10, 0))
    say(bureau, "jj03", "学习 理论 60 党章")
    kept_after, fresh_after = both()
    assert kept_after == fresh_after
    assert kept_after["tiers"] != kept["tiers"] or kept_after["trend"] != kept["trend"]


def test_the_kept_members_follow_the_roster_and_late_points(bureau, clock, monkeypatch):
    """The weeks' members (the average points' base) are kept too: after members move and
    leave, and after a point dated in an earlier week, they still equal a fresh count."""
    from storage import moves

    # The demo's whole ledger is within the ids looked at again: look at new ones only.
    monkeypatch.setattr(store, "RECHECK_ENTRIES", 0)

    settings, rules = bureau.settings, bureau.rules
    cache = store.FigureCache()
    weeks = store.weeks_ending(last_complete_week(clock.now(), settings.tz), 12)

    def kept_and_fresh():
        with Session(bureau.engine) as s:
            kept = cache.weekly_members(s, weeks=weeks, tz=settings.tz)
            fresh = [store.reports.branch_members(s, start=w.start, end=w.end) for w in weeks]
            page = pages.bureau_page(s, now=clock.now(), settings=settings, rules=rules,
                                     cache=cache)
            page_fresh = pages.bureau_page(s, now=clock.now(), settings=settings, rules=rules)
        return kept, fresh, page, page_fresh

    kept, fresh, page, page_fresh = kept_and_fresh()
    assert kept == fresh and page == page_fresh
    with Session(bureau.engine) as s:
        mover, leaver = s.exec(select(Member).where(Member.branch_id.is_not(None))
                               .order_by(Member.id)).all()[3:5]
        other = s.exec(select(Branch.id).where(Branch.id != mover.branch_id)).first()
        moves.move(s, member=mover, branch_id=other, now=clock.now() - timedelta(days=20),
                        tz=SHANGHAI)
        moves.leave_roster(s, member=leaver, now=clock.now() - timedelta(days=30))
        old_branch = leaver.branch_id
        s.commit()
    moved = kept_and_fresh()
    assert moved[0] == moved[1] != fresh and moved[2] == moved[3]
    # A point dated five weeks back, posted to a branch its member was never in (a
    # bureau lecture's, say): that week's base grows by one, and the kept count follows.
    from storage import ledger

    with Session(bureau.engine) as s:
        outsider = s.exec(select(Member).where(Member.branch_id == old_branch,
                                               Member.active == True)).first()  # noqa: E712
        ledger.post(s, member_id=outsider.id, branch_id=other, points=1, rule="lecture",
                    source_kind="test", source_id=1, occurred_at=weeks[6].start + timedelta(
                        days=2), now=clock.now())
        s.commit()
    later = kept_and_fresh()
    assert later[0] == later[1] != moved[1] and later[2] == later[3]


def test_cancelled_and_unconfirmed_activities_count_as_in_the_weekly_report(bureau, clock):
    """取消活动 counts nowhere, and absences not confirmed yet are out of the rate (补签 may
    still come): the dashboard's tiers and trend say what 周报 says, counted afresh or kept
    by the serving process, also when a confirmed activity is cancelled later."""
    from storage.corrections import cancel_activity
    from tests.test_reports import attend, hold

    settings, rules = bureau.settings, bureau.rules
    cache = store.FigureCache()
    week = last_complete_week(clock.now(), settings.tz)
    monday = week.start

    def members(s, branch: str) -> list[Member]:
        return list(s.exec(select(Member).join(Branch, Branch.id == Member.branch_id)
                           .where(Branch.name == branch).order_by(Member.id)).all())

    def pages_and_report():
        with Session(bureau.engine) as s:
            kept = pages.bureau_page(s, now=clock.now(), settings=settings, rules=rules,
                                     cache=cache)
            fresh = pages.bureau_page(s, now=clock.now(), settings=settings, rules=rules)
            before = previous_period(week)
            report = build_report(s, start=week.start, end=week.end,
                                  previous=(before.start, before.end), tz=settings.tz,
                                  visit_target=settings.visit_target_per_year, rules=rules)
        attended = sum(b.attended for b in report.branches)
        base = sum(b.expected - b.leave - b.unconfirmed for b in report.branches)
        return kept, fresh, report, round(100 * attended / base, 1)

    pages_and_report()  # the serving process has counted the weeks once
    with Session(bureau.engine) as s:
        g2, g3 = members(s, "交警大队党支部"), members(s, "刑侦大队党支部")
        # 交警: a theme day opened by mistake, held, confirmed, then cancelled; nobody came.
        wrong = hold(s, s.get(Branch, g2[0].branch_id), monday + timedelta(days=4, hours=9),
                     expected_count=len(g2))
        attend(s, wrong, g2[1], "absent")
        absentee = g2[1].id
        # 刑侦: a theme day on Sunday, two there, the rest not confirmed absent yet.
        sunday = hold(s, s.get(Branch, g3[0].branch_id), monday + timedelta(days=6, hours=9),
                      confirmed=False)
        for m in g3[:2]:
            attend(s, sunday, m, "present", points=3)
        wrong_id = wrong.id
        planned = hold(s, s.get(Branch, g3[0].branch_id), clock.now() + timedelta(hours=20),
                       confirmed=False)
        planned.status = "open"  # scheduled for tomorrow
        s.commit()
    pages_and_report()  # seen before it was cancelled
    with Session(bureau.engine) as s:
        cancel_activity(s, activity=s.get(Activity, wrong_id), by=None, reason="误开",
                        now=clock.now())
        s.commit()

    kept, fresh, report, rate = pages_and_report()
    for page in (kept, fresh):
        assert [(b["name"], b["tier"], b["score"]) for b in page["tiers"]] == \
               [(b.name, b.tier, b.score) for b in report.branches]
        assert [b["activities"] for b in page["tiers"]] == [b.activities for b in report.branches]
        assert page["trend"][-1] == rate
    with Session(bureau.engine) as s:
        rows = {b: pages.branch_page(s, branch=s.exec(select(Branch).where(Branch.name == b))
                                     .one(), now=clock.now(), settings=settings)["activities"]
                for b in ("交警大队党支部", "刑侦大队党支部")}
    cancelled = next(a for a in rows["交警大队党支部"] if a["id"] == wrong_id)
    assert cancelled["state"] == "已取消" and cancelled["rate"] is None
    with Session(bureau.engine) as s:
        sheet = pages.activity_page(s, activity=s.get(Activity, wrong_id), settings=settings,
                                    now=clock.now())
        record = pages.member_page(s, member=s.get(Member, absentee), now=clock.now(),
                                   settings=settings)
    assert sheet["cancelled"]
    [gone] = [r for r in record["records"] if r["activity_id"] == wrong_id]
    assert gone["status"] == "缺席（活动已取消，不计）"
    tomorrow, pending = rows["刑侦大队党支部"][:2]  # the latest first: tomorrow's, Sunday's
    assert tomorrow["state"] == "未开始" and tomorrow["rate"] is None
    assert pending["state"] == "缺席待确认" and pending["attended"] == 2
    # One activity as 结束 gives it: of all due; only sums leave the unconfirmed out.
    assert pending["pending"] == pending["base"] - 2 > 0
    assert pending["rate"] == round(100 * 2 / pending["base"], 1)


def test_doctor_and_start_up_checks_speak_of_the_dashboard(monkeypatch):
    from bot.checks import validate
    from bot.web import doctor, push

    half = Settings(_env_file=None, web=WebSettings(secret=SECRET))
    assert any(not ok and "DJBOT_WEB__BASE_URL" in line for ok, line in doctor.run(half))
    monkeypatch.setattr(push, "find_cjk_font", lambda: None)
    lines = doctor.run(Settings(_env_file=None))
    # Before, 「[OK] web: 未找到中文字体…」: OK beside what is missing; a note does not fail.
    assert all(ok is not False for ok, _ in lines)
    assert [ok for ok, line in lines if "fonts-noto-cjk" in line] == [None]
    short = Settings(_env_file=None, web=WebSettings(secret="short", base_url="djbot.example"))
    problems = validate(short)
    assert any("DJBOT_WEB__SECRET 太短" in p for p in problems)
    assert any("DJBOT_WEB__BASE_URL 应以 https://" in p for p in problems)


def test_inside_wecom_the_dashboard_signs_in_without_a_link(bureau, db_url):
    """网页授权: WeCom's browser is sent to authorize and back with a code for cg03."""
    from urllib.parse import parse_qs, urlsplit

    from bot.config import WecomSettings
    from tests import fake_wecom as fw

    fake = fw.FakeWecom().start()
    try:
        bureau.settings = Settings(
            database_url=db_url, _env_file=None,
            wecom=WecomSettings(corp_id=fw.CORP_ID, app_secret=fw.APP_SECRET, agent_id="1000002",
                                api_base=fake.base_url),
            web=WebSettings(secret=SECRET, base_url="https://djbot.example.gov.cn",
                            wecom_oauth=True))
        app = create_app(bureau, start_background=False)
        with TestClient(app, base_url="https://testserver") as client, \
                TestClient(app, base_url="https://testserver") as elsewhere:
            wxwork = {"user-agent": "Mozilla/5.0 (iPhone) wxwork/4.1.22 MicroMessenger/7.0.1"}
            assert client.get("/web/").status_code == 401  # an ordinary browser: use 看板
            away = client.get("/web/", headers=wxwork, follow_redirects=False)
            assert away.status_code == 302
            target = urlsplit(away.headers["location"])
            query = parse_qs(target.query)
            assert target.path == "/connect/oauth2/authorize" and query["appid"] == [fw.CORP_ID]
            assert query["redirect_uri"] == ["https://djbot.example.gov.cn/web/oauth/wecom"]
            state = query["state"][0]
            # The way back sent as a link to another browser signs nobody in there.
            trap = elsewhere.get(f"/web/oauth/wecom?code=code-cg03&state={state}",
                                 follow_redirects=False)
            assert trap.status_code == 403 and "djbot_session" not in trap.cookies
            assert client.get(f"/web/oauth/wecom?code=bogus&state={state}").status_code == 403
            assert client.get(f"/web/oauth/wecom?code=code-cg03&state={state}x").status_code == 403
            back = client.get(f"/web/oauth/wecom?code=code-cg03&state={state}",
                              follow_redirects=False)
            assert back.status_code == 303
            page = client.get(back.headers["location"])  # no session for the bureau: own record
            assert page.status_code == 200 and "张伟" in page.text
            assert client.get(f"/web/oauth/wecom?code=code-nobody&state={state}").status_code == 403

            # A page opened with ?all=1 (a 显示全部 link) is the one shown after signing in.
            client.cookies.clear()
            with Session(bureau.engine) as s:
                me = s.exec(select(Member).where(Member.name == "张伟")).one().id
            away = client.get(f"/web/member/{me}?all=1", headers=wxwork, follow_redirects=False)
            state = parse_qs(urlsplit(away.headers["location"]).query)["state"][0]
            back = client.get(f"/web/oauth/wecom?code=code-cg03&state={state}",
                              follow_redirects=False)
            assert back.headers["location"] == f"/web/member/{me}?all=1"

            # WeCom ignores case in a userid (path/90195): its CG03 is the roster's cg03.
            client.cookies.clear()
            away = client.get("/web/", headers=wxwork, follow_redirects=False)
            state = parse_qs(urlsplit(away.headers["location"]).query)["state"][0]
            back = client.get(f"/web/oauth/wecom?code=code-CG03&state={state}",
                              follow_redirects=False)
            assert back.status_code == 303, back.text
            assert "张伟" in client.get(back.headers["location"]).text
    finally:
        fake.stop()


def test_the_bureau_lists_its_own_activities_with_their_sheets(client, bureau, clock):
    clock.set(local(2026, 11, 23, 14, 0))
    assert "开始" in say(bureau, "ld01", "开始 理论学习中心组 二十届三中全会精神", "demo-leaders")
    sign_in(client, bureau, "ld01")
    page = client.get("/web/")
    assert "全局活动与签到表" in page.text and "二十届三中全会精神" in page.text
    with Session(bureau.engine) as s:
        central = s.exec(select(Activity.id).where(Activity.branch_id.is_(None))).one()
    assert client.get(f"/web/activity/{central}").status_code == 200
    sign_in(client, bureau, "cg01")  # a secretary: not a branch of theirs
    assert client.get(f"/web/activity/{central}").status_code == 403


def test_the_committees_loop_shows_on_the_bureau_page_once_it_is_used(client, bureau):
    """约谈, 先锋党员 and open 整改 appear on the leaders' page only when recorded."""
    sign_in(client, bureau, "ld01")
    before = client.get("/web/").text
    assert "年约谈（" not in before and "年先锋党员（" not in before
    assert "未完成的整改" not in before

    assert "已记录" in say(bureau, "ld01", "约谈 交警大队党支部 参与率低 每周夜学签到", "demo-leaders")
    assert "已登记整改事项" in say(bureau, "ld01", "整改 交警大队党支部 徐海涛 学习室资料陈旧",
                              "demo-leaders")
    nominated = say(bureau, "cg01", "推荐 先锋党员 张伟 连续值守破获电诈案件")
    assert "待领导确认" in nominated, nominated
    assert "已确认" in say(bureau, "ld01", "确认 先锋党员 张伟")

    page = client.get("/web/").text
    assert "约谈（1 次）" in page and "参与率低" in page
    assert "先锋党员（1 人次）" in page and "连续值守破获电诈案件" in page
    assert "未完成的整改（1 项）" in page and "学习室资料陈旧" in page


def test_a_withdrawn_visit_counts_on_the_bureau_page_as_in_the_chat(bureau, clock):
    """撤销调研 takes a visit out of 调研记录; the bureau page's 调研 table must agree."""
    def jj_row():
        with Session(bureau.engine) as s:
            data = pages.bureau_page(s, now=clock.now(), settings=bureau.settings,
                                     rules=bureau.rules)
        [row] = [v for v in data["visits"] if v["name"] == "交警大队党支部"]
        return row

    before = jj_row()
    logged = say(bureau, "ld01", "调研 交警大队党支部 发现问题 2 解决 1 值班室", "demo-leaders")
    visit = re.search(r"编号 (\d+)", logged).group(1)
    assert "已撤销调研记录" in say(bureau, "ld01", f"撤销调研 {visit} 记错了支部", "demo-leaders")
    row = jj_row()
    chat = say(bureau, "ld01", "调研记录", "demo-leaders")
    assert f"交警大队党支部：{row['visits']} 次" in chat, chat
    assert row == before


def test_an_ended_temporary_branch_keeps_its_weeks_and_the_tiers_stay_the_weekly_reports(
        bureau, clock):
    """A 临时党支部 that held activities last week, then ended, is in that week's 周报: the
    bureau page ranks the week with it too, so no other branch's tier moves."""
    from datetime import date

    from storage.models import Attendance, PointEntry
    from storage.temporary import end_due
    from tests.factories import make_member

    settings, rules = bureau.settings, bureau.rules
    week = last_complete_week(clock.now(), settings.tz)
    wednesday = week.start + timedelta(days=2, hours=19)
    with Session(bureau.engine) as s:
        task = Branch(name="专项行动临时党支部", created_at=week.start - timedelta(days=30),
                      temporary=True, ends_on=date(2026, 11, 22))
        s.add(task)
        s.flush()
        people = [make_member(s, task, f"临时{i}") for i in range(4)]
        activity = Activity(type="政治夜学", topic="专项行动学习", branch_id=task.id,
                            starts_at=wednesday, ends_at=wednesday + timedelta(hours=1),
                            checkin_opens_at=wednesday, checkin_closes_at=wednesday,
                            status="closed", closed_at=wednesday + timedelta(hours=1),
                            finalized_at=wednesday + timedelta(hours=2), expected_count=4,
                            created_at=wednesday)
        s.add(activity)
        s.flush()
        for m in people:
            s.add(Attendance(activity_id=activity.id, member_id=m.id, status="present",
                             checked_in_at=wednesday, updated_at=wednesday))
            s.add(PointEntry(member_id=m.id, branch_id=task.id, points=5,
                             rule="attendance.present.政治夜学", source_kind="attendance",
                             source_id=f"t{m.id}", occurred_at=wednesday, created_at=wednesday))
        s.commit()
        ended = end_due(s, today=date(2026, 11, 23), now=clock.now(), tz=SHANGHAI)
        assert [e.branch.name for e in ended] == ["专项行动临时党支部"]
        s.commit()
        data = pages.bureau_page(s, now=clock.now(), settings=settings, rules=rules)
        before = previous_period(week)
        report = build_report(s, start=week.start, end=week.end,
                              previous=(before.start, before.end), tz=settings.tz,
                              visit_target=settings.visit_target_per_year, rules=rules)
    assert "专项行动临时党支部" in [b.name for b in report.branches]
    assert [(b["name"], b["tier"], b["score"]) for b in data["tiers"]] == \
           [(b.name, b.tier, b.score) for b in report.branches]
    assert _shown_rates(data) == [percent(b.participation_rate) for b in report.branches]
    [ended] = [b for b in data["tiers"] if b["name"] == "专项行动临时党支部"]
    assert ended["history"] == [None] * 11 + [ended["tier"]]  # one dot per week, in its week


def test_a_members_year_points_on_the_page_are_the_chats_with_many_ledger_lines(
        client, bureau, clock):
    """本年积分 on the member page is the same total 积分 gives, however many lines the
    ledger holds for the year (the page lists only the latest of them)."""
    from storage.models import PointEntry

    with Session(bureau.engine) as s:
        me = s.exec(select(Member).where(Member.name == "张伟")).one()
        me_id = me.id
        start = local(2026, 1, 5, 9, 0)
        for i in range(300):
            at = start + timedelta(hours=20 * i)
            s.add(PointEntry(member_id=me.id, branch_id=me.branch_id, points=1,
                             rule="study.per_30min", source_kind="study", source_id=f"bulk{i}",
                             occurred_at=at, created_at=at))
        s.commit()
    chat = say(bureau, "cg03", "积分")
    year = int(re.search(r"本年：(-?\d+) 分", chat).group(1))
    sign_in(client, bureau, "cg03")
    page = client.get(f"/web/member/{me_id}").text
    assert re.search(r'id="year-points">(-?\d+)<', page).group(1) == str(year), chat
    assert "只列出最近 200 条" in page


def test_the_sheets_counts_are_the_chats_when_a_leave_is_turned_down(client, bureau, clock):
    """驳回请假 puts a member back among those due: the sheet's 请假 and 缺席 are what 结束
    and 未签到 say (the row still reads 请假（已撤销）)."""
    clock.set(local(2026, 11, 23, 14, 0))
    assert "开始了" in say(bureau, "cg01", "开始 主题党日 学习新修订的党章", "demo-g1")
    assert "签到成功" in say(bureau, "cg03", "签到", "demo-g1")
    assert "已请假" in say(bureau, "cg04", "请假 在岗值班", "demo-g1")
    assert "已请假" in say(bureau, "cg05", "请假 家里有事", "demo-g1")
    assert "已驳回" in say(bureau, "cg01", "驳回请假 刘洋")
    ended = say(bureau, "cg01", "结束", "demo-g1")
    leave, missing = map(int, re.search(r"请假 (\d+) 人，未签到 (\d+) 人", ended).groups())
    with Session(bureau.engine) as s:
        theme = s.exec(select(Activity.id).where(Activity.type == "主题党日")
                       .order_by(Activity.id.desc())).first()
    sign_in(client, bureau, "cg01")
    sheet = client.get(f"/web/activity/{theme}").text
    assert f"请假 {leave} · 缺席 {missing}（缺席尚未确认）" in sheet, (ended, sheet)
    assert "请假（已撤销）" in sheet


def test_the_sheet_shows_who_asked_leave_and_came_as_present_without_a_reason(client, bureau,
                                                                           clock):
    """刘洋 asked leave (在岗值班) and came after all: the printed sheet gave him 出席 with
    在岗值班 in its 请假原因 column, which on paper reads as leave. He was there: 出席, no
    reason beside it; the sheet's 出席 counts him and its 请假 does not."""
    clock.set(local(2026, 11, 23, 14, 0))
    assert "开始了" in say(bureau, "cg01", "开始 主题党日 学习新修订的党章", "demo-g1")
    assert "已请假" in say(bureau, "cg04", "请假 在岗值班", "demo-g1")
    assert "已请假" in say(bureau, "cg05", "请假 家里有事", "demo-g1")
    assert "签到成功" in say(bureau, "cg04", "签到", "demo-g1")
    with Session(bureau.engine) as s:
        theme = s.exec(select(Activity.id).where(Activity.type == "主题党日")
                       .order_by(Activity.id.desc())).first()
    sign_in(client, bureau, "cg01")
    sheet = client.get(f"/web/activity/{theme}").text
    rows = {cells[1]: cells for cells in (
        re.findall(r"<td>([^<]*)</td>", row)
        for row in re.findall(r'<tr class="s-[a-z]+">(.*?)</tr>', sheet))}
    assert rows["刘洋"][3] == "出席" and rows["刘洋"][5] == "", rows["刘洋"]
    other = next(cells for cells in rows.values() if cells[5] == "家里有事")
    assert other[3].startswith("请假"), other  # who stayed away keeps the reason
    assert "出席 1 ·" in sheet and "请假 1 ·" in sheet, sheet


def test_a_member_sees_a_turned_down_leave_as_turned_down(client, bureau, clock):
    """刘洋's own record must not say 请假 for a leave the secretary turned down (驳回请假):
    he is still due, as the chat told him."""
    clock.set(local(2026, 11, 23, 14, 0))
    assert "开始了" in say(bureau, "cg01", "开始 主题党日 学习新修订的党章", "demo-g1")
    assert "已请假" in say(bureau, "cg04", "请假 在岗值班", "demo-g1")
    assert "已驳回" in say(bureau, "cg01", "驳回请假 刘洋")
    me = sign_in(client, bureau, "cg04").headers["location"]
    page = client.get(me).text
    line = re.search(r"主题党日 学习新修订的党章 · <b>([^<]+)</b>", page)
    assert line and line.group(1) == "请假（已撤销）", line


# --- lists: the first rows and how many more, or all of them; never a silent cut ----------


def _held(session, *, branch_id, topic, at, kind="政治夜学") -> Activity:
    """A closed, confirmed activity at `at`, written straight to the tables."""
    activity = Activity(type=kind, topic=topic, branch_id=branch_id, starts_at=at,
                        ends_at=at + timedelta(hours=1), checkin_opens_at=at,
                        checkin_closes_at=at + timedelta(hours=1), status="closed",
                        closed_at=at + timedelta(hours=1), finalized_at=at + timedelta(hours=2),
                        expected_count=1, created_at=at)
    session.add(activity)
    session.flush()
    return activity


def _section(page: str, heading: str) -> str:
    """The page's section whose heading starts with `heading`, heading included."""
    start = page.index(f"<h2>{heading}")
    return page[start:page.index("</section>", start)]


def test_a_members_ledger_says_how_many_lines_it_leaves_out_and_shows_them_all_on_request(
        client, bureau, clock):
    """200 lines are listed whole; one more and the page says 还有 1 条 with a link that
    lists every line of the year (the heading counts them all either way)."""
    from storage.models import PointEntry

    def add_lines(s, me, count, first):
        for i in range(first, first + count):
            at = local(2026, 2, 2, 9, 0) + timedelta(hours=20 * i)
            s.add(PointEntry(member_id=me.id, branch_id=me.branch_id, points=1,
                             rule="study.per_30min", source_kind="study", source_id=f"bulk{i}",
                             occurred_at=at, created_at=at, note=f"自学第{i}次"))
        s.commit()

    year_start = local(2026, 1, 1)
    with Session(bureau.engine) as s:
        me = s.exec(select(Member).where(Member.name == "张伟")).one()
        me_id = me.id
        before = len(s.exec(select(PointEntry).where(PointEntry.member_id == me_id,
                                                     PointEntry.occurred_at >= year_start)).all())
        add_lines(s, me, 200 - before, 0)
    sign_in(client, bureau, "cg03")
    page = client.get(f"/web/member/{me_id}").text
    assert "积分明细（本年 200 条）" in page
    assert "未列出" not in page and "只列出" not in page  # 200 of 200 is the whole list

    with Session(bureau.engine) as s:
        add_lines(s, s.get(Member, me_id), 37, 200 - before)
    page = client.get(f"/web/member/{me_id}").text
    entries = _section(page, "积分明细")
    assert "积分明细（本年 237 条）" in entries
    assert "只列出最近 200 条，还有 37 条未列出" in entries
    assert entries.count("<tr><td>") == 200
    assert f'href="/web/member/{me_id}?all=1#entries">显示全部</a>' in entries

    everything = _section(client.get(f"/web/member/{me_id}?all=1").text, "积分明细")
    assert "积分明细（本年 237 条）" in everything and "未列出" not in everything
    assert everything.count("<tr><td>") == 237
    assert all(f"自学第{i}次" in everything for i in range(237 - before))
    # Anything but all=1 is the usual page, not an error.
    odd = client.get(f"/web/member/{me_id}?all=yes%27")
    assert odd.status_code == 200 and "还有 37 条未列出" in odd.text


def test_a_members_activities_are_all_listed_however_many_the_year_held(client, bureau):
    """A member of a branch with night study twice a week has well over 100 records a year:
    the page lists each one, and its heading counts them."""
    from storage.models import Attendance

    with Session(bureau.engine) as s:
        me = s.exec(select(Member).where(Member.name == "张伟")).one()
        me_id = me.id
        for i in range(130):
            at = local(2026, 1, 6, 19, 30) + timedelta(days=2 * i)
            activity = _held(s, branch_id=me.branch_id, topic=f"夜学专题{i:03d}", at=at)
            s.add(Attendance(activity_id=activity.id, member_id=me.id, status="present",
                             checked_in_at=at, updated_at=at))
        s.commit()
        records = len(s.exec(select(Attendance).where(Attendance.member_id == me_id)).all())
    sign_in(client, bureau, "cg03")
    page = client.get(f"/web/member/{me_id}").text
    assert [i for i in range(130) if f"夜学专题{i:03d}" not in page] == []
    assert f"参加活动（本年 {records} 条记录）" in page


def test_a_branchs_ratings_say_how_many_more_were_rated_and_list_them_on_request(
        client, bureau):
    from storage.models import Rating

    g1 = branch_id(bureau, "城关派出所党支部")
    with Session(bureau.engine) as s:
        rater = s.exec(select(Member.id).where(Member.name == "张伟")).one()
        rated_before = len(set(s.exec(
            select(Rating.activity_id).join(Activity, Activity.id == Rating.activity_id)
            .where(Activity.branch_id == g1)).all()))
        for i in range(25):
            at = local(2026, 3, 4, 19, 30) + timedelta(days=7 * i)
            activity = _held(s, branch_id=g1, topic=f"评价专题{i:02d}", at=at)
            s.add(Rating(activity_id=activity.id, member_id=rater, score=4,
                         comment=f"第{i}次有收获", rated_at=at + timedelta(hours=1)))
        s.commit()
    total = rated_before + 25
    sign_in(client, bureau, "cg01")
    ratings = _section(client.get(f"/web/branch/{g1}").text, "活动评价")
    assert f"活动评价（本年 {total} 次活动）" in ratings
    assert f"只列出最近 20 次活动的评价，还有 {total - 20} 次未列出" in ratings
    assert ratings.count("<li>") == 20
    assert f'href="/web/branch/{g1}?all=1#ratings">显示全部</a>' in ratings

    everything = _section(client.get(f"/web/branch/{g1}?all=1").text, "活动评价")
    assert everything.count("<li>") == total and "未列出" not in everything
    assert all(f"第{i}次有收获" in everything for i in range(25))


def test_the_bureau_lists_every_one_of_its_own_activities_of_the_year(client, bureau):
    """第一议题 at every committee meeting and the central study group's sessions come to
    some 40–60 a year: each keeps its line and its sheet on the bureau page."""
    with Session(bureau.engine) as s:
        ids = [_held(s, branch_id=None, topic=f"第一议题{i:02d}", kind="第一议题",
                     at=local(2026, 1, 8, 9, 0) + timedelta(days=5 * i)).id for i in range(60)]
        s.commit()
    sign_in(client, bureau, "ld01")
    listed = _section(client.get("/web/").text, "全局活动与签到表")
    assert [i for i in ids if f'href="/web/activity/{i}"' not in listed] == []
    assert "全局活动与签到表（2026 年，60 次）" in listed


@pytest.fixture
def browser(bureau):
    # What a browser gets: a server error is a 500 answer here, not an exception in the test.
    with TestClient(create_app(bureau, start_background=False), base_url="https://testserver",
                    raise_server_exceptions=False) as c:
        yield c


def test_a_non_ascii_link_cookie_or_picture_is_refused_not_a_server_error(browser):
    assert browser.get("/web/login", params={"t": "é.é"}).status_code == 403
    browser.cookies.set("djbot_session", "%C3%A9.%C3%A9", path="/web")
    assert browser.get("/web/").status_code == 401
    browser.cookies.clear()
    assert browser.get("/web/", headers={"cookie": "djbot_session=é.é".encode()}).status_code == 401
    assert browser.get("/web/picture/é.é.png").status_code == 403


@pytest.mark.parametrize("user", ["ld01", "cg01", "cg03"])
def test_an_id_past_the_databases_integers_is_not_found_not_a_server_error(browser, bureau,
                                                                           user):
    sign_in(browser, bureau, user)
    huge = 99999999999999999999
    assert browser.get(f"/web/member/{huge}").status_code == 404
    assert browser.get(f"/web/activity/{huge}").status_code == 404
    assert browser.get(f"/web/branch/{huge}").status_code == 404  # as a member or activity


def test_a_branchs_ratings_give_the_activitys_time_in_the_bureaus_time(client, bureau):
    from storage.models import Rating

    g1 = branch_id(bureau, "城关派出所党支部")
    with Session(bureau.engine) as s:
        rated = s.exec(select(Activity).join(Rating, Rating.activity_id == Activity.id)
                       .where(Activity.branch_id == g1)).first()
        assert rated is not None
    shown = rated.starts_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M")
    assert shown.endswith("19:30")  # 11:30 in UTC: the time stored, not the one held
    sign_in(client, bureau, "cg01")
    ratings = _section(client.get(f"/web/branch/{g1}").text, "活动评价")
    assert f'href="/web/activity/{rated.id}">' in ratings
    line = re.search(rf'href="/web/activity/{rated.id}">[^<]*</a> <span class="sub">([^<]+)<',
                     ratings)
    assert line and line.group(1) == shown, ratings


def test_a_branchs_year_points_count_an_early_check_in_at_once_as_the_chat_does(
        client, bureau, clock):
    """Points for a check-in in the half hour before the start are dated at the start, still
    ahead of now: 积分 and the member's own page count them at once, so does the branch."""
    from bot.domain.attendance import plan_times
    from storage.models import ActivityType

    g1 = branch_id(bureau, "城关派出所党支部")
    clock.set(local(2026, 11, 25, 19, 10))
    starts = local(2026, 11, 25, 19, 30)
    times = plan_times(ActivityType.NIGHT_STUDY, starts, opens_minutes_before=30)
    with Session(bureau.engine) as s:
        s.add(Activity(type="政治夜学", topic="提前签到", branch_id=g1, starts_at=starts,
                       ends_at=times.ends_at, checkin_opens_at=times.checkin_opens_at,
                       checkin_closes_at=times.checkin_closes_at, status="open",
                       created_at=clock.now()))
        s.commit()
        me = s.exec(select(Member.id).where(Member.name == "张伟")).one()
    sign_in(client, bureau, "cg01")
    before = client.get(f"/web/branch/{g1}").text
    assert "签到成功" in say(bureau, "cg03", "签到", "demo-g1")
    year = int(re.search(r"本年：(-?\d+) 分", say(bureau, "cg03", "积分")).group(1))
    page = client.get(f"/web/branch/{g1}").text
    cells = rf'<a href="/web/member/{me}">张伟</a></td><td>[^<]*</td><td>[^<]*</td>' \
            r'<td>(-?\d+)</td><td>(-?\d+)</td>'
    [was, was_recent] = map(int, re.search(cells, before).groups())
    [now_year, recent] = map(int, re.search(cells, page).groups())
    assert now_year == year > was
    assert recent - was_recent == now_year - was
    sign_in(client, bureau, "cg03")
    own = client.get(f"/web/member/{me}").text
    assert int(re.search(r'id="year-points">(-?\d+)<', own).group(1)) == year


def test_six_of_eleven_is_54_5_percent_in_the_weekly_report_its_files_and_the_page(
        client, bureau, clock):
    """6/11 is 54.545…%: 54.5% everywhere. A rate rounded to 0.5455 first said 54.6% in 周报
    while the bureau page said 54.5%."""
    week = last_complete_week(clock.now(), bureau.settings.tz)
    wednesday = week.start + timedelta(days=2, hours=19)
    with Session(bureau.engine) as s:
        branch = Branch(name="十一人党支部", created_at=week.start - timedelta(days=30))
        s.add(branch)
        s.flush()
        people = [make_member(s, branch, f"十一{i}") for i in range(11)]
        for m in people:
            m.created_at = week.start - timedelta(days=30)
            s.add(m)
        activity = Activity(type="政治夜学", topic="六比十一", branch_id=branch.id,
                            starts_at=wednesday, ends_at=wednesday + timedelta(hours=1),
                            checkin_opens_at=wednesday, checkin_closes_at=wednesday,
                            status="closed", closed_at=wednesday + timedelta(hours=1),
                            finalized_at=wednesday + timedelta(hours=2), expected_count=11,
                            created_at=wednesday)
        s.add(activity)
        s.flush()
        for i, m in enumerate(people):
            s.add(Attendance(activity_id=activity.id, member_id=m.id,
                             status="present" if i < 6 else "absent",
                             checked_in_at=wednesday if i < 6 else None, updated_at=wednesday))
        s.commit()
    chat = say(bureau, "ld01", "周报 上周", "demo-leaders")
    assert re.search(r"\*\*十一人党支部\*\*.*\n活动 1 次 · 参与 6/11（54\.5%", chat), chat
    settings, rules = bureau.settings, bureau.rules
    before = previous_period(week)
    with Session(bureau.engine) as s:
        report = build_report(s, start=week.start, end=week.end,
                              previous=(before.start, before.end), tz=settings.tz,
                              visit_target=settings.visit_target_per_year, rules=rules)
    assert "| 十一人党支部 | 1 | 11 | 6 | 0 | 0 | 0 | 5 | 0 | 54.5% |" in \
        render_markdown(report, table=True)
    [line] = [b for b in json.loads(render_json(report))["branches"] if b["name"] == "十一人党支部"]
    assert line["participation_rate"] == 0.5455  # four digits in a file, half up
    sign_in(client, bureau, "ld01")
    row = re.search(r">十一人党支部</a></td>\s*<td>.*?</td>\s*<td>.*?</td>\s*<td>([\d.]+)%</td>",
                    client.get("/web/").text, re.S)
    assert row and row.group(1) == "54.5"


def _ended_blue_branch(s):
    """一支部 held a full 主题党日; a 临时党支部 whose only member missed its own, then
    ended on 20 November: it is blue for the week of 16 November, and gone."""
    from datetime import date

    from storage.models import Role
    from tests.factories import bind_chat, make_branch
    from tests.test_reports import hold

    one = make_branch(s, "一支部")
    bind_chat(s, None, "lg", leaders=True)
    make_member(s, None, "领导", role=Role.LEADER, wecom="lead")
    full = hold(s, one, local(2026, 11, 17, 14, 30), type_="主题党日")
    s.add(Attendance(activity_id=full.id, member_id=make_member(s, one, "甲").id,
                     status="present", updated_at=full.starts_at))
    task = make_branch(s, "专项临时支部", temporary=True, ends_on=date(2026, 11, 20))
    empty = hold(s, task, local(2026, 11, 18, 14, 30), type_="主题党日")
    s.add(Attendance(activity_id=empty.id, member_id=make_member(s, task, "孙七").id,
                     status="absent", updated_at=empty.ends_at))
    task.active = False
    s.add(task)


def test_the_weekly_report_does_not_ask_for_a_talk_with_a_temporary_branch_that_has_ended(
        runtime, chat, clock):
    """Before, 周报 marked an ended 临时党支部 blue 约谈 and listed it under 年度调研未达标,
    though no talk or visit can be held with a branch that is gone; the leaders' 红黄蓝榜
    already said 已撤销. Now 周报 says 已撤销 too and leaves it out of the visits."""
    from tests.factories import seed

    seed(runtime.engine, _ended_blue_branch)
    clock.set(local(2026, 11, 23, 10, 0))
    summary = chat.say("lead", "周报", chat="lg").text
    [line] = [x for x in summary.splitlines() if x.startswith("**专项临时支部**")]
    assert "蓝" in line and "已撤销" in line and "约谈" not in line, summary
    visits = [x for x in summary.splitlines() if "年度调研未达标" in x]
    assert visits and "专项临时支部" not in visits[0], summary
    board = chat.say("lead", "红黄蓝榜 上周", chat="lg").text
    [bline] = [x for x in board.splitlines() if "专项临时支部" in x]
    assert "已撤销" in bline and "约谈" not in bline


def test_the_bureau_page_does_not_mark_a_temporary_branch_that_has_ended_for_a_talk(
        runtime, clock):
    """Before, the bureau page put 约谈 beside an ended 临时党支部's blue tier. Now it keeps
    the tier and says 已撤销, as 周报 and the leaders' 红黄蓝榜 do."""
    from tests.factories import seed

    seed(runtime.engine, _ended_blue_branch)
    clock.set(local(2026, 11, 23, 10, 0))
    with Session(runtime.engine) as s:
        data = pages.bureau_page(s, now=clock.now(), settings=runtime.settings,
                                 rules=runtime.rules)
    [ended] = [b for b in data["tiers"] if b["name"] == "专项临时支部"]
    assert ended["tier"] == "蓝" and not ended["talk"] and ended["ended"], ended
    [standing] = [b for b in data["tiers"] if b["name"] == "一支部"]
    assert not standing["ended"]


def test_a_temporary_branchs_secretary_back_home_does_not_see_the_home_branch(
        client, bureau, clock):
    """The secretary of a 临时党支部 went back to 城关 when it ended still 书记: their 看板 led
    to 城关's whole branch page, everyone's points, leave reasons and sheets. Back home they
    are as they were there (here, with no earlier place kept, an ordinary member)."""
    from datetime import date

    from storage.models import Branch, Role
    from storage.temporary import end_due
    from tests.conftest import SHANGHAI
    from tests.factories import make_member

    g1 = branch_id(bureau, "城关派出所党支部")
    with Session(bureau.engine) as s:
        task = Branch(name="专项行动临时党支部", created_at=clock.now() - timedelta(days=30),
                      temporary=True, ends_on=date(2026, 11, 22))
        s.add(task)
        s.flush()
        boss = make_member(s, task, "临时书记", role=Role.SECRETARY, wecom="tmp01",
                           return_branch_id=g1)
        make_member(s, task, "临时队员", wecom="tmp02", return_branch_id=g1)
        s.commit()
        end_due(s, today=date(2026, 11, 23), now=clock.now(), tz=SHANGHAI)
        s.commit()
        s.refresh(boss)
        assert boss.branch_id == g1
    landed = sign_in(client, bureau, "tmp01")
    assert landed.status_code == 303
    assert landed.headers["location"] == f"/web/member/{boss.id}", landed.headers["location"]
    assert client.get(f"/web/branch/{g1}").status_code == 403


def test_a_forgotten_lecturers_name_leaves_the_branch_page(client, bureau, clock):
    """The page's kept counts held each activity's lecturer: after djbot forget (another
    process) the branch page named 刘洋 as 主讲 until the service restarted."""
    from sqlmodel import select

    from storage.models import Member
    from storage.privacy import forget_member, pseudonym
    from tests.dashboard_history import say

    g1 = branch_id(bureau, "城关派出所党支部")
    # A 党课 given by 刘洋, held and closed on Monday morning.
    say(bureau, "cg01", "开始 党课 学习新思想 主讲 刘洋", "demo-g1")
    for user in ("cg02", "cg03", "cg05"):
        say(bureau, user, "签到", "demo-g1")
    clock.set(clock.now() + timedelta(minutes=50))
    say(bureau, "cg01", "结束", "demo-g1")
    say(bureau, "cg01", "确认缺席", "demo-g1")
    # Life goes on: another branch checks in to something in the afternoon.
    clock.set(clock.now() + timedelta(hours=4))
    say(bureau, "jj01", "开始 政治夜学 周一加学", "demo-g2")
    say(bureau, "jj03", "签到", "demo-g2")

    sign_in(client, bureau, "cg01")
    before = client.get(f"/web/branch/{g1}")
    assert before.status_code == 200 and "主讲 刘洋" in before.text

    # `djbot forget 刘洋`: name gone from the roster, the lectures, the audit trail.
    with Session(bureau.engine) as s:
        member = s.exec(select(Member).where(Member.name == "刘洋")).one()
        mid = member.id
        forget_member(s, member=member, now=clock.now(), actor="cli")
        s.commit()
    clock.set(clock.now() + timedelta(minutes=5))
    after = client.get(f"/web/branch/{g1}")
    assert after.status_code == 200
    from bot.web import pages
    from storage.models import Branch
    with Session(bureau.engine) as s:  # the page counted afresh (no kept figures) is right
        fresh = pages.branch_page(s, branch=s.get(Branch, g1), now=clock.now(),
                                  settings=bureau.settings)
    assert not any(a["lecturer"] == "刘洋" for a in fresh["activities"])
    assert "刘洋" not in after.text, "the forgotten member's name is still on the branch page"
    assert pseudonym(mid) in after.text


def _sign_out_form(page: str) -> dict[str, str]:
    """The 退出 button's form on a page: where it posts and its hidden fields."""
    form = re.search(r'<form[^>]*action="/web/logout"[^>]*>(.*?)</form>', page, re.S)
    assert form, "no sign-out form on the page"
    assert 'method="post"' in form.group(0)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))


def test_a_link_or_picture_elsewhere_cannot_sign_anyone_out(client, bureau):
    """A GET (an <img src=…/web/logout> on any page, a link in a chat) changes nothing."""
    sign_in(client, bureau, "ld01")
    assert client.get("/web/logout").status_code in (200, 405)
    assert client.get("/web/").status_code == 200
    # A POST from elsewhere carries no token of this session: refused, still signed in.
    assert client.post("/web/logout").status_code == 403
    assert client.post("/web/logout", data={"csrf": "x" * 43}).status_code == 403
    assert client.get("/web/").status_code == 200


def test_a_form_on_another_site_cannot_sign_anyone_out(client, bureau):
    """A page elsewhere that posts a form to /web/logout: the browser sends it without the
    session cookie (SameSite=Lax), and applies the answer's Set-Cookie, since the answer is
    a page it navigates to. The answer deleted the cookie whenever it found no session, so
    any site could sign a 书记 out of the dashboard; without a session posted with its token
    nothing is deleted."""
    sign_in(client, bureau, "cg01")
    kept = client.cookies.get("djbot_session")
    client.cookies.clear()  # what the browser sends with a form posted from another site
    answer = client.post("/web/logout", data={"csrf": "x" * 43},
                         headers={"origin": "https://elsewhere.example",
                                  "sec-fetch-site": "cross-site"})
    assert "djbot_session" not in answer.headers.get("set-cookie", ""), answer.headers
    client.cookies.set("djbot_session", kept, path="/web")
    assert client.get(f"/web/branch/{branch_id(bureau, '城关派出所党支部')}").status_code == 200


def test_signing_out_ends_the_session_a_copied_cookie_included(client, bureau):
    sign_in(client, bureau, "cg01")
    copied = client.cookies.get("djbot_session")
    fields = _sign_out_form(client.get("/web/", follow_redirects=True).text)
    out = client.post("/web/logout", data=fields)
    assert out.status_code == 200 and "已退出" in out.text
    assert client.get("/web/").status_code == 401
    # The cookie taken off this phone before 退出 opens nothing any more, anywhere.
    client.cookies.set("djbot_session", copied, path="/web")
    assert client.get("/web/").status_code == 401
    assert client.get(f"/web/branch/{branch_id(bureau, '城关派出所党支部')}").status_code == 401
    with Session(bureau.engine) as s:
        [out_entry] = s.exec(select(AuditEntry).where(AuditEntry.action == "web.logout")).all()
    assert out_entry.actor == "王建国"
    # A new link signs in again as usual.
    client.cookies.clear()
    sign_in(client, bureau, "cg01")
    assert client.get("/web/", follow_redirects=True).status_code == 200


def test_a_member_off_the_boards_is_on_the_branch_page_marked_so(client, bureau):
    """不参与排行 takes a member off public lists; the branch page is the 书记's and 委员's,
    who need every member's points, so the member stays, marked so it is not read out."""
    assert "已退出公开排行" in say(bureau, "cg03", "不参与排行")
    sign_in(client, bureau, "cg01")
    page = client.get(f"/web/branch/{branch_id(bureau, '城关派出所党支部')}").text
    members = _section(page, "党员积分")
    row = re.search(r"<tr><td><a [^>]*>张伟</a>(.*?)</tr>", members, re.S)
    assert row and "不参与排行" in row.group(1)
    other = re.search(r"<tr><td><a [^>]*>刘洋</a>(.*?)</tr>", members, re.S)
    assert other and "不参与排行" not in other.group(1)


@pytest.mark.parametrize("address", ["/web/branch/abc", "/web/member/1x", "/web/activity/３",
                                     "/web/nothing", "/web/member/3/more"])
def test_a_mangled_address_says_so_in_chinese_not_in_json(browser, bureau, address):
    """A link cut or typed wrong shows the dashboard's own short page, not a validation
    error in English, signed in or not, a leader or a secretary (not 你只能查看本支部)."""
    for signed in (False, "ld01", "cg01"):
        if signed:
            sign_in(browser, bureau, signed)
        answer = browser.get(address)
        assert answer.status_code == (404 if signed else 401) or answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html"), answer.text
        assert "<h1>无法打开</h1>" in answer.text and "detail" not in answer.text
        if signed:
            assert "没有这" in answer.text, answer.text
        assert "default-src 'self'" in answer.headers["content-security-policy"]


def test_the_sheet_of_an_activity_not_begun_or_under_way_calls_nobody_absent(client, bureau,
                                                                             clock):
    """The branch page lists a night study opened early as 未开始, then 进行中; its sheet
    must not call the branch absent meanwhile: 未签到 as the chat says it, absences only
    once the activity has ended."""
    from bot.domain.attendance import plan_times
    from storage.models import ActivityType

    g1 = branch_id(bureau, "城关派出所党支部")
    clock.set(local(2026, 11, 25, 19, 10))
    starts = local(2026, 11, 25, 19, 30)
    times = plan_times(ActivityType.NIGHT_STUDY, starts, opens_minutes_before=30)
    with Session(bureau.engine) as s:
        early = Activity(type="政治夜学", topic="提前开放", branch_id=g1, starts_at=starts,
                         ends_at=times.ends_at, checkin_opens_at=times.checkin_opens_at,
                         checkin_closes_at=times.checkin_closes_at, status="open",
                         created_at=clock.now())
        s.add(early)
        s.commit()
        sheet_of = f"/web/activity/{early.id}"
    assert "签到成功" in say(bureau, "cg03", "签到", "demo-g1")
    sign_in(client, bureau, "cg01")
    assert "未开始" in _section(client.get(f"/web/branch/{g1}").text, "活动与签到表")
    waiting = client.get(sheet_of).text
    assert "缺席" not in waiting and "未签到 9（未开始）" in waiting, waiting
    clock.set(local(2026, 11, 25, 19, 45))
    running = client.get(sheet_of).text
    assert "缺席" not in running and "未签到 9（进行中）" in running, running
    assert "<td>未签到</td>" in running and "<td>未到</td>" not in running
    clock.set(local(2026, 11, 25, 21, 0))
    say(bureau, "cg01", "结束", "demo-g1")
    assert "缺席 9（缺席尚未确认）" in client.get(sheet_of).text


def test_a_branch_ended_this_year_keeps_its_meetings_and_visits_on_the_bureau_page(
        client, bureau, clock):
    """A 临时党支部 that ended in October held a 党课 and was visited: the year's report
    lists it with both; the bureau page's 三会一课 and 调研 for the year did not list it at
    all, so its visit and open problem were missing from the page's tables. It is listed,
    marked 已撤销, and not flagged short of visits (no visit can be made to it now)."""
    from bot.domain.points import date_range
    from storage import yearly
    from storage.models import ResearchVisit
    from storage.temporary import end_due

    set_up = local(2026, 3, 2, 9, 0)
    held = local(2026, 5, 12, 15, 0)
    with Session(bureau.engine) as s:
        task = Branch(name="护航临时党支部", created_at=set_up, temporary=True,
                      ends_on=date(2026, 10, 31))
        s.add(task)
        s.flush()
        make_member(s, task, "护航一")
        s.add(Activity(type="党课", topic="护航党课", branch_id=task.id, starts_at=held,
                       ends_at=held + timedelta(hours=1), checkin_opens_at=held,
                       checkin_closes_at=held + timedelta(hours=1), status="closed",
                       closed_at=held + timedelta(hours=1), expected_count=1,
                       finalized_at=held + timedelta(hours=2), created_at=held))
        leader = s.exec(select(Member.id).where(Member.role == "leader")).first()
        s.add(ResearchVisit(leader_id=leader, branch_id=task.id, visited_on=date(2026, 6, 3),
                            problems_found=2, problems_solved=1, logged_at=held))
        s.commit()
        assert [e.branch.name for e in end_due(s, today=date(2026, 11, 23), now=clock.now(),
                                               tz=SHANGHAI)] == ["护航临时党支部"]
        s.commit()
        figures = yearly.build_year(s, period=date_range(date(2026, 1, 1), date(2026, 12, 31),
                                                         SHANGHAI),
                                    now=clock.now(), tz=SHANGHAI, rules=bureau.rules)
    [line] = [b for b in figures.branches if b.name == "护航临时党支部"]
    assert (line.visits, line.counts["党课"]) == (1, 1)
    sign_in(client, bureau, "ld01")
    page = client.get("/web/").text
    visits = re.search(r"<tr[^>]*><td>护航临时党支部（已撤销）</td><td>(\d+)/(\d+)</td>"
                       r"<td>(\d+)</td><td>(\d+)</td></tr>", _section(page, "调研"))
    assert visits, _section(page, "调研")
    assert int(visits.group(1)) == line.visits and visits.group(3, 4) == ("2", "1")
    assert 'class="short"><td>护航临时党支部' not in page
    meetings = re.search(r"护航临时党支部（已撤销）</a></td>(.*?)</tr>",
                         _section(page, "三会一课"), re.S)
    assert meetings, _section(page, "三会一课")
    # A month's number, the kinds held (in a details under it) left out.
    cells = [re.sub(r"<details><summary>(\d+)</summary>.*", r"\1", c, flags=re.S)
             for c in re.findall(r"<td[^>]*>(.*?)</td>", meetings.group(1), re.S)]
    assert cells[4] == "1" and sum(int(c) for c in cells if c.isdigit()) == line.counts["党课"]


def test_a_screen_reader_hears_the_charts_figures_and_each_weeks_tier(client, bureau):
    """The charts are drawn on a canvas: their label, the one thing a screen reader says of
    them, gives each week's figure; each dot of a branch's tier history says its tier."""
    sign_in(client, bureau, "ld01")
    page = client.get("/web/").text
    chart = json.loads(re.search(r'id="chart-data">(.*?)</script>', page, re.S).group(1))
    label = re.search(r'id="chart-trend"[^>]*aria-label="([^"]*)"', page).group(1)
    trend = chart["trend"]
    for week, value in zip(trend["labels"], trend["series"][0]["data"]):
        assert (f"{week} {value:g}%" if value is not None else f"{week} 无活动") in label, label
    months = re.search(r'id="chart-year"[^>]*aria-label="([^"]*)"', page).group(1)
    assert f'11月 {chart["year"]["series"][0]["data"][-1]:g}%' in months, months
    dots = re.findall(r'<span class="dot [^"]*"([^>]*)>', _section(page, "量化积分"))
    assert dots and all(re.search(r'role="img" aria-label="\d\d-\d\d (红|黄|蓝|无活动)档?"', d)
                        for d in dots), dots[:3]
    g1 = branch_id(bureau, "城关派出所党支部")
    assert re.search(r'aria-label="近12周参与率：[^"]*\d%', client.get(f"/web/branch/{g1}").text)
    me = sign_in(client, bureau, "cg03").headers["location"]
    assert re.search(r'aria-label="每周积分：[^"]*\d{2}-\d{2} -?\d+ 分', client.get(me).text)


def test_an_activitys_rating_is_the_chats_rounded_once_half_up(client, bureau, clock):
    """Four ratings 5, 4, 4, 4 average 4.25: the chat's 活动 said 4.2 (the float rounded
    half to even) and the branch page 4.25; both say 4.3, 四舍五入 as every figure is."""
    clock.set(local(2026, 11, 23, 14, 0))
    assert "开始了" in say(bureau, "cg01", "开始 主题党日 评价四舍五入", "demo-g1")
    for user, score in (("cg02", 5), ("cg03", 4), ("cg04", 4), ("cg05", 4)):
        assert "签到成功" in say(bureau, user, "签到", "demo-g1")
        assert "感谢评价" in say(bureau, user, f"评价 {score}", "demo-g1")
    clock.set(local(2026, 11, 23, 16, 0))
    say(bureau, "cg01", "结束", "demo-g1")
    chat = re.search(r"评价 (\S+) 分（4 人）", say(bureau, "cg01", "活动", "demo-g1"))
    assert chat and chat.group(1) == "4.3", chat
    sign_in(client, bureau, "cg01")
    ratings = _section(client.get(f"/web/branch/{branch_id(bureau, '城关派出所党支部')}").text,
                       "活动评价")
    shown = re.search(r"评价四舍五入</a> <span[^>]*>[^<]*</span>\s*<b>([^<]+)</b> 分（4 人评价）",
                      ratings)
    assert shown and shown.group(1) == "4.3", ratings


def test_the_bureau_writes_scores_and_averages_as_the_weekly_report_does(client, bureau, clock):
    """A branch where all four came and each earned 5 points scores 100 with 人均 5: 周报
    writes 100 and 5, and the bureau page wrote 100.0 and 5.0 beside it."""
    week = last_complete_week(clock.now(), SHANGHAI)
    wednesday = week.start + timedelta(days=2, hours=19)
    with Session(bureau.engine) as s:
        team = Branch(name="满勤党支部", created_at=week.start - timedelta(days=30))
        s.add(team)
        s.flush()
        people = [make_member(s, team, f"满勤{i}") for i in range(4)]
        s.add(activity := Activity(type="政治夜学", topic="满勤", branch_id=team.id,
                                   starts_at=wednesday, ends_at=wednesday + timedelta(hours=1),
                                   checkin_opens_at=wednesday, checkin_closes_at=wednesday,
                                   status="closed", closed_at=wednesday + timedelta(hours=1),
                                   finalized_at=wednesday + timedelta(hours=2), expected_count=4,
                                   created_at=wednesday))
        s.flush()
        from storage.models import PointEntry
        for m in people:
            s.add(Attendance(activity_id=activity.id, member_id=m.id, status="present",
                             checked_in_at=wednesday, updated_at=wednesday))
            s.add(PointEntry(member_id=m.id, branch_id=team.id, points=5,
                             rule="attendance.present.政治夜学", source_kind="attendance",
                             source_id=f"full{m.id}", occurred_at=wednesday,
                             created_at=wednesday))
        s.commit()
        before = previous_period(week)
        report = build_report(s, start=week.start, end=week.end,
                              previous=(before.start, before.end), tz=SHANGHAI,
                              visit_target=bureau.settings.visit_target_per_year,
                              rules=bureau.rules, now=clock.now())
    weekly = render_markdown(report, table=True)
    line = next(row for row in weekly.splitlines() if row.startswith("| 满勤党支部 "))
    cells = [c.strip() for c in line.strip("|").split("|")]
    average, score = cells[11], cells[12]
    assert (average, score) == ("5", "100"), line
    sign_in(client, bureau, "ld01")
    row = re.search(r'满勤党支部</a></td>(.*?)</tr>', client.get("/web/").text, re.S).group(1)
    shown = re.findall(r"<td>([^<]*)</td>", row)
    assert shown[:3] == [score, "100%", average], row


def test_the_bureaus_own_activities_count_as_the_years_report_and_say_cancelled_or_not_begun(
        client, bureau, clock):
    """Two 中心组学习 held, one cancelled (取消活动) and one tomorrow at 9: the year's report
    counts 2; the bureau page said 4 次 and listed the cancelled one as if it had been held."""
    from bot.domain.points import date_range
    from storage import yearly
    from storage.corrections import cancel_activity

    with Session(bureau.engine) as s:
        held = [_held(s, branch_id=None, topic=f"中心组{i}", kind="理论学习中心组",
                      at=local(2026, 10, 8 + 7 * i, 9, 0)) for i in range(3)]
        upcoming = _held(s, branch_id=None, topic="明天的中心组", kind="理论学习中心组",
                         at=local(2026, 11, 24, 9, 0))
        upcoming.status, upcoming.closed_at, upcoming.finalized_at = "open", None, None
        cancel_activity(s, activity=held[2], by=None, reason="改期", now=clock.now())
        s.commit()
        figures = yearly.build_year(s, period=date_range(date(2026, 1, 1), date(2026, 12, 31),
                                                         SHANGHAI),
                                    now=clock.now(), tz=SHANGHAI, rules=bureau.rules)
    assert figures.counts["理论学习中心组"] == 2
    sign_in(client, bureau, "ld01")
    listed = _section(client.get("/web/").text, "全局活动与签到表")
    assert "全局活动与签到表（2026 年，2 次）" in listed, listed
    line = {topic: re.search(rf"{topic}</a>\s*<span[^>]*>([^<]*)</span>", listed).group(1)
            for topic in ("中心组0", "中心组2", "明天的中心组")}
    assert "已取消" in line["中心组2"] and "未开始" in line["明天的中心组"], line
    assert "已取消" not in line["中心组0"] and "未开始" not in line["中心组0"]


def test_three_meetings_are_not_marked_missed_in_months_a_branch_did_not_exist(client, bureau,
                                                                              clock):
    """A 临时党支部 set up on 2 March and ended on 31 October: 三会一课 marked January,
    February and November red, 0 (当月未召开), for months it was not there; they read —,
    as the chat's 三会一课 holds no meeting due before a branch was set up."""
    with Session(bureau.engine) as s:
        s.add(Branch(name="护航临时党支部", created_at=local(2026, 3, 2, 9, 0), temporary=True,
                     ends_on=date(2026, 10, 31), active=False))
        s.commit()
    sign_in(client, bureau, "ld01")
    meetings = _section(client.get("/web/").text, "三会一课")
    row = re.search(r"护航临时党支部（已撤销）</a></td>(.*?)</tr>", meetings, re.S)
    assert row, meetings
    cells = re.findall(r'<td class="([^"]*)"[^>]*>([^<]*)</td>', row.group(1))
    assert [text for _, text in cells] == ["—", "—"] + ["0"] * 8 + ["—"], cells
    assert [kind for kind, text in cells if text == "—"] == ["none"] * 3


def test_every_answer_under_web_is_neither_sniffed_framed_nor_kept(browser, bureau, clock,
                                                                    monkeypatch):
    """The pages said nosniff and frame-ancestors 'none', but the scripts and style, the
    weekly picture, a missing file, a wrong method and a server error went out bare: a
    browser could guess their type, another site could frame them, and a proxy or a shared
    browser could keep an error page. Every answer under /web/ now carries the headers,
    and a personal one (not the shared files) is never kept."""
    sign_in(browser, bureau, "ld01")
    week = tokens.sign(SECRET, tokens.PICTURE, {"w": "2026-11-16"},
                       expires=clock.now() + timedelta(days=1))
    answers = {
        "page": browser.get("/web/"),
        "script": browser.get("/web/static/dashboard.js"),
        "style": browser.get("/web/static/dashboard.css"),
        "picture": browser.get(f"/web/picture/{week}.png"),
        "bad picture link": browser.get("/web/picture/x.png"),
        "missing file": browser.get("/web/static/nothing.js"),
        "wrong method": browser.post("/web/"),
    }

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(pages, "bureau_page", broken)
    answers["server error"] = browser.get("/web/")
    assert answers["server error"].status_code == 500
    assert "secret detail" not in answers["server error"].text
    for what, answer in answers.items():
        headers = answer.headers
        assert headers.get("x-content-type-options") == "nosniff", what
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), what
        assert headers.get("x-frame-options") == "DENY", what
        assert headers.get("referrer-policy") == "no-referrer", what
        if what not in ("script", "style", "missing file", "picture"):
            assert headers.get("cache-control") == "no-store", what
    # The shared files stay cacheable; the picture keeps its ten minutes, privately.
    assert "no-store" not in answers["script"].headers.get("cache-control", "")
    if answers["picture"].status_code == 200:
        assert answers["picture"].headers["cache-control"] == "private, max-age=600"


def test_a_bureau_on_its_first_day_says_its_charts_have_nothing_yet(runtime, settings):
    """Roster in, no activity held yet: an empty grid of axes says nothing (no line, no
    word); each chart with nothing to draw says so in words instead."""
    from storage.models import Role
    from tests.factories import make_branch

    runtime.settings = settings
    runtime.dispatcher.settings = settings
    with Session(runtime.engine) as s:
        branch = make_branch(s, "新建党支部")
        make_member(s, None, "李局长", role=Role.LEADER, wecom="boss")
        make_member(s, branch, "赵书记", role=Role.SECRETARY, wecom="sec")
        make_member(s, branch, "钱党员", wecom="mem")
        s.commit()
        branch_id = branch.id
    with TestClient(create_app(runtime, start_background=False),
                    base_url="https://testserver") as client:
        sign_in(client, runtime, "boss")
        bureau_page = client.get("/web/").text
        sign_in(client, runtime, "sec")
        branch_page = client.get(f"/web/branch/{branch_id}").text
        me = sign_in(client, runtime, "mem").headers["location"]
        member_page = client.get(me).text
    for page in (bureau_page, branch_page):
        assert 'id="chart-trend"' not in page
        assert "近 12 周没有活动" in page
    assert 'id="chart-year"' not in bureau_page and "本年还没有活动" in bureau_page
    assert 'id="chart-weekly"' not in member_page and "近 12 周积分没有变化" in member_page


def _shown_without_script(page: str, chart: str) -> list[str]:
    """The cells of the table a page shows for `chart` where no script runs (the chart's
    box is hidden until the script draws it, so no empty box stands in for it)."""
    box = re.search(rf'<div class="chart" id="{chart}"[^>]*>', page)
    assert box and " hidden" in box.group(0), box
    table = re.search(rf'<table class="figures" data-for="{chart}">(.*?)</table>', page, re.S)
    assert table, f"no table of {chart}'s figures"
    return re.findall(r"<td>([^<]*)</td>", table.group(1))


def test_the_charts_figures_are_shown_where_no_script_runs(client, bureau):
    """A browser that runs no script (one set so, an old in-app one the chart library fails
    on) showed an empty box where each chart goes: each chart's figures are also a table,
    hidden once the chart is drawn."""
    sign_in(client, bureau, "ld01")
    page = client.get("/web/").text
    chart = json.loads(re.search(r'id="chart-data">(.*?)</script>', page, re.S).group(1))
    assert _shown_without_script(page, "chart-trend") == [
        "无活动" if v is None else f"{v:g}%" for v in chart["trend"]["series"][0]["data"]]
    assert _shown_without_script(page, "chart-year")[-1] == \
        f'{chart["year"]["series"][0]["data"][-1]:g}%'
    g1 = branch_id(bureau, "城关派出所党支部")
    assert "%" in "".join(_shown_without_script(client.get(f"/web/branch/{g1}").text,
                                                "chart-trend"))
    me = sign_in(client, bureau, "cg03").headers["location"]
    page = client.get(me).text
    chart = json.loads(re.search(r'id="chart-data">(.*?)</script>', page, re.S).group(1))
    assert _shown_without_script(page, "chart-weekly") == [
        f"{v} 分" for v in chart["weekly"]["series"][0]["data"]]


def test_a_leaders_own_points_page_does_not_begin_with_a_stray_dot(client, bureau):
    """A leader belongs to no branch: the line under the name began 「 · 本年积分」."""
    sign_in(client, bureau, "ld01")
    me = re.search(r'href="(/web/member/\d+)">我的积分', client.get("/web/").text).group(1)
    line = re.search(r'<p class="sub">(.*?)</p>', client.get(me).text, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", line).strip().startswith("本年积分"), line


def test_which_of_the_three_meetings_a_month_held_is_there_on_a_phone(client, bureau, clock):
    """A month's 三会一课 cell gave the kinds held (支委会 1 党课 1) only in a hover title,
    which a phone never shows: a tap on the number opens them (details, no script)."""
    clock.set(local(2026, 11, 23, 15, 0))
    for kind in ("支委会", "党课"):
        say(bureau, "cg01", f"开始 {kind}", "demo-g1")
        clock.set(clock.now() + timedelta(hours=1))
        say(bureau, "cg01", "结束", "demo-g1")
    sign_in(client, bureau, "ld01")
    row = re.search(r"城关派出所党支部</a></td>(.*?)</tr>",
                    _section(client.get("/web/").text, "三会一课"), re.S)
    assert row
    november = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)[10]
    shown = re.sub(r"<[^>]+>", " ", re.sub(r'title="[^"]*"', "", november)).split()
    assert "<details>" in november and shown[0] == "2", november
    assert " ".join(shown[1:]) == "支委会 1 党课 1", november


def test_a_refusal_to_someone_signed_in_keeps_the_way_to_their_own_pages(client, bureau):
    """A page forwarded from another branch (or a sheet deleted since) refused a secretary
    on a page with no links at all: the bar with 本支部 and 我的积分 stays on it."""
    g1, g2 = branch_id(bureau, "城关派出所党支部"), branch_id(bureau, "交警大队党支部")
    sign_in(client, bureau, "cg01")
    for address in (f"/web/branch/{g2}", "/web/activity/999999", "/web/member/999999"):
        refused = client.get(address)
        assert refused.status_code in (403, 404)
        assert f'href="/web/branch/{g1}"' in refused.text, address
        assert "我的积分" in refused.text and "退出" in refused.text
