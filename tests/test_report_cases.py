"""The weekly summary's figures in the cases a bureau meets, each checked by hand against
what people did: moves between branches, joining and leaving the roster, ended branches,
corrections after the week, rounding at the tier lines, visits across the year's end and
the week's end in Shanghai time. The counts in each docstring are the ones a secretary
would write down."""

from __future__ import annotations

from datetime import date, timedelta, timezone

from sqlmodel import Session, select

from storage.models import Member, PastMembership, PointEntry, Role
from storage.roster import RosterRow, apply_roster
from tests.conftest import SHANGHAI, local
from tests.factories import T0, bind_chat, make_branch, make_member, seed


def two_branches(session):
    """一支部 (g1): 书记 (sec), 甲 (a), 乙 (b); 二支部 (g2): 书记二 (sec2), 丙 (c); 领导 (boss)."""
    one, two = make_branch(session, "一支部"), make_branch(session, "二支部")
    bind_chat(session, one, "g1")
    bind_chat(session, two, "g2")
    make_member(session, one, "书记", role=Role.SECRETARY, wecom="sec")
    make_member(session, one, "甲", wecom="a")
    make_member(session, one, "乙", wecom="b")
    make_member(session, two, "书记二", role=Role.SECRETARY, wecom="sec2")
    make_member(session, two, "丙", wecom="c")
    make_member(session, None, "领导", role=Role.LEADER, wecom="boss")


def night_study(chat, clock, chat_id: str, *users: str) -> None:
    """A night study opened at the clock's time in `chat_id`, checked in by `users`, ended
    after 90 minutes: absences not confirmed yet."""
    secretary = {"g1": "sec", "g2": "sec2"}[chat_id]
    start = clock.now()
    assert not chat.say(secretary, "开始 政治夜学", chat=chat_id).is_error
    for user in users:
        assert not chat.say(user, "签到", chat=chat_id).is_error
    clock.set(start + timedelta(minutes=90))
    assert not chat.say(secretary, "结束", chat=chat_id).is_error
    clock.set(start)


def roster(runtime, clock, *rows: RosterRow, full: bool = False) -> None:
    seed(runtime.engine, lambda s: apply_roster(s, list(rows), full=full, now=clock.now(),
                                                   tz=SHANGHAI))


def line(text: str, branch: str) -> str:
    """The figures line under a branch's heading in 周报."""
    lines = text.splitlines()
    return lines[lines.index(next(x for x in lines if x.startswith(f"**{branch}**"))) + 1]


def branch_points(runtime, name: str) -> dict[str, int]:
    """Each member's ledger points posted to the branch."""
    with Session(runtime.engine) as s:
        rows = s.exec(select(Member.name, PointEntry.points, PointEntry.branch_id)
                      .join(PointEntry, PointEntry.member_id == Member.id)).all()
        from storage.org import branch_by_name
        branch = branch_by_name(s, name=name)
    totals: dict[str, int] = {}
    for who, points, branch_id in rows:
        if branch_id == branch.id:
            totals[who] = totals.get(who, 0) + points
    return totals


# --- moving between branches, leaving and joining the roster ----------------------------


def test_a_member_who_moves_mid_week_is_due_where_they_were_and_not_where_they_went(
        runtime, chat, clock):
    """Tuesday 19:30 both branches hold a night study: 甲 misses 一支部's. Wednesday
    morning, before either record is confirmed, the roster moves 甲 to 二支部; Thursday 甲
    checks in at 二支部's. By hand: 一支部 expected 3 on Tuesday (甲 among them) and 2 came;
    二支部 expected 2 on Tuesday (甲 was not theirs yet) and 3 on Thursday. 甲's −1 is
    一支部's; the +2 on Thursday is 二支部's."""
    seed(runtime.engine, two_branches)
    clock.set(local(2026, 11, 24, 19, 30))
    night_study(chat, clock, "g1", "sec", "b")
    night_study(chat, clock, "g2", "sec2", "c")
    clock.set(local(2026, 11, 25, 9, 0))
    roster(runtime, clock, RosterRow(row=2, name="甲", branch="二支部", wecom_id="a"))

    # Before confirmation: 甲 is one of 一支部's missing, and none of 二支部's.
    week = chat.say("boss", "周报 本周").text
    assert "参与 2/2（100.0%，1 人缺席待确认）" in line(week, "一支部"), week
    assert "参与 2/2（100.0%）" in line(week, "二支部"), week

    clock.set(local(2026, 11, 25, 22, 0))
    assert "参与 2/3（66.7%），缺席 1 人" in chat.say("sec", "确认缺席", chat="g1").text
    assert "参与 2/2（100.0%）" in chat.say("sec2", "确认缺席", chat="g2").text
    clock.set(local(2026, 11, 26, 19, 30))
    night_study(chat, clock, "g2", "sec2", "c", "a")

    clock.set(local(2026, 11, 30, 9, 0))
    week = chat.say("boss", "周报").text
    assert "活动 1 次 · 参与 2/3（66.7%）" in line(week, "一支部"), week
    assert "活动 2 次 · 参与 5/5（100.0%）" in line(week, "二支部"), week
    assert branch_points(runtime, "一支部") == {"书记": 2, "乙": 2, "甲": -1}
    assert branch_points(runtime, "二支部") == {"书记二": 4, "丙": 4, "甲": 2}
    assert "11月24日 19:30 -1 政治夜学 缺席" in chat.say("a", "积分明细").text


def test_a_member_who_leaves_the_roster_before_the_absences_are_confirmed_counts_once(
        runtime, chat, clock):
    """乙 misses Tuesday's night study and is off the roster (a full import without 乙) on
    Wednesday, before the absences are confirmed: expected 3, attended 2, 乙 absent, before
    and after the confirmation, as had the import come a day later."""
    seed(runtime.engine, two_branches)
    clock.set(local(2026, 11, 24, 19, 30))
    night_study(chat, clock, "g1", "sec", "a")
    clock.set(local(2026, 11, 25, 9, 0))
    roster(runtime, clock,
           RosterRow(row=2, name="书记", branch="一支部", role=Role.SECRETARY, wecom_id="sec"),
           RosterRow(row=3, name="甲", branch="一支部", wecom_id="a"),
           RosterRow(row=4, name="书记二", branch="二支部", role=Role.SECRETARY, wecom_id="sec2"),
           RosterRow(row=5, name="丙", branch="二支部", wecom_id="c"),
           RosterRow(row=6, name="领导", role=Role.LEADER, wecom_id="boss"), full=True)
    assert "参与 2/2（100.0%，1 人缺席待确认）" in line(chat.say("boss", "周报 本周").text, "一支部")
    clock.set(local(2026, 11, 25, 22, 0))
    assert "参与 2/3（66.7%），缺席 1 人" in chat.say("sec", "确认缺席", chat="g1").text
    assert "参与 2/3（66.7%）" in line(chat.say("boss", "周报 本周").text, "一支部")
    with Session(runtime.engine) as s:
        spell = s.exec(select(PastMembership)).one()
        assert (spell.until, spell.role) == (local(2026, 11, 25, 9, 0), "member")


def test_a_member_who_joins_mid_week_is_not_due_at_what_was_held_before(runtime, chat, clock):
    """丁 joins 一支部 on Wednesday: Tuesday's night study expected 3 (not 丁) before and
    after its confirmation; Thursday's expects 4."""
    seed(runtime.engine, two_branches)
    clock.set(local(2026, 11, 24, 19, 30))
    night_study(chat, clock, "g1", "sec", "a", "b")
    clock.set(local(2026, 11, 25, 9, 0))
    roster(runtime, clock, RosterRow(row=2, name="丁", branch="一支部", wecom_id="d"))
    assert "参与 3/3（100.0%）" in line(chat.say("boss", "周报 本周").text, "一支部")
    clock.set(local(2026, 11, 25, 22, 0))
    assert "参与 3/3（100.0%）" in chat.say("sec", "确认缺席", chat="g1").text
    clock.set(local(2026, 11, 26, 19, 30))
    night_study(chat, clock, "g1", "sec", "a", "b", "d")
    clock.set(local(2026, 11, 30, 9, 0))
    assert "活动 2 次 · 参与 7/7（100.0%）" in line(chat.say("boss", "周报").text, "一支部")


# --- who a branch's average points are shared among -----------------------------------------


def report_week(runtime, settings, week: str = "2026-W48"):
    from bot.domain.points import parse_iso_week
    from tests.test_reports import report_for

    with Session(runtime.engine) as s:
        return {b.name: b for b in report_for(s, settings, runtime,
                                              parse_iso_week(week, settings.tz)).branches}


def test_an_ended_temporary_branch_keeps_its_score_for_the_weeks_it_held_activities(
        runtime, settings):
    """专案临时支部's four members all came to its Wednesday night study (+2 each), and it
    ended on Friday, its members going back to 城关支部. W48 by hand: 4/4, 8 points among 4
    people, 2 each, measured against a week's reference (never less than a week's, though
    it ran five days): 100 × (0.6 + 0.4 × min(1, 2 ÷ 2.33)) = 94.3, red, read on Saturday or on Monday. (Its members were counted as 0 once it ended: 8 ÷ 0 gave no average and the
    score fell to 60.) 城关支部's average is shared among its own and the four back with it."""
    from storage.temporary import end_due
    from tests.test_reports import attend, award, hold

    def scene(s):
        home = make_branch(s, "城关支部")
        temp = make_branch(s, "专案临时支部", temporary=True, ends_on=date(2026, 11, 27))
        people = [make_member(s, temp, return_branch_id=home.id) for _ in range(4)]
        day = hold(s, temp, local(2026, 11, 25, 19, 30), type_="政治夜学")
        for m in people:
            attend(s, day, m, "present", points=2)
        for m in [make_member(s, home) for _ in range(4)]:
            award(s, m, 3, local(2026, 11, 24, 20, 0))
    seed(runtime.engine, scene)
    before = report_week(runtime, settings)["专案临时支部"]
    assert (before.members, before.average_points, before.score, before.tier) == (4, 2.0, 94.3, "红")
    seed(runtime.engine, lambda s: end_due(s, today=date(2026, 11, 28),
                                           now=local(2026, 11, 28, 0, 5), tz=SHANGHAI))
    after = report_week(runtime, settings)
    assert (after["专案临时支部"].members, after["专案临时支部"].score,
            after["专案临时支部"].tier) == (4, 94.3, "红")
    assert (after["城关支部"].members, after["城关支部"].points) == (8, 12)
    assert report_week(runtime, settings, "2026-W49")["城关支部"].members == 8
    assert "专案临时支部" not in report_week(runtime, settings, "2026-W49")


def test_in_quota_mode_an_ended_temporary_branch_takes_no_standing_branchs_blue_place(
        runtime, settings):
    """Quota tiers, a fifth blue, five branches: 专案临时支部 ended on Friday with nobody at
    its night study, the lowest score. It took the one blue place, so 四支部, lowest of
    the four standing, was yellow and nobody was asked to a talk (约谈). The shares are of
    the branches still standing; the ended one is tiered by the same cut-offs."""
    from dataclasses import replace as with_

    from storage.temporary import end_due
    from tests.test_reports import attend, hold

    def scene(s):
        standing = [make_branch(s, name) for name in ("一支部", "二支部", "三支部", "四支部")]
        temp = make_branch(s, "专案临时支部", temporary=True, ends_on=date(2026, 11, 27))
        for branch, came in zip(standing, (4, 3, 2, 1)):
            people = [make_member(s, branch) for _ in range(4)]
            day = hold(s, branch, local(2026, 11, 25, 19, 30), type_="政治夜学")
            for n, m in enumerate(people):
                attend(s, day, m, "present" if n < came else "absent",
                       points=2 if n < came else -1)
        gone = [make_member(s, temp, return_branch_id=standing[0].id) for _ in range(4)]
        day = hold(s, temp, local(2026, 11, 25, 19, 30), type_="政治夜学")
        for m in gone:
            attend(s, day, m, "absent", points=-1)
    seed(runtime.engine, scene)
    seed(runtime.engine, lambda s: end_due(s, today=date(2026, 11, 28),
                                           now=local(2026, 11, 28, 0, 5), tz=SHANGHAI))
    runtime.rules = with_(runtime.rules, tiers=with_(runtime.rules.tiers, mode="quota",
                                                     red_share=0.2, blue_share=0.2))
    lines = report_week(runtime, settings)
    assert (lines["四支部"].tier, lines["四支部"].talk) == ("蓝", True)
    assert (lines["专案临时支部"].tier, lines["专案临时支部"].talk) == ("蓝", False)
    assert lines["一支部"].tier == "红" and lines["三支部"].tier == "黄"


def test_a_weeks_quota_tiers_stay_as_sent_when_a_temporary_branch_ends_weeks_later(
        runtime, settings):
    """专案临时支部 stood all of W48 (it ends on 12月19日) and was its lowest: blue, asked to
    a talk, 四支部 yellow, as 周报 said on 11月30日. Once it ended, W48 read again took it out
    of the ranking (by whether it is active now) and 四支部 turned blue and was asked to a
    talk for a week long gone. Whether it stood is read from its end date."""
    from dataclasses import replace as with_

    from storage.temporary import end_due
    from tests.test_reports import attend, hold

    def scene(s):
        standing = [make_branch(s, name) for name in ("一支部", "二支部", "三支部", "四支部")]
        temp = make_branch(s, "专案临时支部", temporary=True, ends_on=date(2026, 12, 19))
        for branch, came in zip([*standing, temp], (4, 3, 2, 1, 0)):
            people = [make_member(s, branch) for _ in range(4)]
            day = hold(s, branch, local(2026, 11, 25, 19, 30), type_="政治夜学")
            for n, m in enumerate(people):
                attend(s, day, m, "present" if n < came else "absent",
                       points=2 if n < came else -1)
    seed(runtime.engine, scene)
    runtime.rules = with_(runtime.rules, tiers=with_(runtime.rules.tiers, mode="quota",
                                                     red_share=0.2, blue_share=0.2))
    sent = {name: (line.tier, line.talk) for name, line in report_week(runtime, settings).items()}
    assert sent["专案临时支部"] == ("蓝", True) and sent["四支部"] == ("黄", False)
    seed(runtime.engine, lambda s: end_due(s, today=date(2026, 12, 20),
                                           now=local(2026, 12, 20, 0, 5), tz=SHANGHAI))
    again = {name: (line.tier, line.talk) for name, line in report_week(runtime, settings).items()}
    assert again["四支部"] == ("黄", False) and again["专案临时支部"] == ("蓝", False), again


def test_in_quota_mode_a_branch_set_up_in_the_week_takes_no_standing_branchs_red_place(
        runtime, settings):
    """Quota tiers, a fifth red and a fifth blue, W48. 派出所党支部 was set up on Saturday
    the 28th and held one 主题党日 that evening, its four members there (+3 each): 100.
    一支部, there all week, had everyone at its night study: 94.3. Five branches ranked,
    one red place, and the two days' branch took it: 一支部 was yellow for a perfect week.
    The shares are of the branches there all week (four: one red, one blue), as for one
    that ended in it; the new branch is tiered by the same cut-offs (100 ≥ 94.3: red too)."""
    from dataclasses import replace as with_

    from tests.test_reports import attend, hold

    def scene(s):
        standing = [make_branch(s, name) for name in ("一支部", "二支部", "三支部", "四支部")]
        new = make_branch(s, "派出所党支部")
        new.created_at = local(2026, 11, 28, 9, 0)
        for branch, came in zip(standing, (4, 3, 2, 1)):
            people = [make_member(s, branch) for _ in range(4)]
            day = hold(s, branch, local(2026, 11, 25, 19, 30), type_="政治夜学")
            for n, m in enumerate(people):
                attend(s, day, m, "present" if n < came else "absent",
                       points=2 if n < came else -1)
        people = [make_member(s, new) for _ in range(4)]
        day = hold(s, new, local(2026, 11, 28, 14, 30), type_="主题党日")
        for m in people:
            attend(s, day, m, "present", points=3)
    seed(runtime.engine, scene)
    runtime.rules = with_(runtime.rules, tiers=with_(runtime.rules.tiers, mode="quota",
                                                     red_share=0.2, blue_share=0.2))
    lines = report_week(runtime, settings)
    assert (lines["派出所党支部"].score, lines["一支部"].score) == (100, 94.3)
    assert {name: line.tier for name, line in lines.items()} == {
        "派出所党支部": "红", "一支部": "红", "二支部": "黄", "三支部": "黄", "四支部": "蓝"}


def test_周报_says_beside_a_branch_set_up_in_the_week_how_few_days_it_was_there(
        runtime, settings, chat, clock):
    """派出所党支部 was set up on Saturday 11月28日 and held one night study, one of its
    three members there: 100 × (0.6 × 1/3 + 0.4 × (2/3 ÷ 2.33)) = 31.4, 蓝 and 约谈 in
    周报 and the leaders' 红黄蓝榜 上周, with nothing saying it had been there two days:
    the leader could not tell a new branch's first evening from a week's neglect. Its line
    says so, as a month's report says it of a branch set up in the month."""
    from tests.test_reports import attend, hold

    def scene(s):
        make_branch(s, "一支部")  # of djbot's first roster, in January
        new = make_branch(s, "派出所党支部")
        new.created_at = local(2026, 11, 28, 9, 0)
        people = [make_member(s, new) for _ in range(3)]
        day = hold(s, new, local(2026, 11, 28, 19, 30), type_="政治夜学")
        for n, m in enumerate(people):
            attend(s, day, m, "present" if n == 0 else "absent", points=2 if n == 0 else 0)
        make_member(s, None, "领导", role=Role.LEADER, wecom="boss")
        bind_chat(s, None, "lg", leaders=True)
    seed(runtime.engine, scene)
    line = report_week(runtime, settings)["派出所党支部"]
    assert (line.score, line.tier, line.talk) == (31.4, "蓝", True)
    assert line.reference_note == "（在册 2 天，按 7 天计，人均积分÷2.33）", line.reference_note
    clock.set(local(2026, 11, 30, 9, 0))
    board = chat.say("boss", "红黄蓝榜 上周", chat="lg").text
    assert "人均 0.7 分（在册 2 天，按 7 天计，人均积分÷2.33）" in board, board


def test_a_cancellation_taken_back_after_the_week_is_no_later_correction_of_it(
        runtime, settings):
    """一支部's theme day on Wednesday 11月25日, its three members there (+3 each). On
    Tuesday 12月1日 the secretary cancels it by mistake (3 reversals) and restores it (3
    reversals of those): W48's figures are what 周报 sent on Monday, yet 周报 read again said
    「期后更正：一支部 冲销 6 笔」 and 红黄蓝榜 上周 「（期后冲销 6 笔）」, figures that
    changed after the week, which no figure had. A cancellation alone is still said (3)."""
    from storage.corrections import cancel_activity, restore_activity
    from storage.figures import render_markdown
    from storage.models import Activity
    from tests.test_reports import attend, hold, report_for
    from bot.domain.points import parse_iso_week

    def scene(s):
        one = make_branch(s, "一支部")
        make_member(s, one, "书记", role=Role.SECRETARY)
        people = [make_member(s, one) for _ in range(3)]
        day = hold(s, one, local(2026, 11, 25, 14, 30), expected_count=4)
        for m in people:
            attend(s, day, m, "present", points=3)
        return day.id
    day_id = seed(runtime.engine, scene)
    sent = report_week(runtime, settings)["一支部"]
    with Session(runtime.engine) as s:
        secretary = s.exec(select(Member).where(Member.name == "书记")).one()
        cancel_activity(s, activity=s.get(Activity, day_id), by=secretary, reason="误点",
                        now=local(2026, 12, 1, 9, 0))
        s.commit()
    assert report_week(runtime, settings)["一支部"].corrected_after == 3
    with Session(runtime.engine) as s:
        secretary = s.exec(select(Member).where(Member.name == "书记")).one()
        restore_activity(s, activity=s.get(Activity, day_id), by=secretary, reason="取消错了",
                         now=local(2026, 12, 1, 9, 5), tz=SHANGHAI)
        s.commit()
    again = report_week(runtime, settings)["一支部"]
    assert (again.score, again.points, again.corrected_after) == (sent.score, sent.points, 0)
    with Session(runtime.engine) as s:
        text = render_markdown(report_for(s, settings, runtime,
                                          parse_iso_week("2026-W48", SHANGHAI)))
    assert "期后更正" not in text, text


def test_the_dashboards_quota_tiers_are_周报s_when_a_temporary_branch_ends_after_the_week(
        runtime, settings):
    """Quota tiers, a fifth blue. 专案临时支部 stood all of W48 (it ends on Monday 11月30日),
    lowest of five: 周报 gives it the one blue place, 四支部 yellow. The bureau page read on
    Tuesday took 专案临时支部 for ended during the week (it asked whether the branch is
    active now, not its end date) and out of the ranking: 四支部 blue, a talk asked (约谈)
    that 周报 and 红黄蓝榜 did not ask."""
    from dataclasses import replace as with_

    from bot.web import pages
    from storage.temporary import end_due
    from tests.test_reports import attend, hold

    def scene(s):
        standing = [make_branch(s, name) for name in ("一支部", "二支部", "三支部", "四支部")]
        temp = make_branch(s, "专案临时支部", temporary=True, ends_on=date(2026, 11, 30))
        for branch, came in zip([*standing, temp], (4, 3, 2, 1, 0)):
            people = [make_member(s, branch) for _ in range(4)]
            day = hold(s, branch, local(2026, 11, 25, 19, 30), type_="政治夜学")
            for n, m in enumerate(people):
                attend(s, day, m, "present" if n < came else "absent",
                       points=2 if n < came else -1)
    seed(runtime.engine, scene)
    seed(runtime.engine, lambda s: end_due(s, today=date(2026, 12, 1),
                                           now=local(2026, 12, 1, 0, 5), tz=SHANGHAI))
    runtime.rules = with_(runtime.rules, tiers=with_(runtime.rules.tiers, mode="quota",
                                                     red_share=0.2, blue_share=0.2))
    report = {name: (line.tier, line.talk) for name, line in report_week(runtime, settings).items()}
    assert report["四支部"] == ("黄", False) and report["专案临时支部"] == ("蓝", False), report
    with Session(runtime.engine) as s:
        page = pages.bureau_page(s, now=local(2026, 12, 1, 10, 0), settings=settings,
                                 rules=runtime.rules)
    assert {b["name"]: (b["tier"], b["talk"]) for b in page["tiers"]} == report


def test_an_activity_planned_after_a_temporary_branch_ends_is_taken_away_when_it_ends(
        runtime, settings):
    """专案临时支部 ends on Friday the 27th; its Saturday night study had been created
    three days ahead. When the scheduler ends the branch just after midnight, Saturday's
    is taken away: W48 says it held one activity, its Wednesday's, not two (the second,
    with nobody expected, would also have read as held in 三会一课); and its group, told an
    hour before of a Sunday one, hears that one is off."""
    import asyncio

    from bot.scheduling.tick import Ticker
    from storage.models import Activity, OutboxMessage
    from tests.test_reminders_restart import Recorder
    from tests.test_reports import attend, hold
    from tests.test_schedule_handlers import _worker

    def scene(s):
        home = make_branch(s, "城关支部")
        temp = make_branch(s, "专案临时支部", temporary=True, ends_on=date(2026, 11, 27))
        bind_chat(s, temp, "tg")
        people = [make_member(s, temp, return_branch_id=home.id) for _ in range(2)]
        day = hold(s, temp, local(2026, 11, 25, 19, 30), type_="政治夜学")
        for m in people:
            attend(s, day, m, "present", points=2)
        for starts in (local(2026, 11, 28, 19, 30), local(2026, 11, 29, 0, 30)):
            later = hold(s, temp, starts, type_="政治夜学", confirmed=False)
            later.status = "open"
        # Sunday's (set inside quiet hours: its reminders go at night) was announced.
        s.add(OutboxMessage(platform="wecom", target_kind="group", target="tg",
                            kind="reminder.group_before", status="sent",
                            payload={"text": "【活动提醒】"}, created_at=T0,
                            next_attempt_at=T0, branch_id=temp.id,
                            dedupe_key=f"reminder.group_before|wecom:group:tg|"
                                       f"{later.starts_at.astimezone(timezone.utc).isoformat()}"
                                       f"|activity:{later.id}"))
    seed(runtime.engine, scene)
    runtime.clock.set(local(2026, 11, 28, 0, 5))
    Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules).tick()
    runtime.clock.set(local(2026, 11, 30, 9, 0))  # Monday's summary
    assert report_week(runtime, settings)["专案临时支部"].activities == 1
    with Session(runtime.engine) as s:
        left = {a.starts_at: a.status for a in s.exec(select(Activity)).all()}
    assert left == {local(2026, 11, 25, 19, 30): "closed", local(2026, 11, 29, 0, 30): "cancelled"}
    sender = Recorder()
    asyncio.run(_worker(runtime, sender).drain())
    assert [(m.target, m.payload["text"]) for m in sender.sent if m.kind == "activity.cancel"] \
        == [("tg", "【活动取消】政治夜学「测试」（11月29日 00:30）已取消。原因：临时党支部已撤销")]


def test_a_scheduler_back_late_after_a_temporary_branch_ended_leaves_what_was_held(
        runtime, settings):
    """The scheduler was down from Friday night to Sunday: the branch that ended on Friday
    is closed at Sunday's first tick, but Saturday's study, held and checked in to, keeps
    its check-ins and points."""
    from bot.scheduling.tick import Ticker
    from storage.models import Activity
    from tests.test_reports import attend, hold

    def scene(s):
        home = make_branch(s, "城关支部")
        temp = make_branch(s, "专案临时支部", temporary=True, ends_on=date(2026, 11, 27))
        member = make_member(s, temp, return_branch_id=home.id)
        attend(s, hold(s, temp, local(2026, 11, 28, 19, 30), type_="政治夜学"), member,
               "present", points=2)
    seed(runtime.engine, scene)
    runtime.clock.set(local(2026, 11, 29, 9, 0))
    Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules).tick()
    with Session(runtime.engine) as s:
        assert [a.status for a in s.exec(select(Activity)).all()] == ["closed"]
        assert sum(s.exec(select(PointEntry.points)).all()) == 2


def test_last_weeks_figures_do_not_move_when_people_or_branches_arrive_after_it(
        runtime, settings):
    """一支部's four came to their theme day last week (+3 each). On Monday the roster adds
    four members to 一支部 and a new 二支部. Last week stays 12 points among 4, red, and
    二支部, which did not exist then, is not listed as a branch that held nothing."""
    from storage.models import Branch
    from storage.roster import RosterRow
    from tests.test_reports import attend, hold

    def scene(s):
        one = make_branch(s, "一支部")
        people = [make_member(s, one, f"甲{i}", wecom=f"a{i}") for i in range(4)]
        day = hold(s, one, local(2026, 11, 24, 14, 30))
        for m in people:
            attend(s, day, m, "present", points=3)
    seed(runtime.engine, scene)
    first = report_week(runtime, settings)["一支部"]
    seed(runtime.engine, lambda s: apply_roster(
        s, [RosterRow(row=i + 2, name=f"新{i}", branch="二支部" if i == 0 else "一支部",
                      wecom_id=f"n{i}") for i in range(5)],
        full=False, now=local(2026, 11, 30, 9, 0), tz=SHANGHAI))
    with Session(runtime.engine) as s:
        assert s.exec(select(Branch).where(Branch.name == "二支部")).one()
    later = report_week(runtime, settings)
    assert list(later) == ["一支部"]
    assert (later["一支部"].members, later["一支部"].average_points, later["一支部"].score) == \
        (first.members, first.average_points, first.score) == (4, 3.0, 100.0)


def test_a_member_who_left_after_scoring_is_in_the_base_of_that_week(runtime, settings):
    """Four members, each 3 points at Tuesday's theme day; one leaves the roster on Friday.
    The week's 12 points were earned by four people: 3 each, not 12 ÷ 3 = 4."""
    from storage import moves
    from tests.test_reports import attend, hold

    def scene(s):
        one = make_branch(s, "一支部")
        people = [make_member(s, one) for _ in range(4)]
        day = hold(s, one, local(2026, 11, 24, 14, 30))
        for m in people:
            attend(s, day, m, "present", points=3)
        moves.leave_roster(s, member=people[0], now=local(2026, 11, 27, 9, 0))
        s.add(people[0])
    seed(runtime.engine, scene)
    line_ = report_week(runtime, settings)["一支部"]
    assert (line_.members, line_.points, line_.average_points) == (4, 12, 3.0)


# --- the same period, the same tiers ----------------------------------------------------


def test_this_weeks_report_scores_the_week_to_date_as_the_tier_list_does(runtime, chat, clock):
    """Tuesday evening: 一支部's night study, 甲 came and the 书记 did not (confirmed).
    1/2 and 2 points among 2 people, 1.5 days of the week gone: the reference is
    10 × 1.5/30 = 0.5 a member, so 100 × (0.6 × 0.5 + 0.4 × 1) = 70, yellow, in both
    周报 本周 and 红黄蓝榜 本周. (周报 scored it against the whole week's 2.33: 38.6, blue,
    约谈, while 红黄蓝榜 said yellow.)"""
    from tests.factories import branch_with_a_leader

    seed(runtime.engine, branch_with_a_leader)
    clock.set(local(2026, 11, 24, 10, 30))
    night_study(chat, clock, "g1", "a")
    clock.set(local(2026, 11, 24, 12, 0))
    chat.say("sec", "确认缺席", chat="g1")
    report = chat.say("boss", "周报 本周").text
    assert "统计区间：2026年11月23日 至 2026年11月24日" in report
    assert "**一支部** 🟡黄 70 分" in report, report
    tiers = chat.say("boss", "红黄蓝榜 本周").text
    assert "🟡 黄榜（1 个）\n· 一支部 70 分：活动 1 次，参与率 50.0%（1/2）" in tiers, tiers


# --- the week's end, in Shanghai time -------------------------------------------------------


def test_a_night_study_from_2330_on_sunday_is_that_weeks_even_before_it_is_closed(
        runtime, chat, clock):
    """Sunday 29 November 23:30 Shanghai time (15:30 UTC): 甲 checks in; nobody says 结束
    and the scheduler has not closed it yet when the leader reads 周报 on Monday at 09:00.
    It started in W48 and has ended: W48 shows it (1 came, the 书记 not confirmed absent
    yet) and its points; this week neither. (It was left out of W48 as not finished by the
    week's end, while its points were in W48's top list.)"""
    from tests.factories import branch_with_a_leader

    seed(runtime.engine, branch_with_a_leader)
    clock.set(local(2026, 11, 29, 23, 30))
    assert not chat.say("sec", "开始 政治夜学", chat="g1").is_error
    assert "签到成功" in chat.say("a", "签到", chat="g1").text
    clock.set(local(2026, 11, 30, 9, 0))
    last_week = chat.say("boss", "周报").text
    assert "统计区间：2026年11月23日 至 2026年11月29日" in last_week
    assert "活动 1 次 · 参与 1/1（100.0%，1 人缺席待确认）" in line(last_week, "一支部"), last_week
    assert "1. 甲（一支部）2 分" in last_week and "本期未开展活动" not in last_week
    this_week = chat.say("boss", "周报 本周").text
    assert "活动 0 次" in line(this_week, "一支部") and "积分前列" not in this_week
    assert "本周：0 分" in chat.say("a", "积分").text


# --- a branch with no rate -------------------------------------------------------------------


def test_a_branch_whose_activity_awaits_confirmation_is_not_said_to_have_held_nothing(
        runtime, chat, clock):
    """December 1st, 20:00: 一支部's night study has ended and nobody checked in; the two
    missing are not confirmed absent yet, so there is no rate (not 0%, not 100%) and no
    tier. 红黄蓝榜 says it held one and why there is no rate, rather than 「本期未开展活动」
    and November's list in its place (「本期还没有开展活动，先看上月的」); 周报 本周 alike."""
    from tests.factories import branch_with_a_leader
    from tests.test_reports import attend, hold

    def scene(s):
        branch = branch_with_a_leader(s)
        day = hold(s, branch, local(2026, 11, 10, 19, 30), type_="政治夜学")
        for m in s.exec(select(Member).where(Member.branch_id == branch.id)).all():
            attend(s, day, m, "present", points=2)
    seed(runtime.engine, scene)
    clock.set(local(2026, 12, 1, 18, 30))
    night_study(chat, clock, "g1")
    clock.set(local(2026, 12, 1, 20, 0))
    tiers = chat.say("boss", "红黄蓝榜").text
    assert tiers.startswith("红黄蓝榜（本月，"), tiers
    assert "已开展活动、暂无参与率：一支部（活动 1 次，2 人缺席待确认）" in tiers, tiers
    assert "本期未开展活动" not in tiers and "先看上月" not in tiers
    week = chat.say("boss", "周报 本周").text
    assert "**一支部** —" in week and "参与 0/0（—，2 人缺席待确认）" in line(week, "一支部")
    assert "本期未开展活动" not in week


# --- research visits and the year ---------------------------------------------------------


def test_visits_count_against_the_year_the_week_starts_in(runtime, settings):
    """Two visits to 一支部 in 2026 (June and 30 December), one withdrawn (撤销调研) in
    November, one on 2 January 2027. The week of 28 December – 3 January (2026-W53) shows
    2026 whole: 2/2, target met (it said 0/2 for 2027 and listed 一支部 under target,
    and the visit of 30 December was in no week's count). The first week wholly in 2027
    counts 2027: 1/2. The withdrawn visit counts nowhere."""
    from datetime import UTC, datetime

    from storage.models import ResearchVisit

    def scene(s):
        one = make_branch(s, "一支部")
        leader = make_member(s, None, "王局", role=Role.LEADER)
        logged = datetime(2027, 1, 2, tzinfo=UTC)
        for day in (date(2026, 6, 1), date(2026, 12, 30), date(2027, 1, 2)):
            s.add(ResearchVisit(leader_id=leader.id, branch_id=one.id, visited_on=day,
                                logged_at=logged))
        s.add(ResearchVisit(leader_id=leader.id, branch_id=one.id, visited_on=date(2026, 11, 3),
                            logged_at=logged, withdrawn_at=logged, withdrawn_by=leader.id))
    seed(runtime.engine, scene)
    assert report_week(runtime, settings, "2026-W52")["一支部"].visits == 1
    straddling = report_week(runtime, settings, "2026-W53")["一支部"]
    assert (straddling.visits, straddling.visit_target) == (2, 2)
    assert report_week(runtime, settings, "2027-W01")["一支部"].visits == 1


# --- rounding at the tier line ----------------------------------------------------------------


def test_a_score_of_59_95_by_hand_is_60_and_yellow_not_59_9_and_blue(runtime, chat, clock):
    """November (30 days, reference 10 points a member): 一支部's 20 members, one theme
    day: 13 came, 4 on leave, 3 absent, so 13/16 = 81.25% → 81.3%; 39 − 6 + 23 studied =
    56 points, 2.8 each. By hand: 0.6 × 81.25 + 0.4 × 28 = 48.75 + 11.2 = 59.95 → 60.0,
    yellow. (In floats it came to 59.9499…, shown 59.9 and blue, 约谈, beside 81.2%.)"""
    from tests.test_reports import attend, award, hold

    def scene(s):
        one = make_branch(s, "一支部")
        bind_chat(s, None, "g-leaders", leaders=True)
        make_member(s, None, "领导", role=Role.LEADER, wecom="boss")
        people = [make_member(s, one, f"党员{i:02d}") for i in range(20)]
        day = hold(s, one, local(2026, 11, 10, 14, 30))
        for m in people[:13]:
            attend(s, day, m, "present", points=3)
        for m in people[13:17]:
            attend(s, day, m, "leave")
        for m in people[17:]:
            attend(s, day, m, "absent", points=-2)
        for m, points in zip(people, (4, 4, 4, 4, 4, 3)):
            award(s, m, points, local(2026, 11, 12, 20, 0))
    seed(runtime.engine, scene)
    clock.set(local(2026, 12, 10, 9, 0))
    text = chat.say("boss", "红黄蓝榜 上月", chat="g-leaders").text
    assert "🟡 黄榜（1 个）\n· 一支部 60 分：活动 1 次，参与率 81.3%（13/16），人均 2.8 分" in text, text
    assert "约谈" not in text


def test_rounding_is_half_up_on_the_decimals_people_write():
    """What a secretary checking by hand gets: ties round up, on the exact figure."""
    from dataclasses import replace
    from fractions import Fraction

    from bot.domain.points import Tier, assign_tiers, half_up, percent
    from bot.domain.rules import load_rules

    assert [half_up(59.95), half_up(84.95), half_up(Fraction(1625, 20)), half_up(-2.25)] == \
        [60.0, 85.0, 81.3, -2.3]
    assert [percent(Fraction(13, 16)), percent(Fraction(2, 3)), percent(Fraction(1, 16)),
            percent(None)] == ["81.3%", "66.7%", "6.3%", "—"]
    # Quota mode: 50 branches × 0.29 is 14.5 red branches, rounded half up to 15.
    tiers = replace(load_rules(None).tiers, mode="quota", red_share=0.29, blue_share=0.29)
    shares = assign_tiers({i: float(i) for i in range(50)}, tiers)
    assert sum(t is Tier.RED for t in shares.values()) == 15
    assert sum(t is Tier.BLUE for t in shares.values()) == 15
    # At the lines: 85.0 is red, 60.0 yellow, 59.9 blue; a tie at a quota's cut shares it.
    absolute = load_rules(None).tiers
    assert assign_tiers({1: 85.0, 2: 84.9, 3: 60.0, 4: 59.9}, absolute) == \
        {1: Tier.RED, 2: Tier.YELLOW, 3: Tier.YELLOW, 4: Tier.BLUE}
    fifths = replace(absolute, mode="quota", red_share=0.2, blue_share=0.2)
    assert assign_tiers({1: 90.0, 2: 90.0, 3: 70.0, 4: 50.0, 5: 50.0}, fifths) == \
        {1: Tier.RED, 2: Tier.RED, 3: Tier.YELLOW, 4: Tier.BLUE, 5: Tier.BLUE}


# --- corrections after the week ---------------------------------------------------------------


def test_a_correction_after_the_week_moves_its_figures_and_says_so(runtime, chat, clock):
    """W48: 一支部's night study, the 书记 and 甲 checked in, confirmed: 2/2, 2 points each,
    red. On Monday the 书记 corrects 甲 to absent (代签). Last week now reads 1/2 and
    (2 + 2 − 2 − 1) ÷ 2 = 0.5 a member: 100 × (0.6 × 0.5 + 0.4 × 0.5 ÷ 2.33) = 38.6, blue,
    in 周报 and in 红黄蓝榜 上周 alike, and both say a reversal was entered after the week
    ended, which 甲's 积分明细 shows. Cancelling another of its activities afterwards is
    said the same way and takes it out of the figures."""
    from tests.factories import branch_with_a_leader

    def scene(s):
        branch_with_a_leader(s)
        bind_chat(s, None, "g-leaders", leaders=True)
    seed(runtime.engine, scene)
    clock.set(local(2026, 11, 24, 19, 30))
    night_study(chat, clock, "g1", "sec", "a")
    clock.set(local(2026, 11, 25, 9, 0))
    chat.say("sec", "确认缺席", chat="g1")
    clock.set(local(2026, 11, 30, 9, 0))
    before = chat.say("boss", "周报", chat="g-leaders").text
    assert "**一支部** 🔴红 94.3 分" in before and "期后更正" not in before

    clock.set(local(2026, 11, 30, 10, 0))
    assert not chat.say("sec", "更正 甲 缺席 他人代签", chat="g1").is_error
    after = chat.say("boss", "周报", chat="g-leaders").text
    assert "**一支部** 🔵蓝（约谈） 38.6 分" in after, after
    assert "参与 1/2（50.0%）" in line(after, "一支部")
    assert "**期后更正**（本期结束后记入，以上数字已按更正计算，明细见积分明细）：一支部 冲销 1 笔" \
        in after
    tiers = chat.say("boss", "红黄蓝榜 上周", chat="g-leaders").text
    assert "· 一支部 38.6 分（约谈）：活动 1 次，参与率 50.0%（1/2），人均 0.5 分（期后冲销 1 笔）" \
        in tiers, tiers
    assert "±0 政治夜学 出席 +2，已冲销（书记更正为缺席：他人代签）" in \
        chat.say("a", "积分明细").text
    # The same night study cancelled (取消活动) on Monday: it counts nowhere, each point
    # it posted is reversed (冲销) and the week says so.
    assert not chat.say("sec", "取消活动 误开", chat="g1").is_error
    assert not chat.say("sec", "确认", chat="g1").is_error
    cancelled = chat.say("boss", "周报", chat="g-leaders").text
    assert "活动 0 次" in line(cancelled, "一支部") and "本期未开展活动**：一支部" in cancelled
    assert "：一支部 冲销 5 笔" in cancelled, cancelled
    with Session(runtime.engine) as s:
        assert sum(s.exec(select(PointEntry.points)).all()) == 0


def _one_week(session, *, points: list[int]):
    from tests.test_reports import attend, hold

    branch = make_branch(session, "一支部")
    members = [make_member(session, branch, f"一{i}") for i in range(len(points))]
    day = hold(session, branch, local(2026, 11, 24, 14, 30))
    for member, earned in zip(members, points):
        attend(session, day, member, "present" if earned > 0 else "absent", points=earned)
    bind_chat(session, None, "lg", leaders=True)
    make_member(session, None, "领导", role=Role.LEADER, wecom="boss")
    return day.id


def test_the_board_and_the_weekly_report_show_the_same_average_and_reference(runtime, clock,
                                                                           chat):
    """7 points over 3 members: 周报 and `report` said 人均 2.33 where 红黄蓝榜 and the
    dashboard said 2.3; and the board's formula line divided by 2.3, where the score was
    worked with 2.33 (docs/points.md): a leader redoing it was half a point off."""
    import re

    seed(runtime.engine, lambda s: _one_week(s, points=[3, 3, 1]))
    clock.set(local(2026, 11, 30, 9, 0))
    board = chat.say("boss", "红黄蓝榜 上周", chat="lg").text
    weekly = chat.say("boss", "周报", chat="lg").text
    assert re.search(r"一支部 [\d.]+ 分：.*人均 2.3 分", board), board
    assert "人均 2.3 分" in weekly and "2.33" not in weekly, weekly
    assert "人均积分÷2.33))" in board, board


def test_a_week_whose_only_activity_was_cancelled_later_says_so_on_the_board(runtime, clock,
                                                                            chat):
    """取消活动 on Monday of the week's only activity: 周报 said 期后更正 一支部 冲销 4 笔,
    the leaders' 红黄蓝榜 上周 only 「本期未开展活动：一支部」, though the branch was on the
    board that morning."""
    from storage.corrections import cancel_activity
    from storage.models import Activity

    day_id = seed(runtime.engine, lambda s: _one_week(s, points=[3, 3, 3, -2]))
    clock.set(local(2026, 11, 30, 10, 0))
    with Session(runtime.engine) as s:
        cancel_activity(s, activity=s.get(Activity, day_id), by=None, reason="误开",
                        now=clock.now())
        s.commit()
    assert "一支部 冲销 4 笔" in chat.say("boss", "周报", chat="lg").text
    board = chat.say("boss", "红黄蓝榜 上周", chat="lg").text
    assert "本期未开展活动：一支部（期后冲销 4 笔）" in board, board

