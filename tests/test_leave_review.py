"""Leave from asking to the figures, walked in the orders a member and a secretary may
take it: what the member is told of their leave must be what the record says."""

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.conftest import local
from tests.test_figures import night_studies, run_ticks

TWO_STUDIES = "请假 12月8日至12月10日 外出培训"  # the studies of Tuesday 8th and Thursday 10th


@pytest.fixture
def settings(db_url):
    return Settings(database_url=db_url, catchup_grace_minutes=60, _env_file=None)


def test_my_leave_names_a_study_of_the_period_that_was_turned_down(runtime, chat, clock):
    """李明's leave for the 8th to the 10th was granted as asked; 驳回请假 李明 turned down
    the 8th's study. 我的请假 still said the whole period was 已准假, so he stayed away
    believing he was excused, and was counted absent with its penalty."""
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 7, 10, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 12, 0))  # the 8th planned
    chat.say("li", TWO_STUDIES)
    assert "仍需参加" in chat.say("sec", "驳回请假 李明").text
    mine = chat.say("li", "我的请假").text
    assert "政治夜学（12月8日 19:30）：已被驳回，仍需参加" in mine, mine
    assert "12月8日至12月10日：已准假" in mine, mine
