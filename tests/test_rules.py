"""The points rules file: its checks, and that every version is recorded once and audited."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.domain.rules import DEFAULT_RULES_PATH, RulesError, parse_rules
from bot.runtime import build_runtime, record_rules
from storage import db
from storage.models import AuditEntry, RuleSet

DEFAULTS = DEFAULT_RULES_PATH.read_text(encoding="utf-8")


def test_type_overrides_fall_back_to_the_general_points():
    rules = parse_rules(DEFAULTS)
    assert rules.attendance_points("主题党日", "present") == (3, "attendance.present.主题党日")
    assert rules.attendance_points("政治夜学", "present") == (2, "attendance.present")
    # 主题党日 overrides present/late/makeup/absent but not leave.
    assert rules.attendance_points("主题党日", "leave") == (0, "attendance.leave")


def test_the_types_a_rules_file_may_name_are_the_activity_types():
    from bot.domain.rules import ACTIVITY_TYPES
    from storage.models import ActivityType

    assert ACTIVITY_TYPES == tuple(t.value for t in ActivityType)


def test_study_points_respect_the_daily_cap():
    rules = parse_rules(DEFAULTS)
    assert rules.study_points(29, already_today=0) == 0
    assert rules.study_points(95, already_today=0) == 3
    assert rules.study_points(240, already_today=3) == 1  # cap 4
    assert rules.study_points(240, already_today=4) == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[attendance\npresent = 2", "不是有效的 TOML"),
        ("[attendance]\npresent = 2.5", "attendance.present 必须是整数"),
        ("[attendance]\npresent = true", "attendance.present 必须是整数"),
        ("[tiers]\nmode = \"ranking\"", "tiers.mode"),
        ("[tiers]\nperiod = \"year\"", "tiers.period"),
        ("[attendance]\nmakeup_window_days = \"seven\"", "attendance.makeup_window_days"),
        # Each of these loaded, then crashed where it was used: 红黄蓝榜 on 20 meant as 20%
        # (IndexError), 三会一课 and the weekly summary on "monthly", serve on "high".
        ("[tiers]\nred_share = 20", "tiers.red_share"),
        ("[tiers]\nblue_share = -0.1", "tiers.blue_share"),
        ("[tiers]\nred_at_least = \"high\"", "tiers.red_at_least"),
        ("[meetings]\n\"支委会\" = \"monthly\"", "meetings.支委会"),
        # A minus sign slipped in made study worth nothing, and 积分规则 said 每天最多 -4 分.
        ("[study]\ndaily_cap = -4", "study.daily_cap"),
        ("[study]\npoints_per_30_minutes = -1", "study.points_per_30_minutes"),
        # A misspelt key or an alias loaded, was ignored, and the default stayed in force:
        # branches at 80 were yellow under a file that said red_at_lest = 80.
        ("[tiers]\nred_at_lest = 80.0", "tiers.red_at_lest 不是规则项"),
        ("[attendance]\nabsense = -3", "attendance.absense 不是规则项"),
        ("[attendance.by_type.\"夜学\"]\npresent = 3", "attendance.by_type.夜学 不是规则项"),
        ("[attendance.by_type.\"主题党日\"]\npresnt = 4", "attendance.by_type.主题党日.presnt"),
        ("[study]\ndaily_limit = 2", "study.daily_limit 不是规则项"),
        ("[tier]\nmode = \"quota\"", "tier 不是规则项"),
        ("attendance = 2", "attendance 应是一张表"),
        ("[meetings]\n\"支部委员会\" = \"month\"", "meetings.支部委员会 不是规则项"),
        # A full branch scored 110 (0.7 raised, 0.4 left), or a 70 was red and blue at once.
        ("[tiers]\nparticipation_weight = 0.7", "points_weight 之和应为 1（现在是 0.7 "),
        ("[tiers]\npoints_weight = 1.5\nparticipation_weight = -0.5", "tiers.participation_weight 应在 0 到 1"),
        ("[tiers]\npoints_reference = 0", "tiers.points_reference 应大于 0"),
        ("[tiers]\nred_at_least = 60.0\nblue_below = 75.0", "tiers.blue_below（75）不能高于"),
    ],
)
def test_a_bad_rules_file_says_which_key_is_wrong(text, problem):
    with pytest.raises(RulesError, match=problem):
        parse_rules(text)


@pytest.fixture(params=["missing", "not-toml", "wrong-type"])
def bad_rules(request, tmp_path) -> dict[str, str]:
    """The environment of a migrated database with a rules file that cannot be used."""
    path = tmp_path / "rules.toml"
    if request.param == "not-toml":
        path.write_text("this is = = not toml\n", encoding="utf-8")
    elif request.param == "wrong-type":
        path.write_text('[attendance]\nmakeup_window_days = "seven"\n', encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'djbot.db'}"
    db.upgrade(db.make_engine(url))
    return {"DJBOT_DATABASE_URL": url, "DJBOT_RULES_FILE": str(path)}


def test_serve_refuses_a_bad_rules_file_in_one_line_with_exit_2(bad_rules):
    """Before, serve loaded the rules after its checks: a traceback and exit 1, which the
    systemd unit restarts every 5 s (only 2 stops it)."""
    result = CliRunner().invoke(cli, ["serve", "--port", "0"], env=bad_rules)
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.startswith("配置错误：DJBOT_RULES_FILE ")
    assert len(result.output.strip().splitlines()) == 1


def test_doctor_names_a_bad_rules_file_instead_of_crashing(bad_rules):
    """Before, `djbot doctor database` ended in the rules' traceback."""
    result = CliRunner().invoke(cli, ["doctor", "database"], env=bad_rules)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert "[!!] database: DJBOT_RULES_FILE " in result.output


def _audit(engine) -> list[str]:
    with Session(engine) as session:
        return [a.action for a in session.exec(
            select(AuditEntry).where(AuditEntry.action.startswith("rules.")).order_by(AuditEntry.id)
        )]


def test_each_rules_version_is_recorded_once_and_a_change_is_audited(settings, clock, engine, tmp_path):
    build_runtime(settings, clock=clock, engine=engine, migrate=False)
    build_runtime(settings, clock=clock, engine=engine, migrate=False)  # a restart: same rules
    assert _audit(engine) == ["rules.load"]

    edited = tmp_path / "rules.toml"
    edited.write_text(DEFAULTS.replace("present = 3", "present = 4"), encoding="utf-8")
    changed = settings.model_copy(update={"rules_file": edited})
    runtime = build_runtime(changed, clock=clock, engine=engine, migrate=False)
    assert runtime.rules.attendance_points("主题党日", "present")[0] == 4
    assert _audit(engine) == ["rules.load", "rules.change"]
    with Session(engine) as session:
        assert len(session.exec(select(RuleSet)).all()) == 2


def test_replicas_starting_together_record_the_rules_once(settings, clock, engine):
    rules = parse_rules(DEFAULTS)
    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(lambda _: record_rules(engine, rules, clock), range(6)))
    assert len(ids) == 1
    assert _audit(engine) == ["rules.load"]
