"""`djbot repair-ledger`: the ledger lines an earlier version's 销假 left behind.

Before e894059, 销假 deleted a record that a 更正 had made leave of a check-in, though its
ledger lines named it; SQLite then gave its id to the next record, whose check-in posted
nothing (its key was taken). The database here is built as that version left it, and the
repair is checked by what members see: 积分, 积分明细, and `djbot doctor`.
"""

from __future__ import annotations

from sqlmodel import Session, select

from bot import doctor
from storage import ledger
from storage.models import Activity, Attendance, Member, PointEntry
from storage.privacy import forget_member
from tests.test_attendance_corrections import THEME_PRESENT, bureau, points_of  # noqa: F401
from tests.test_figures import djbot, ledger_lines  # noqa: F401 - djbot: the fixture


def as_the_old_version_left_it(runtime, chat, clock) -> None:
    """张三 and 李四 checked in; the secretary corrected both to leave; both sent 销假, which
    deleted their records. 张三 then checked in again and got his old record's id back: 签到
    said +3 and posted nothing. And one line (李四's +3 on a record deleted without its
    reversal) still counts for a record that is gone."""
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("z3", "签到", chat="g1")
    chat.say("l4", "签到", chat="g1")
    assert not chat.say("sec", "更正 张三 请假 临时出警").is_error
    assert not chat.say("sec", "更正 李四 请假 临时出警").is_error
    with Session(runtime.engine) as s:
        activity = s.exec(select(Activity)).one()
        rows = {m.name: r for r, m in s.exec(select(Attendance, Member).join(
            Member, Member.id == Attendance.member_id)).all()}
        z3, l4 = rows["张三"], rows["李四"]
        for row in (z3, l4):  # the old 销假
            s.delete(row)
        s.flush()
        # 张三's 签到: a record with the deleted one's id, its points never posted.
        s.add(Attendance(id=z3.id, activity_id=activity.id, member_id=z3.member_id,
                         status="present", checked_in_at=clock.now(), updated_at=clock.now()))
        ledger.post(s, member_id=l4.member_id, branch_id=activity.branch_id,
                    points=THEME_PRESENT, rule="attendance.present.主题党日",
                    source_kind="attendance", source_id=f"{l4.id + 100}",
                    occurred_at=activity.starts_at, now=clock.now())
        s.commit()


def test_the_repair_reverses_what_orphaned_lines_count_and_posts_swallowed_points(
        runtime, chat, clock, bureau, djbot):  # noqa: F811 - the fixtures above
    as_the_old_version_left_it(runtime, chat, clock)
    assert "本周：0 分" in chat.say("z3", "积分").text  # there, checked in, and 0
    assert "本周：3 分" in chat.say("l4", "积分").text  # on leave, and 3
    with Session(runtime.engine) as s:
        before = s.exec(select(PointEntry.id, PointEntry.points, PointEntry.note)).all()
    [(ok, line)] = doctor.ledger_lines(runtime.settings, runtime.engine)
    assert ok is False and "2 名党员的积分不准" in line and "djbot repair-ledger" in line

    listed = djbot("repair-ledger")
    assert "冲销 李四" in listed and "补记 张三" in listed and "--apply" in listed
    with Session(runtime.engine) as s:  # a dry run writes nothing
        assert len(s.exec(select(PointEntry)).all()) == len(before)

    done = djbot("repair-ledger", "--apply")
    assert "已写入 2 笔更正，涉及 2 名党员" in done
    assert "本周：3 分" in chat.say("z3", "积分").text
    assert "本周：0 分" in chat.say("l4", "积分").text
    # Appended, never edited: every line that was there is there as it was.
    with Session(runtime.engine) as s:
        after = s.exec(select(PointEntry.id, PointEntry.points, PointEntry.note)
                       .order_by(PointEntry.id)).all()
    assert after[:len(before)] == sorted(before)
    assert ledger_lines(chat, "z3")[0] == (
        "11月23日 09:00 +3 主题党日「学习新党章」出席（数据修复："
        "签到时积分与旧记录冲突未记入，按现行规则补记）")
    lines = ledger_lines(chat, "l4")
    assert lines[0] == ("11月23日 09:00 ±0 主题党日 出席 +3，已冲销（数据修复：所属考勤记录已被"
                        "旧版本的销假删除，此笔不再计分）"), lines

    # Once is enough: nothing more to write, and doctor is content.
    assert "积分流水无需修复" in djbot("repair-ledger", "--apply")
    assert doctor.ledger_lines(runtime.settings, runtime.engine) == []
    assert sum(points_of(runtime.engine, "张三")) == THEME_PRESENT
    assert sum(points_of(runtime.engine, "李四")) == 0


def test_the_repair_is_on_the_audit_log_with_whose_points_it_changed(
        runtime, chat, clock, bureau, djbot):  # noqa: F811 - the fixtures above
    """Two members' points change: `djbot audit` says when the operator did it, whose
    points and by how much, as every other correction and every other CLI change is."""
    as_the_old_version_left_it(runtime, chat, clock)
    djbot("repair-ledger")
    assert "没有符合条件的操作记录" in djbot("audit", "--action", "ledger.repair")  # a dry run
    djbot("repair-ledger", "--apply")
    [line] = djbot("audit", "--action", "ledger.repair").splitlines()
    assert "  cli  ledger.repair  " in line, line
    assert '"written": 2' in line and "李四" in line and "张三" in line, line
    assert f'"points": {-THEME_PRESENT}' in line and f'"points": {THEME_PRESENT}' in line, line
    djbot("repair-ledger", "--apply")  # nothing to write: nothing more on record
    assert len(djbot("audit", "--action", "ledger.repair").splitlines()) == 1
    with Session(runtime.engine) as s:  # and a member forgotten is not named there
        forget_member(s, member=s.exec(select(Member).where(Member.name == "张三")).one(),
                      now=clock.now())
        s.commit()
    [line] = djbot("audit", "--action", "ledger.repair").splitlines()
    assert "张三" not in line and "李四" in line, line


def test_a_sound_ledger_needs_no_repair(runtime, chat, clock, bureau, djbot):  # noqa: F811
    """Corrections, a 销假 as it is now, a check-in again over a corrected record and a
    cancellation leave nothing for the repair: it finds only what the old 销假 left."""
    chat.say("sec", "开始 主题党日 学习新党章", chat="g1")
    chat.say("z3", "签到", chat="g1")
    chat.say("l4", "签到", chat="g1")
    chat.say("sec", "更正 张三 请假 临时出警")
    chat.say("z3", "销假")
    chat.say("z3", "签到", chat="g1")
    chat.say("sec", "更正 李四 缺席 他人代签")
    chat.say("sec", "结束", chat="g1")
    chat.say("sec", "确认缺席", chat="g1")
    chat.say("sec", "补签 李四 手机没电")
    assert "积分流水无需修复" in djbot("repair-ledger")
    chat.say("sec", "取消活动 改期")
    chat.say("sec", "确认")
    assert "积分流水无需修复" in djbot("repair-ledger")
    assert doctor.ledger_lines(runtime.settings, runtime.engine) == []
