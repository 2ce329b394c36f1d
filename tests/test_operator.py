"""The operator's view: health and readiness, /metrics, request ids in logs, config errors at start,
and a member's own data (export) and leaving (forget)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import httpx
import pytest
from alembic import command
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot import metrics
from bot.app import create_app
from bot.checks import validate
from bot.cli import app as cli
from bot.config import Settings
from bot.logs import JsonFormatter, RequestIdFilter
from storage import db
from storage.models import (
    Attendance,
    AuditEntry,
    Identity,
    LeavePeriod,
    Member,
    OutboxMessage,
    PointEntry,
    ProcessedMessage,
    Role,
)
from storage.outbox import enqueue

from .factories import bind_chat, make_branch, make_member, seed
from .test_backup import fill_a_week


def client(runtime) -> httpx.AsyncClient:
    app = create_app(runtime, start_background=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://djbot")


# --- health, readiness, metrics ------------------------------------------------------------


async def test_healthz_is_alive_while_readyz_reports_an_unreachable_database(runtime):
    # Port 1 refuses connections: the process is alive but cannot serve members.
    cut_off = replace(runtime, engine=db.make_engine("postgresql://djbot@127.0.0.1:1/djbot"))
    async with client(cut_off) as http:
        alive = await http.get("/healthz")
        ready = await http.get("/readyz")
    assert alive.status_code == 200
    assert (ready.status_code, ready.json()["status"]) == (503, "database unreachable")


async def test_readyz_is_503_until_migrations_are_current(runtime):
    # create_all built the tables, but no migration has been recorded: not ready.
    async with client(runtime) as http:
        pending = await http.get("/readyz")
        assert pending.status_code == 503
        assert pending.json()["status"] == "migrations pending"
        # What `djbot db upgrade` records; the tables themselves are already there.
        command.stamp(db.alembic_config(runtime.engine), "head")
        ready = await http.get("/readyz")
    assert ready.status_code == 200


async def test_metrics_show_outbox_depth_from_the_database(runtime, clock):
    def fill(session):
        for n in range(3):
            enqueue(session, platform="wecom", target_kind="group", target="g1",
                    payload={"text": f"提醒{n}"}, now=clock.now())
        dead = OutboxMessage(platform="wecom", target_kind="group", target="g1", payload={},
                             status="dead", next_attempt_at=clock.now(), created_at=clock.now())
        session.add(dead)

    seed(runtime.engine, fill)
    async with client(runtime) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert 'djbot_outbox_messages{status="pending"} 3.0' in body
    assert 'djbot_outbox_messages{status="dead"} 1.0' in body
    assert 'djbot_outbox_messages{status="sent"} 0.0' in body


def sample(name: str, **labels) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_count_commands_and_callbacks(runtime, chat):
    before = sample("djbot_command_seconds_count", command="帮助")
    chat.say("wx-stranger", "帮助")
    assert sample("djbot_command_seconds_count", command="帮助") == before + 1

    refused = sample("djbot_callbacks_total", platform="dingtalk", outcome="unauthorized")
    app = create_app(runtime, start_background=False)

    @app.post("/dingtalk/test-refused")  # stands in for a callback whose signature is wrong
    def _refused():
        from fastapi.responses import JSONResponse

        return JSONResponse({}, status_code=401)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as http:
        await http.post("/dingtalk/test-refused")
        text = (await http.get("/metrics")).text
    assert sample("djbot_callbacks_total", platform="dingtalk", outcome="unauthorized") == refused + 1
    for series in ("djbot_rejected_total", "djbot_outbox_failures_total",
                   "djbot_outbox_dead_letters_total", "djbot_reminders_enqueued_total"):
        assert f"# TYPE {series} counter" in text


async def test_request_id_is_kept_returned_and_logged(runtime):
    app = create_app(runtime, start_background=False)
    seen = []

    @app.get("/test-log")
    def _log():
        record = logging.LogRecord("djbot.test", logging.INFO, "", 0, "hello", (), None)
        RequestIdFilter().filter(record)
        seen.append(json.loads(JsonFormatter().format(record)))
        return {}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as http:
        kept = await http.get("/test-log", headers={"X-Request-ID": "nginx-abc123"})
        made = await http.get("/test-log", headers={"X-Request-ID": "bad id\nwith newline"})
    assert kept.headers["x-request-id"] == "nginx-abc123"
    assert seen[0]["request_id"] == "nginx-abc123"
    assert made.headers["x-request-id"] != "bad id\nwith newline"
    assert seen[1]["request_id"] == made.headers["x-request-id"]


# --- configuration errors at start ----------------------------------------------------------


def test_a_default_configuration_has_no_errors():
    assert validate(Settings(_env_file=None)) == []


def test_each_configuration_error_is_one_clear_line():
    settings = Settings(
        _env_file=None,
        database_url="mysql://djbot@db/djbot",
        wecom={"enabled": True, "aibot_token": "t", "aibot_aes_key": "short"},
        dingtalk={"enabled": True, "app_key": "k"},
    )
    problems = validate(settings)
    assert problems == [
        "DJBOT_DATABASE_URL 使用了不支持的数据库「mysql」：只支持 sqlite 和 postgresql",
        "已启用钉钉（http 模式），但缺少 DJBOT_DINGTALK__APP_SECRET",
        "已启用钉钉（http 模式），但缺少 DJBOT_DINGTALK__ROBOT_CODE",
        "DJBOT_WECOM__AIBOT_AES_KEY 应为 43 个字符（EncodingAESKey），现在是 5 个",
    ]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DJBOT_DATABASE_URL": "not a url"}, "DJBOT_DATABASE_URL 不是有效的数据库地址"),
        ({"DJBOT_DATABASE_URL": "postgresql://djbot@db:5432"}, "DJBOT_DATABASE_URL 缺少库名"),
        ({"DJBOT_WECOM__ENABLED": "true"}, "缺少 DJBOT_WECOM__AIBOT_TOKEN"),
        ({"DJBOT_WECOM__ENABLED": "true", "DJBOT_WECOM__MODE": "ws"}, "缺少 DJBOT_WECOM__BOT_SECRET"),
        ({"DJBOT_DINGTALK__ENABLED": "true", "DJBOT_DINGTALK__MODE": "poll"}, "DJBOT_DINGTALK__MODE「poll」无效"),
        ({"DJBOT_TIMEZONE": "Asia/Beijing"}, "Asia/Beijing"),
    ],
)
def test_serve_refuses_to_start_on_a_configuration_error(env, expected, tmp_path):
    env = {"DJBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"} | env
    result = CliRunner().invoke(cli, ["serve", "--port", "1"], env=env)
    assert result.exit_code == 2
    assert expected in result.output
    assert not (tmp_path / "x.db").exists()  # nothing was started or created


# --- a member's own data --------------------------------------------------------------------


def djbot(url: str, *args: str, code: int = 0):
    result = CliRunner().invoke(cli, list(args), env={"DJBOT_DATABASE_URL": url})
    assert result.exit_code == code, result.output
    return result


def test_export_gives_a_member_their_own_data_only(engine, db_url):
    seed(engine, fill_a_week)
    data = json.loads(djbot(db_url, "export", "J0001").stdout)
    assert data["member"]["name"] == "张三"
    assert data["member"]["branch"] == "第一党支部"
    assert [i["platform"] for i in data["identities"]] == ["wecom"]
    assert [a["status"] for a in data["attendance"]] == ["present"]
    assert data["attendance"][0]["activity"]["type"] == "主题党日"
    assert [s["minutes"] for s in data["study"]] == [60]
    assert data["points_total"] == 7
    assert "李四" not in json.dumps(data, ensure_ascii=False)

    by_name = json.loads(djbot(db_url, "export", "李四").stdout)
    assert by_name["member"]["staff_no"] == "J0002"


def test_export_asks_for_the_number_when_two_share_a_name(engine, db_url):
    seed(engine, lambda s: [make_member(s, make_branch(s), "王芳", staff_no=n) for n in ("A1", "A2")])
    result = djbot(db_url, "export", "王芳", code=1)
    assert "有 2 人叫「王芳」" in result.output
    assert "A1" in result.output and "A2" in result.output
    djbot(db_url, "export", "A2")
    djbot(db_url, "export", "无此人", code=1)


def test_forget_removes_the_person_and_keeps_the_branch_totals(engine, db_url, chat):
    seed(engine, fill_a_week)

    def branch_total(session):
        return session.exec(select(func.sum(PointEntry.points))).one()

    total_before = seed(engine, branch_total)
    with Session(engine) as session:
        zhang = session.exec(select(Member).where(Member.staff_no == "J0001")).one()
        wecom_id = session.exec(select(Identity.user_id).where(Identity.member_id == zhang.id)).one()
    assert not chat.say(wecom_id, "积分").is_error  # a known member before

    result = djbot(db_url, "forget", "J0001", "--yes")
    assert f"已注销成员#{zhang.id}" in result.output

    with Session(engine) as session:
        gone = session.get(Member, zhang.id)
        assert (gone.name, gone.staff_no, gone.active, gone.forgotten) == (
            f"已注销成员#{zhang.id}", None, False, True)
        assert session.exec(select(Identity).where(Identity.member_id == zhang.id)).all() == []
        assert session.exec(select(Attendance).where(Attendance.member_id == zhang.id)).all()
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "member.forget")).one()
        assert "张三" not in json.dumps(audit.detail, ensure_ascii=False) + (audit.target or "")
    assert seed(engine, branch_total) == total_before
    exported = djbot(db_url, "export", f"已注销成员#{zhang.id}").stdout
    assert "张三" not in exported and "J0001" not in exported and wecom_id not in exported
    # The platform account is a stranger now: no command reaches the old record.
    assert chat.say(wecom_id, "积分").is_error
    djbot(db_url, "forget", "J0001", "--yes", code=1)  # the number is gone too


def test_forget_answered_no_says_so_in_chinese_and_forgets_no_one(engine, db_url):
    """Before, answering n (or no terminal to answer from) ended in English 「Aborted!」."""
    seed(engine, fill_a_week)
    result = CliRunner().invoke(cli, ["forget", "J0001"], input="n\n",
                                env={"DJBOT_DATABASE_URL": db_url})
    assert result.exit_code == 1, result.output
    assert "Aborted" not in result.output and "已取消，没有做任何更改" in result.output
    with Session(engine) as session:
        assert session.exec(select(Member).where(Member.staff_no == "J0001")).one().name == "张三"


def test_forget_takes_a_lecturers_name_off_the_roster_and_the_lectures(engine, db_url, chat,
                                                                       clock):
    """Before, forget left the member's name in the 讲师 roster and on each 党课 they gave
    (讲师 listed 「王建国（…）：1 场」 after they were gone), and in a 确认 they were asked."""
    from storage.models import Activity, Lecturer, PendingConfirmation

    def people(s):
        branch = make_branch(s, "一支部")
        bind_chat(s, branch, "g1")
        make_member(s, None, "赵领导", role=Role.LEADER, wecom="lead")
        make_member(s, branch, "王建国", role=Role.SECRETARY, wecom="sec", staff_no="J0009")
    seed(engine, people)
    assert not chat.say("lead", "讲师 添加 王建国 一支部书记").is_error
    assert not chat.say("sec", "开始 党课 廉政教育 主讲 王建国", chat="g1").is_error
    clock.advance(hours=3)
    chat.say("sec", "结束", chat="g1")
    with Session(engine) as session:
        session.add(PendingConfirmation(platform="wecom", chat_id="sec", member_id=2,
                                        kind="visit.log", payload={"branch": "王建国的支部"},
                                        created_at=clock.now(), expires_at=clock.now()))
        session.commit()
    djbot(db_url, "forget", "J0009", "--yes")
    with Session(engine) as session:
        assert [x.name for x in session.exec(select(Lecturer))] == ["已注销成员#2"]
        assert [a.lecturer for a in session.exec(select(Activity))] == ["已注销成员#2"]
        assert session.exec(select(PendingConfirmation)).all() == []
    assert "王建国" not in chat.say("lead", "讲师").text


def zhang_asks_leave_over_days(engine, chat) -> None:
    def people(s):
        branch = make_branch(s, "一支部")
        bind_chat(s, branch, "g1")
        make_member(s, branch, "书记", role=Role.SECRETARY, wecom="sec")
        make_member(s, branch, "张三", wecom="zs", staff_no="J0001")
    seed(engine, people)
    assert "母亲住院手术" in chat.say("zs", "请假 11月30日至12月3日 母亲住院手术", chat="g1").text


def test_forget_clears_the_reason_of_leave_over_days(engine, db_url, chat):
    """Before, forget cleared the reason on attendance rows but not on 请假 over days."""
    zhang_asks_leave_over_days(engine, chat)
    djbot(db_url, "forget", "J0001", "--yes")
    with Session(engine) as session:
        assert [p.reason for p in session.exec(select(LeavePeriod))] == [""]


def test_forget_leaves_no_name_or_reason_in_the_audit_trail(engine, db_url, chat):
    """Before, forget renamed the actor only: the entry of their own leave kept 张三 as its
    target and the reason in its detail."""
    zhang_asks_leave_over_days(engine, chat)
    djbot(db_url, "forget", "J0001", "--yes")
    with Session(engine) as session:
        entries = list(session.exec(select(AuditEntry)))
    shown = json.dumps([[e.actor, e.target, e.detail] for e in entries], ensure_ascii=False)
    assert "张三" not in shown and "母亲住院手术" not in shown, shown
    assert "leave.period" in [e.action for e in entries]  # what was done stays


def test_forget_takes_the_members_account_out_of_the_audit_trail(engine, db_url, chat):
    """Before, what the member did in a private chat stayed on record under the chat, which
    is their platform account: `djbot audit` showed 「wecom:zs」 after forget."""
    zhang_asks_leave_over_days(engine, chat)
    assert not chat.say("zs", "请假 12月7日 体检").is_error  # privately
    djbot(db_url, "forget", "J0001", "--yes")
    with Session(engine) as session:
        entries = list(session.exec(select(AuditEntry)))
    assert "zs" not in [e.chat_id for e in entries]
    assert "g1" in [e.chat_id for e in entries]  # the group's chat is no one's account


def test_forget_reaches_what_the_member_said_with_their_account_in_another_case(
        engine, db_url, chat):
    """WeCom ignores case in a userid, so the roster's zs is WeCom's ZS (path/90195), and
    the member's messages came in as ZS. forget removed the deliveries and the private
    chat's account spelt as the roster spells it: 请假 11月30日… and the 「wecom:ZS」 chat
    of what they did privately stayed on record."""
    zhang_asks_leave_over_days(engine, chat)
    assert not chat.say("ZS", "请假 12月7日 体检").is_error  # privately, as WeCom spells it
    assert not chat.say("ZS", "积分", chat="g1").is_error
    djbot(db_url, "forget", "J0001", "--yes")
    with Session(engine) as session:
        said = [m.sender_id for m in session.exec(select(ProcessedMessage))]
        chats = [e.chat_id for e in session.exec(select(AuditEntry))]
    assert "ZS" not in said and "zs" not in said, said
    assert "ZS" not in chats and "g1" in chats, chats


def test_forget_takes_the_member_out_of_a_secretarys_queued_leave_ask(runtime, engine, db_url,
                                                                     chat):
    """Before, 【请假待批准】张三请假…母亲住院手术 stayed queued to the 书记 and was sent."""
    runtime.dispatcher.settings = runtime.settings.model_copy(
        update={"leave_requires_approval": True})
    zhang_asks_leave_over_days(engine, chat)
    with Session(engine) as session:
        queued = json.dumps([m.payload for m in session.exec(select(OutboxMessage))],
                            ensure_ascii=False)
    assert "张三" in queued  # the 书记 is asked to approve
    djbot(db_url, "forget", "J0001", "--yes")
    with Session(engine) as session:
        rows = list(session.exec(select(OutboxMessage)))
    after = json.dumps([m.payload for m in rows], ensure_ascii=False)
    assert "张三" not in after and "母亲住院手术" not in after, after
    assert "pending" not in [m.status for m in rows if m.kind == "leave.ask"]


def test_forget_takes_the_name_and_reasons_out_of_the_points_ledger(engine, db_url, chat, clock):
    """Before, forget left 补签：张三手机没电 on the ledger line of 张三's make-up, and a
    forgotten 书记's name on other members' lines: 李四's 积分明细 still read 「王书记更正为请假」."""
    def people(s):
        branch = make_branch(s, "一支部")
        bind_chat(s, branch, "g1")
        make_member(s, branch, "王书记", role=Role.SECRETARY, wecom="sec", staff_no="S0001")
        make_member(s, branch, "张三", wecom="zs", staff_no="J0001")
        make_member(s, branch, "李四", wecom="ls", staff_no="J0002")
    seed(engine, people)
    chat.say("sec", "开始 主题党日 学习", chat="g1")
    chat.say("ls", "签到", chat="g1")
    clock.advance(hours=3)
    chat.say("sec", "结束", chat="g1")
    chat.say("sec", "确认缺席", chat="g1")
    assert not chat.say("sec", "补签 张三 张三手机没电", chat="g1").is_error
    assert not chat.say("sec", "更正 李四 请假 临时出警", chat="g1").is_error
    assert "王书记更正为请假" in chat.say("ls", "积分明细").text

    total_before = seed(engine, lambda s: s.exec(select(func.sum(PointEntry.points))).one())
    djbot(db_url, "forget", "J0001", "--yes")
    djbot(db_url, "forget", "S0001", "--yes")
    with Session(engine) as session:
        notes = json.dumps([e.note for e in session.exec(select(PointEntry))], ensure_ascii=False)
        assert session.exec(select(func.sum(PointEntry.points))).one() == total_before
    assert "张三" not in notes and "手机没电" not in notes and "王书记" not in notes, notes
    shown = chat.say("ls", "积分明细").text
    assert "王书记" not in shown and "已注销成员#1更正为请假：临时出警" in shown, shown


def test_forget_takes_a_secretarys_name_out_of_a_restored_activitys_lines(
        engine, db_url, chat, clock):
    """恢复活动 notes its lines 「王书记恢复活动：…」 and audits the reason it was cancelled
    for: forgetting the 书记 left both (the cancellation's own lines were scrubbed)."""
    def people(s):
        branch = make_branch(s, "一支部")
        bind_chat(s, branch, "g1")
        make_member(s, branch, "王书记", role=Role.SECRETARY, wecom="sec", staff_no="S0001")
        make_member(s, branch, "李四", wecom="ls", staff_no="J0002")
    seed(engine, people)
    chat.say("sec", "开始 主题党日 学习", chat="g1")
    chat.say("ls", "签到", chat="g1")
    chat.say("sec", "取消活动 李四家里出事", chat="g1")
    chat.say("sec", "确认", chat="g1")
    assert chat.say("sec", "恢复活动 取消错了", chat="g1").text.startswith("已恢复")
    djbot(db_url, "forget", "S0001", "--yes")
    with Session(engine) as session:
        notes = json.dumps([e.note for e in session.exec(select(PointEntry))], ensure_ascii=False)
        audit = json.dumps([e.detail for e in session.exec(select(AuditEntry))],
                           ensure_ascii=False)
    assert "王书记" not in notes and "已注销成员#1恢复活动：取消错了" in notes, notes
    assert "李四家里出事" not in audit, audit


def test_forget_takes_the_name_out_of_answers_kept_to_others_and_of_queued_messages(
        engine, db_url, chat, clock):
    """Before, forget deleted the member's own messages' answers but kept, for the retention,
    the answer to the 书记's 「补签 张三 …」 and the group's sent messages naming 张三 (in a
    backup too); a delivery of that message again was answered with the name."""
    def people(s):
        branch = make_branch(s, "一支部")
        bind_chat(s, branch, "g1")
        make_member(s, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(s, branch, "张三", wecom="zs", staff_no="J0001")
        make_member(s, branch, "张三丰", wecom="zsf")
    seed(engine, people)
    chat.say("sec", "开始 主题党日 学习", chat="g1")
    chat.say("zsf", "签到", chat="g1")
    clock.advance(hours=3)
    chat.say("sec", "结束", chat="g1")
    chat.say("sec", "确认缺席", chat="g1")
    said = chat.say("sec", "补签 张三 手机没电", chat="g1", message_id="m-makeup")
    assert "已为 张三 补签" in said.text
    with Session(engine) as session:
        session.add(OutboxMessage(platform="wecom", target_kind="group", target="g1",
                                  kind="nudge", created_at=clock.now(),
                                  next_attempt_at=clock.now(), payload={
                                      "text": "还未签到：张三、张三丰", "mentions": ["zs", "zsf"]}))
        session.commit()

    djbot(db_url, "forget", "J0001", "--yes")
    with Session(engine) as session:
        kept = json.dumps([m.reply for m in session.exec(select(ProcessedMessage))]
                          + [m.payload for m in session.exec(select(OutboxMessage))],
                          ensure_ascii=False)
    assert "张三、" not in kept and "张三 补签" not in kept and '"zs"' not in kept, kept
    assert "张三丰" in kept and '"zsf"' in kept  # the namesake keeps his name
    again = chat.say("sec", "补签 张三 手机没电", chat="g1", message_id="m-makeup")
    assert again.text == said.text.replace("张三", "已注销成员#2"), again.text


def test_export_includes_the_members_leave_over_days(engine, db_url, chat):
    """Before, export left out 请假 over days (and 先锋党员 nominations, past places, 读书班)."""
    zhang_asks_leave_over_days(engine, chat)
    data = json.loads(djbot(db_url, "export", "J0001").stdout)
    assert [p["reason"] for p in data["leave_periods"]] == ["母亲住院手术"]
    assert data["pioneer_nominations"] == data["past_memberships"] == []
    assert data["reading_classes"] == []


def test_export_includes_what_the_member_did_as_leader_lecturer_and_owner(engine, db_url, chat):
    """Before, export left out a leader's 调研 and 约谈, a 讲师's place on the roster, the 整改
    a member owns and the audit trail about them (their role changed), though djbot holds
    them about that member and forget acts on some of them."""
    def people(s):
        branch = make_branch(s, "一支部")
        bind_chat(s, branch, "g1")
        make_member(s, None, "管理员", role=Role.ADMIN, wecom="adm")
        make_member(s, None, "赵领导", role=Role.LEADER, wecom="lead", staff_no="L0001")
        make_member(s, branch, "张三", wecom="zs", staff_no="J0001")
    seed(engine, people)
    for said in ("调研 一支部 发现问题 1 值班室学习角需更新", "约谈 一支部 问题 夜学到课率低 整改 按时开展",
                 "整改 一支部 张三 学习室资料陈旧", "讲师 添加 赵领导 局党委书记"):
        assert not chat.say("lead", said).is_error, said
    assert not chat.say("adm", "设置角色 张三 委员").is_error

    leader = json.loads(djbot(db_url, "export", "L0001").stdout)
    assert [v["note"] for v in leader["research_visits"]] == ["值班室学习角需更新"]
    assert [t["problems"] for t in leader["talks"]] == ["夜学到课率低"]
    assert leader["lecturer"]["title"] == "局党委书记"
    zhang = json.loads(djbot(db_url, "export", "J0001").stdout)
    assert [r["problem"] for r in zhang["rectifications"]] == ["学习室资料陈旧"]
    assert [(a["action"], a["detail"]["new"]) for a in zhang["audit"]] == [
        ("role.change", "committee")]
    assert zhang["research_visits"] == zhang["talks"] == [] and zhang["lecturer"] is None
    # What the leader did is listed by time and kind: the entry naming 张三 is 张三's.
    assert [a["action"] for a in leader["audit"]][-2:] == ["rectification.add", "lecturer.add"]
    assert "张三" not in json.dumps(leader, ensure_ascii=False)


def test_export_includes_a_secretarys_withdrawal_of_the_members_study(engine, db_url, chat, clock):
    """The audit entry of a 书记's 撤销学习 named the member by name only: their export,
    which lists the entries about them by member id, left it out."""
    def people(s):
        branch = make_branch(s, "一支部")
        bind_chat(s, branch, "g1")
        make_member(s, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(s, branch, "张三", wecom="zs", staff_no="J0001")
    seed(engine, people)
    chat.say("zs", "学习 理论 600")
    clock.advance(days=2)
    assert chat.say("sec", "撤销学习 张三 时长不实", chat="g1").text.startswith("将撤销")
    assert chat.say("sec", "确认", chat="g1").text.startswith("已撤销")
    exported = json.loads(djbot(db_url, "export", "J0001").stdout)
    assert [e["detail"]["reason"] for e in exported["audit"]
            if e["action"] == "study.withdraw"] == ["时长不实"], exported["audit"]


def test_export_into_a_missing_folder_says_so_in_one_line(engine, db_url, tmp_path):
    """Before, `export --out` into a folder that is not there ended in a traceback."""
    seed(engine, fill_a_week)
    result = CliRunner().invoke(
        cli, ["export", "J0001", "--out", str(tmp_path / "no-such-dir" / "x.json")],
        env={"DJBOT_DATABASE_URL": db_url})
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "不存在，没有写入导出" in result.output


# --- what the logs may say ------------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


SECRET = "dingtalk-secret-never-logged"
PRIVATE = "家中老人住院需要照顾"


async def _leave_asked_by_dingtalk(settings, clock, engine, *, then=None):
    """张三 asks leave in the group, by a genuinely signed DingTalk callback; `then(engine)`
    runs before it is sent. The answer, and every line djbot logged at INFO and above."""
    from bot.adapters.dingtalk.signing import sign
    from bot.runtime import build_runtime

    from .factories import bind_chat

    settings = settings.model_copy(update={"dingtalk": settings.dingtalk.model_copy(update={
        "enabled": True, "app_key": "key", "app_secret": SECRET, "robot_code": "robot",
        "api_base": "http://127.0.0.1:9", "oapi_base": "http://127.0.0.1:9"})})
    runtime = build_runtime(settings, clock=clock, engine=engine, migrate=False)

    def bureau(session):
        branch = make_branch(session, "一支部")
        make_member(session, branch, "张三", dingtalk="d1")
        bind_chat(session, branch, "cid1", platform="dingtalk")

    seed(engine, bureau)
    if then is not None:
        then(engine)
    timestamp = str(int(clock.now().timestamp() * 1000))
    body = json.dumps({"msgtype": "text", "msgId": "m1", "conversationId": "cid1",
                       "conversationType": "2", "senderStaffId": "d1", "senderNick": "张三",
                       "chatbotUserId": "bot", "isInAtList": True, "createAt": timestamp,
                       "text": {"content": f"请假 {PRIVATE}"}}, ensure_ascii=False)
    collect = _Collect()
    djbot_log = logging.getLogger("djbot")
    old_level = djbot_log.level
    djbot_log.addHandler(collect)
    djbot_log.setLevel(logging.DEBUG)
    try:
        async with client(runtime) as http:
            response = await http.post(
                "/dingtalk/callback", content=body.encode(),
                headers={"timestamp": timestamp, "sign": sign(timestamp, SECRET),
                         "content-type": "application/json", "X-Request-ID": "req-42"})
    finally:
        djbot_log.removeHandler(collect)
        djbot_log.setLevel(old_level)
    return response, [JsonFormatter().format(r) for r in collect.records
                      if r.levelno >= logging.INFO]


async def test_a_callback_logs_its_request_id_and_neither_body_nor_secret(settings, clock, engine):
    response, lines = await _leave_asked_by_dingtalk(settings, clock, engine)
    assert response.status_code == 200
    handled = [json.loads(line) for line in lines if json.loads(line)["msg"] == "handled"]
    assert handled and handled[0]["request_id"] == "req-42"
    assert not [line for line in lines if PRIVATE in line or SECRET in line]


def _leave_cannot_be_written(engine) -> None:
    """A statement that fails as a full disk or a cancelled statement does: not a conflict
    djbot tries again, but an error it logs whole."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("CREATE TRIGGER no_room BEFORE INSERT ON attendance "
                                 "BEGIN SELECT no_such_function(); END")
        else:
            conn.exec_driver_sql("CREATE FUNCTION no_room() RETURNS trigger AS $$ BEGIN "
                                 "PERFORM no_such_function(); RETURN NEW; END $$ LANGUAGE plpgsql")
            conn.exec_driver_sql("CREATE TRIGGER no_room BEFORE INSERT ON attendance "
                                 "FOR EACH ROW EXECUTE FUNCTION no_room()")


async def test_a_message_the_database_failed_on_is_logged_without_what_the_member_wrote(
        settings, clock, engine):
    """Before, the error logged for a message whose statement failed quoted the statement's
    parameters: 「[parameters: (1, 2, 'leave', None, '家中老人住院需要照顾', …)]」, the leave
    reason in the log. The statement and the database's own words stay; the values do not."""
    from datetime import timedelta

    from storage.models import Activity

    from .conftest import local

    def open_and_fail(engine):
        with Session(engine) as session:
            starts = clock.now() + timedelta(hours=2)
            session.add(Activity(type="政治夜学", branch_id=1, starts_at=starts,
                                 ends_at=starts + timedelta(hours=2),
                                 checkin_opens_at=starts, checkin_closes_at=starts,
                                 created_at=local(2026, 11, 1, 9, 0)))
            session.commit()
        _leave_cannot_be_written(engine)

    response, lines = await _leave_asked_by_dingtalk(settings, clock, engine, then=open_and_fail)
    assert response.status_code >= 500  # not acknowledged: DingTalk delivers it again
    failed = [line for line in lines if "INSERT INTO attendance" in line]
    assert failed, lines  # the error is logged, with its statement
    assert not [line for line in lines if PRIVATE in line], failed


def test_forget_takes_the_account_out_of_a_message_queued_to_several_and_keeps_it_for_the_rest(
        engine, db_url, clock):
    """DingTalk holds back some of a batchSend's people (flow control): djbot queues the
    message again for them in one row, addressed to the first, listing them all. Before,
    forgetting the first deleted that row, and 李四 and 王五 never got the reminder; forgetting
    another left their account in the row, and the reminder still went to them."""
    def people(s):
        branch = make_branch(s, "一支部")
        make_member(s, branch, "张三", dingtalk="dz1", staff_no="J0001")
        make_member(s, branch, "李四", dingtalk="dl2", staff_no="J0002")
        make_member(s, branch, "王五", dingtalk="dw3", staff_no="J0003")
    seed(engine, people)
    with Session(engine) as session:
        for first in ("dz1", "dw3"):
            others = [u for u in ("dz1", "dl2", "dw3") if u != first]
            session.add(OutboxMessage(
                platform="dingtalk", target_kind="user", target=first, kind="nudge",
                dedupe_key=f"nudge-{first}", created_at=clock.now(),
                next_attempt_at=clock.now(), last_error="钉钉限流：dz1、dl2、dw3",
                payload={"text": "今晚 19:30 政治夜学，请准时参加", "user_ids": [first, *others],
                         "reached": ["dz1"], "invalid_user_ids": ["dz1"]}))
        session.commit()

    djbot(db_url, "forget", "J0001", "--yes")
    with Session(engine) as session:
        rows = {r.dedupe_key: r for r in session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "nudge"))}
    assert set(rows) == {"nudge-dz1", "nudge-dw3"}  # still owed to the others
    assert (rows["nudge-dz1"].target, rows["nudge-dz1"].payload["user_ids"]) == (
        "dl2", ["dl2", "dw3"])
    assert (rows["nudge-dw3"].target, rows["nudge-dw3"].payload["user_ids"]) == (
        "dw3", ["dw3", "dl2"])
    kept = json.dumps([[r.target, r.payload, r.last_error] for r in rows.values()],
                      ensure_ascii=False)
    assert "dz1" not in kept, kept
    assert rows["nudge-dz1"].status == "pending"
