"""Pure points arithmetic: periods in Shanghai time, scores, tiers, ranks, rule names."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bot.domain.points import (
    Tier,
    assign_tiers,
    branch_score,
    date_range,
    describe_rule,
    last_complete_week,
    month_of,
    named_period,
    parse_iso_week,
    participation_rate,
    previous_period,
    trend_arrow,
    week_of,
)
from bot.domain.rules import TierRules
from tests.conftest import SHANGHAI, local


def test_this_week_runs_monday_to_sunday_in_local_time():
    period = week_of(local(2026, 11, 26, 22, 0), SHANGHAI)
    assert period.start == local(2026, 11, 23, 0, 0)
    assert period.end == local(2026, 11, 30, 0, 0)
    assert period.last_day == date(2026, 11, 29)


def test_month_is_decided_by_the_local_date_not_utc():
    # 17:00 UTC on 30 November is already 1 December in Shanghai.
    period = month_of(datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc), SHANGHAI)
    assert period.start == local(2026, 12, 1, 0, 0)
    assert period.end == local(2027, 1, 1, 0, 0)


def test_named_year_period():
    period = named_period("本年", local(2026, 11, 23, 9, 0), SHANGHAI)
    assert (period.start, period.end) == (local(2026, 1, 1, 0, 0), local(2027, 1, 1, 0, 0))


def test_iso_week_parsing():
    period = parse_iso_week("2026-W48", SHANGHAI)
    assert period.start == local(2026, 11, 23, 0, 0)
    assert period.end == local(2026, 11, 30, 0, 0)
    assert period.label == "2026-W48"
    assert parse_iso_week("2026w48", SHANGHAI).start == period.start


@pytest.mark.parametrize("text", ["2026-48", "W48", "2025-W53", "2026-W00"])
def test_bad_iso_weeks_are_refused(text):
    with pytest.raises(ValueError):
        parse_iso_week(text, SHANGHAI)


def test_last_complete_week_on_a_monday_morning_is_the_week_before():
    period = last_complete_week(local(2026, 11, 23, 9, 0), SHANGHAI)
    assert period.label == "2026-W47"
    assert period.start == local(2026, 11, 16, 0, 0)
    assert period.end == local(2026, 11, 23, 0, 0)


def test_previous_period_keeps_the_shape():
    week = parse_iso_week("2026-W48", SHANGHAI)
    assert previous_period(week).start == local(2026, 11, 16, 0, 0)
    march = month_of(local(2026, 3, 10, 0, 0), SHANGHAI)
    before = previous_period(march)
    assert (before.start, before.end) == (local(2026, 2, 1, 0, 0), local(2026, 3, 1, 0, 0))
    year = named_period("本年", local(2026, 5, 1, 0, 0), SHANGHAI)
    assert previous_period(year).start == local(2025, 1, 1, 0, 0)
    span = date_range(date(2026, 1, 1), date(2026, 1, 10), SHANGHAI)
    assert previous_period(span).start == local(2025, 12, 22, 0, 0)


def test_date_range_includes_the_last_day_and_refuses_reversed_dates():
    span = date_range(date(2026, 1, 1), date(2026, 12, 31), SHANGHAI)
    assert span.end == local(2027, 1, 1, 0, 0)
    with pytest.raises(ValueError):
        date_range(date(2026, 2, 1), date(2026, 1, 1), SHANGHAI)


def test_participation_rate_leaves_approved_leave_out_of_the_base():
    assert participation_rate(8, 10, 1) == pytest.approx(8 / 9)
    assert participation_rate(0, 1, 1) is None


def test_branch_score_uses_the_average_not_the_sum():
    tiers = TierRules()
    # 8/9 participation, 10 points a member over 30 days: 100 × (0.6 × 0.889 + 0.4 × 1).
    assert branch_score(8 / 9, 10.0, tiers, days=30) == pytest.approx(93.3)
    # Half the reference average gives half the points part.
    assert branch_score(1.0, 5.0, tiers, days=30) == pytest.approx(80.0)
    # Over one week the reference shrinks to 10 × 7/30 points.
    assert branch_score(1.0, 10 * 7 / 30, tiers, days=7) == pytest.approx(100.0)
    # Above the reference earns nothing more: a big or busy branch can't run away.
    assert branch_score(0.5, 1000.0, tiers, days=30) == pytest.approx(70.0)
    assert branch_score(None, 5.0, tiers, days=30) is None


def test_absolute_tiers_a_good_month_has_no_blue():
    tiers = assign_tiers({1: 95.0, 2: 85.0, 3: 70.0, 4: 60.0}, TierRules())
    assert tiers == {1: Tier.RED, 2: Tier.RED, 3: Tier.YELLOW, 4: Tier.YELLOW}
    assert assign_tiers({1: 59.9}, TierRules())[1] is Tier.BLUE


def test_quota_tiers_take_shares_of_the_ranking():
    quota = TierRules(mode="quota", red_share=0.2, blue_share=0.2)
    tiers = assign_tiers({1: 90.0, 2: 80.0, 3: 70.0, 4: 60.0, 5: 50.0}, quota)
    assert tiers == {1: Tier.RED, 2: Tier.YELLOW, 3: Tier.YELLOW, 4: Tier.YELLOW, 5: Tier.BLUE}


def test_quota_ties_at_a_cut_share_the_tier_and_all_equal_is_all_yellow():
    quota = TierRules(mode="quota", red_share=0.2, blue_share=0.2)
    tiers = assign_tiers({1: 90.0, 2: 90.0, 3: 70.0, 4: 50.0, 5: 50.0}, quota)
    assert [tiers[k] for k in range(1, 6)] == [Tier.RED, Tier.RED, Tier.YELLOW, Tier.BLUE, Tier.BLUE]
    assert set(assign_tiers({1: 70.0, 2: 70.0, 3: 70.0}, quota).values()) == {Tier.YELLOW}


def test_quota_shares_are_of_the_branches_ranked_and_the_rest_take_their_cut_offs():
    """An ended 临时党支部 scored lowest took the one blue place of five, so no standing
    branch was flagged for a talk (and the ended one cannot be talked to)."""
    quota = TierRules(mode="quota", red_share=0.2, blue_share=0.2)
    scores = {1: 90.0, 2: 80.0, 3: 70.0, 4: 60.0, 5: 30.0}
    assert assign_tiers(scores, quota)[4] is Tier.YELLOW
    tiers = assign_tiers(scores, quota, ranked=[1, 2, 3, 4])
    assert tiers == {1: Tier.RED, 2: Tier.YELLOW, 3: Tier.YELLOW, 4: Tier.BLUE, 5: Tier.BLUE}
    assert set(assign_tiers({5: 30.0}, quota, ranked=[]).values()) == {Tier.YELLOW}


def test_trend_arrows():
    assert trend_arrow(80.0, 70.0) == "↑"
    assert trend_arrow(60.0, 70.0) == "↓"
    assert trend_arrow(70.0, 70.0) == "→"
    assert trend_arrow(70.0, None) == ""


def test_rule_keys_read_as_words():
    assert describe_rule("attendance.present.主题党日") == "主题党日 出席"
    assert describe_rule("attendance.late") == "活动 迟到"
    assert describe_rule("study.per_30min") == "自学（每30分钟）"
    assert describe_rule("reverse:attendance.absent.主题党日") == "冲销 主题党日 缺席"
    assert describe_rule("something.else") == "something.else"


def test_branch_score_example_in_the_docs():
    # docs/points.md: 8/9 participation, 2.1 points a member over one week → 89.3, red.
    score = branch_score(8 / 9, 2.1, TierRules(), days=7)
    assert score == pytest.approx(89.3)
    assert assign_tiers({1: score}, TierRules())[1] is Tier.RED
