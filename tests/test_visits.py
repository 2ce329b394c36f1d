"""调研: leaders log visits; counts per branch this year against the target; 调研记录."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, func, select

from handlers.visits import parse_visit_details
from storage.models import ResearchVisit, Role
from storage.org import visits_by_branch
from tests.conftest import SHANGHAI, local
from tests.factories import bind_chat, make_branch, make_member, seed


@pytest.fixture
def bureau(runtime):
    def build(s):
        one, two, three = (make_branch(s, n) for n in ("一支部", "二支部", "三支部"))
        bind_chat(s, None, "lg", leaders=True)
        make_member(s, None, "赵领导", role=Role.LEADER, wecom="lead")
        make_member(s, one, "王书记", role=Role.SECRETARY, wecom="sec1")
        return one, two, three

    return seed(runtime.engine, build)


def visits(runtime) -> list[ResearchVisit]:
    with Session(runtime.engine) as s:
        return list(s.exec(select(ResearchVisit).order_by(ResearchVisit.id)).all())


def test_a_leader_logs_a_visit_with_problems_and_a_note(runtime, chat, bureau):
    one, _, _ = bureau
    reply = chat.say("lead", "调研 一支部 发现问题 3 解决 2 值班室学习角需更新", chat="lg")

    assert not reply.is_error
    assert "发现问题 3 个，解决 2 个" in reply.text
    assert "调研 1 次，目标 2 次，还差 1 次" in reply.text
    [visit] = visits(runtime)
    assert (visit.branch_id, visit.visited_on) == (one.id, date(2026, 11, 23))
    assert (visit.problems_found, visit.problems_solved, visit.note) == (3, 2, "值班室学习角需更新")

    # The same branch again that day is asked about (a message sent twice is not 2 visits).
    assert "已记录过" in chat.say("lead", "调研 一支部").text
    assert "2 次，目标 2 次，已达标" in chat.say("lead", "确认").text  # private works too


def test_a_visit_to_another_branch_is_not_recorded_in_a_branchs_group(runtime, chat, bureau):
    """调研 二支部 发现问题 3 sent in 一支部's group told 一支部 二支部's problems and its
    shortfall (调研记录 is refused there for the same reason). Refused, nothing recorded; the
    visited branch's own group, the leaders' group and a private chat still record it."""
    one, two, _ = bureau
    seed(runtime.engine, lambda s: (bind_chat(s, one, "g1"), bind_chat(s, two, "g2")))
    refused = chat.say("lead", "调研 二支部 发现问题 3 台账缺失", chat="g1")
    assert refused.is_error and "领导群" in refused.text and "台账缺失" not in refused.text
    assert visits(runtime) == []
    assert "已记录调研（编号 1）：二支部" in chat.say("lead", "调研 二支部 发现问题 3", chat="g2").text
    assert "已记录调研（编号 2）：一支部" in chat.say("lead", "调研 一支部", chat="lg").text


def test_the_count_is_for_this_year_only(runtime, chat, clock, bureau):
    clock.set(local(2025, 12, 31, 23, 50))
    chat.say("lead", "调研 一支部")
    clock.set(local(2026, 1, 1, 0, 10))  # a new year in Shanghai, still 2025 in UTC
    assert "2026 年到一支部调研 1 次" in chat.say("lead", "调研 一支部").text


def test_visits_by_branch_counts_every_branch_including_zero(runtime, chat, bureau):
    one, two, three = bureau
    chat.say("lead", "调研 一支部")
    chat.say("lead", "调研 一支部")
    chat.say("lead", "确认")  # a second visit the same day
    chat.say("lead", "调研 二支部")
    with Session(runtime.engine) as s:
        assert visits_by_branch(s, year=2026, tz=SHANGHAI) == {one.id: 2, two.id: 1, three.id: 0}
        assert visits_by_branch(s, year=2025, tz=SHANGHAI) == {one.id: 0, two.id: 0, three.id: 0}


def test_the_visit_report_lists_branches_below_target(runtime, chat, bureau):
    chat.say("lead", "调研 一支部 发现 2 解决 1")
    chat.say("lead", "调研 一支部")
    chat.say("lead", "确认")
    chat.say("lead", "调研 二支部 发现问题3")

    reply = chat.say("lead", "调研记录", chat="lg")

    assert "2026 年共调研 3 次，发现问题 5 个，解决 1 个" in reply.text
    assert "· 三支部：0 次\n· 二支部：1 次" in reply.text
    assert "一支部" not in reply.text  # it has reached the target


def test_members_and_secretaries_cannot_log_visits(runtime, chat, bureau):
    assert "仅限领导、管理员" in chat.say("sec1", "调研 一支部").text
    assert chat.say("sec1", "调研记录").is_error
    assert visits(runtime) == []


def test_a_visit_is_logged_on_the_day_said(runtime, chat, bureau):
    """Monday 23 November: 昨天 is Sunday the 22nd, 上周四 the 19th, 周五 the last Friday."""
    reply = chat.say("lead", "调研 一支部 昨天 发现问题 2 解决 1 走访值班室", chat="lg")
    assert "已记录调研（编号 1）：一支部，11月22日，发现问题 2 个，解决 1 个" in reply.text, reply.text
    chat.say("lead", "调研 二支部 上周四 发现问题 1", chat="lg")
    chat.say("lead", "调研 三支部 周五，解决 0", chat="lg")
    assert [(v.visited_on, v.problems_found, v.note) for v in visits(runtime)] == [
        (date(2026, 11, 22), 2, "走访值班室"), (date(2026, 11, 19), 1, None),
        (date(2026, 11, 20), 0, None)]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("调研", "缺少支部"),
        ("调研 一支部 明天 发现问题 1", "调研日期 2026年11月24日 还没到，只能记录已经去过的调研"),
        ("调研 一支部 下周三", "还没到"),
        ("调研 一支部 2月30日 发现问题 1", "没有2月30日这一天"),
        ("调研 不存在支部", "没有找到支部「不存在支部」。现有支部：一支部、二支部、三支部"),
        ("调研 一支部 发现问题 很多", "「发现问题」后面应为数字"),
    ],
)
def test_bad_visits_show_the_usage_and_change_nothing(runtime, chat, bureau, text, problem):
    reply = chat.say("lead", text)
    assert reply.is_error and problem in reply.text and "例如：调研 " in reply.text
    with Session(runtime.engine) as s:
        assert s.exec(select(func.count()).select_from(ResearchVisit)).one() == 0


@pytest.mark.parametrize("text, told", [
    ("调研 一支部 下周", "还没去"), ("调研 一支部 计划下周去", "还没去"),
    ("调研 一支部 准备去", "还没去"), ("调研 一支部 下个月", "还没去"),
    ("调研 一支部 几次了", "调研记录"), ("调研 一支部 次数", "调研记录"),
    ("调研 一支部 去过吗", "调研记录"), ("调研 一支部？", "调研记录"),
])
def test_a_visit_still_to_come_or_asked_about_is_not_recorded(runtime, chat, bureau, text, told):
    """调研 一支部 下周 (the visit planned) and 调研 一支部 几次了 (asked) were recorded as a
    visit today, counted toward the year's target."""
    reply = chat.say("lead", text, chat="lg")
    assert reply.is_error and told in reply.text and "没有记录" in reply.text, reply.text
    assert visits(runtime) == []
    # Said after what was found, a plan is the note of a visit made.
    assert "已记录调研" in chat.say("lead", "调研 一支部 发现问题 1 下周回访", chat="lg").text


@pytest.mark.parametrize(
    "text, expected",
    [
        (None, (0, 0, None)),
        ("发现问题 3 解决 2 备注文字", (3, 2, "备注文字")),
        ("解决2 发现3个", (3, 2, None)),
        ("走访民警 发现问题 1", (1, 0, "走访民警")),  # after the note too: it was lost there
        # The count before the noun, as said in a sentence: refused as no number before.
        ("发现3个问题，解决2个", (3, 2, None)),
        ("发现三个问题 解决两个 走访值班室", (3, 2, "走访值班室")),
    ],
)
def test_parse_visit_details(text, expected):
    details, problem = parse_visit_details(text)
    assert problem is None
    assert (details.problems_found, details.problems_solved, details.note) == expected


def test_problems_itemized_by_zhenggai_count_once_and_the_same_everywhere(runtime, chat, bureau):
    """整改 items are problems a visit found: 调研记录, the bureau page and the year's report
    count a visit's problems once (they added its items to its own count, 3 + 2 = 5 found)."""
    from storage import committee
    from storage.dashboard import visits_of_year

    one, two, three = bureau
    chat.say("lead", "调研 一支部 发现问题 3 解决 1", chat="lg")
    for problem in ("学习室资料陈旧", "活动记录不全"):  # the two left open
        assert "已登记整改事项" in chat.say("lead", f"整改 一支部 赵领导 {problem}", chat="lg").text
    chat.say("lead", "调研 二支部 发现问题 1", chat="lg")
    for problem in ("台账不全", "制度未上墙"):  # itemized, it found two after all
        chat.say("lead", f"整改 二支部 赵领导 {problem}", chat="lg")
    chat.say("lead", "整改 三支部 赵领导 公示栏过期", chat="lg")  # no visit this year
    assert "已完成" in chat.say("lead", "整改完成 1 已更新", chat="lg").text

    assert "共调研 2 次，发现问题 6 个，解决 2 个" in chat.say("lead", "调研记录", chat="lg").text
    with Session(runtime.engine) as s:
        lines = visits_of_year(s, year=2026)
        by_branch = committee.problems_by_branch(s, first=date(2026, 1, 1),
                                                 last=date(2026, 12, 31))
    assert {b: (lines[b].visits, lines[b].found, lines[b].open_problems) for b in lines} == {
        one.id: (1, 3, 1), two.id: (1, 2, 2), three.id: (0, 1, 1)}
    assert {b: (p.found, p.solved) for b, p in by_branch.items()} == {
        one.id: (3, 2), two.id: (2, 0), three.id: (1, 0)}


def test_a_temporary_branch_set_up_late_in_the_year_owes_a_share_of_the_visits(runtime, chat,
                                                                              clock):
    """Every branch owed the whole year's 2 visits: a 临时党支部 set up in November was
    listed as short in 调研记录, 周报's 年度调研未达标 and on the bureau page for six weeks'
    work. It owes its months' share (none from November; one from September); a standing
    branch imported in November was there all year and still owes 2."""
    from datetime import datetime, timezone

    from bot.web import pages

    november = datetime(2026, 11, 2, tzinfo=timezone.utc)

    def build(s):
        make_branch(s, "一支部").created_at = november  # the roster imported in November
        make_branch(s, "专项临时支部", temporary=True).created_at = november
        make_branch(s, "九月临时支部", temporary=True).created_at = datetime(
            2026, 9, 1, tzinfo=timezone.utc)
        bind_chat(s, None, "lg", leaders=True)
        make_member(s, None, "赵领导", role=Role.LEADER, wecom="lead")

    seed(runtime.engine, build)
    clock.set(local(2026, 12, 7, 10, 0))
    logged = chat.say("lead", "调研 专项临时支部", chat="lg").text
    assert "调研 1 次，目标 0 次，已达标" in logged, logged
    listed = chat.say("lead", "调研记录", chat="lg").text
    assert "· 一支部：0 次" in listed and "· 九月临时支部：0 次（今年成立，目标 1 次）" in listed
    assert "专项临时支部" not in listed, listed
    summary = chat.say("lead", "周报", chat="lg").text
    [short] = [x for x in summary.splitlines() if "年度调研未达标" in x]
    assert "一支部" in short and "九月临时支部" in short and "专项临时支部" not in short, short
    with Session(runtime.engine) as s:
        page = pages.bureau_page(s, now=clock.now(), settings=runtime.settings,
                                 rules=runtime.rules)
    assert {v["name"]: v["target"] for v in page["visits"]} == {
        "一支部": 2, "专项临时支部": 0, "九月临时支部": 1}


def test_a_standing_branch_set_up_after_the_roster_owes_a_share_of_the_visits(runtime, chat,
                                                                             clock):
    """A 派出所党支部 set up in November, added to a roster imported in January, owed the
    whole year's 2 visits: short in 调研记录, 周报 and on the bureau page for six weeks'
    work, where 三会一课 asks it for nothing before November. Set up after djbot's first
    roster, its record's date is its own: it owes its months' share, as a 临时党支部 does;
    one imported with that roster was there all year."""
    from datetime import datetime, timezone

    from bot.web import pages

    def build(s):
        make_branch(s, "一支部")  # the roster, 1 January
        make_branch(s, "新建派出所党支部").created_at = datetime(2026, 11, 2, tzinfo=timezone.utc)
        make_branch(s, "七月派出所党支部").created_at = datetime(2026, 7, 1, tzinfo=timezone.utc)
        bind_chat(s, None, "lg", leaders=True)
        make_member(s, None, "赵领导", role=Role.LEADER, wecom="lead")

    seed(runtime.engine, build)
    clock.set(local(2026, 12, 7, 10, 0))
    logged = chat.say("lead", "调研 新建派出所党支部", chat="lg").text
    assert "调研 1 次，目标 0 次，已达标" in logged, logged
    listed = chat.say("lead", "调研记录", chat="lg").text
    assert "· 一支部：0 次" in listed and "· 七月派出所党支部：0 次（今年成立，目标 1 次）" in listed
    assert "新建派出所党支部" not in listed, listed
    summary = chat.say("lead", "周报", chat="lg").text
    lines = summary.splitlines()
    shown = lines[lines.index("**新建派出所党支部** —") + 1]
    assert shown.endswith("调研 0/0"), summary
    [short] = [x for x in summary.splitlines() if "年度调研未达标" in x]
    assert "一支部" in short and "七月派出所党支部" in short and "新建" not in short, short
    with Session(runtime.engine) as s:
        page = pages.bureau_page(s, now=clock.now(), settings=runtime.settings,
                                 rules=runtime.rules)
    assert {v["name"]: v["target"] for v in page["visits"]} == {
        "一支部": 2, "新建派出所党支部": 0, "七月派出所党支部": 1}


def test_a_temporary_branch_ending_in_the_year_owes_the_months_it_ran(runtime, chat, clock):
    """A 临时党支部 that ran from March to August owed the whole year's 2 visits, and was
    listed 未达标 with its one visit every week while it ran; it owes its months' share (1).
    One set to end next year owes as one there to December."""
    from datetime import datetime, timezone

    from bot.web import pages

    def build(s):
        make_branch(s, "一支部")
        march = make_branch(s, "汛期临时支部", temporary=True)
        march.created_at, march.ends_on = datetime(2026, 3, 2, tzinfo=timezone.utc), \
            date(2026, 8, 31)
        long = make_branch(s, "专项临时支部", temporary=True)
        long.created_at, long.ends_on = datetime(2026, 3, 2, tzinfo=timezone.utc), \
            date(2027, 3, 31)
        bind_chat(s, None, "lg", leaders=True)
        make_member(s, None, "赵领导", role=Role.LEADER, wecom="lead")

    seed(runtime.engine, build)
    clock.set(local(2026, 6, 8, 10, 0))
    assert "目标 1 次，已达标" in chat.say("lead", "调研 汛期临时支部 6月1日", chat="lg").text
    chat.say("lead", "调研 专项临时支部 6月1日", chat="lg")
    listed = chat.say("lead", "调研记录", chat="lg").text
    assert "汛期临时支部" not in listed, listed
    assert "· 专项临时支部：1 次（今年成立，目标 2 次）" not in listed, listed
    assert "· 专项临时支部：1 次" in listed, listed
    summary = chat.say("lead", "周报", chat="lg").text
    [short] = [x for x in summary.splitlines() if "年度调研未达标" in x]
    assert "汛期临时支部" not in short and "专项临时支部" in short, short
    with Session(runtime.engine) as s:
        page = pages.bureau_page(s, now=clock.now(), settings=runtime.settings,
                                 rules=runtime.rules)
    assert {v["name"]: v["target"] for v in page["visits"]} == {
        "一支部": 2, "汛期临时支部": 1, "专项临时支部": 2}


@pytest.mark.parametrize(("said", "day"), [("上周3", date(2026, 11, 18)),
                                           ("本月20号", date(2026, 11, 20)),
                                           ("上个月30号", date(2026, 10, 30))])
def test_a_visit_on_a_day_said_is_recorded_on_that_day(runtime, chat, bureau, said, day):
    """上周3, 本月20号, 上个月30号 were not read as days: the visit was recorded as today's
    (23 November) with the day in its note."""
    reply = chat.say("lead", f"调研 一支部 {said} 发现问题 2", chat="lg")
    assert not reply.is_error and "11月23日" not in reply.text, reply.text
    assert [(v.visited_on, v.note) for v in visits(runtime)] == [(day, None)]


def test_counts_said_before_the_noun_are_read(runtime, chat, bureau):
    """调研 一支部 发现3个问题，解决2个 was refused: 「问题」后面应为数字."""
    reply = chat.say("lead", "调研 一支部 发现3个问题，解决2个", chat="lg")
    assert not reply.is_error and "发现问题 3 个，解决 2 个" in reply.text, reply.text
