"""Pushes djbot starts itself on DingTalk: the outbox Sender (robot group and batch sends, a
branch's signed custom robot and its throttle), setting the robot, and doctor."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot import cli
from bot.adapters.dingtalk import doctor
from bot.adapters.dingtalk.client import DingtalkClient
from bot.adapters.dingtalk.senders import DingtalkSender, reply_parts
from bot.config import DingtalkSettings, Settings
from bot.core import Reply
from bot.outbox import OutboxWorker
from storage import outbox
from storage.db import session_scope
from storage.models import AuditEntry, OutboxMessage, PushChannel, Role
from tests.factories import bind_chat, make_branch, make_member, seed
from tests.fake_dingtalk import FakeDingtalk

SECRET = "SEC0123456789abcdef"


@pytest.fixture
def fake(clock):
    with FakeDingtalk(clock=clock) as server:
        yield server


@pytest.fixture
def settings(db_url, fake):
    return Settings(database_url=db_url, _env_file=None, dingtalk=DingtalkSettings(
        enabled=True, app_key=fake.app_key, app_secret=fake.app_secret, robot_code="ding-robot",
        api_base=fake.base_url, oapi_base=fake.base_url))


@pytest.fixture
async def worker(runtime):
    client = DingtalkClient(runtime.settings.dingtalk, runtime.clock)
    sender = DingtalkSender(runtime.settings.dingtalk, client, runtime.engine, runtime.clock)
    yield OutboxWorker(runtime.engine, runtime.clock, {"dingtalk": sender})
    await client.aclose()


def push(runtime, *, target_kind="group", target, text="明晚 19:30 政治夜学，请准时参加", **payload):
    with session_scope(runtime.engine) as s:
        outbox.enqueue(s, platform="dingtalk", target_kind=target_kind, target=target,
                       payload=Reply(text).to_dict() | payload, now=runtime.clock.now(),
                       kind="reminder.group")


def rows(runtime) -> list[OutboxMessage]:
    with Session(runtime.engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


async def test_group_push_goes_to_the_bound_group_through_the_robot(runtime, worker, fake):
    binding = seed(runtime.engine,
                   lambda s: bind_chat(s, make_branch(s), "cidG", platform="dingtalk"))
    branch_id = binding.branch_id
    push(runtime, target="cidG")
    push(runtime, target=str(branch_id), text="按支部编号寻址")  # addressed by branch id
    await worker.drain()
    sends = fake.delivered("/v1.0/robot/groupMessages/send")
    assert [s.body["openConversationId"] for s in sends] == ["cidG", "cidG"]
    assert json.loads(sends[0].body["msgParam"]) == {"content": "明晚 19:30 政治夜学，请准时参加"}
    assert [r.status for r in rows(runtime)] == ["sent", "sent"]


async def test_a_token_dingtalk_stopped_taking_is_fetched_again_not_kept_for_every_send(
        runtime, worker, fake):
    """The v1.0 API refuses a token it no longer takes (revoked, the AppSecret reset) with
    HTTP 400 InvalidAuthentication; djbot renewed only on a 401, so every reminder, board
    and summary went dead with the old token until it would have expired (about two
    hours). It fetches a new one once, and the messages go."""
    seed(runtime.engine, lambda s: bind_chat(s, make_branch(s), "cidG", platform="dingtalk"))
    await worker.senders["dingtalk"].client.access_token()
    fake.expire_tokens()
    for i in range(3):
        push(runtime, target="cidG", text=f"提醒 {i}")
    await worker.drain()
    assert [r.status for r in rows(runtime)] == ["sent"] * 3, [
        (r.status, r.last_error) for r in rows(runtime)]
    assert len(fake.posts("/v1.0/oauth2/accessToken")) == 2


async def test_private_push_to_45_people_is_split_into_batches_of_20(runtime, worker, fake):
    users = [f"staff{i:02d}" for i in range(45)]
    push(runtime, target_kind="user", target=users[0], user_ids=users)
    await worker.drain()
    batches = [r.body["userIds"] for r in fake.delivered("/v1.0/robot/oToMessages/batchSend")]
    assert [len(b) for b in batches] == [20, 20, 5]
    assert sum(batches, []) == users


async def test_branch_custom_robot_is_signed_and_waits_out_the_throttle(runtime, worker, fake,
                                                                        clock):
    url = fake.add_robot("robot-token-1", SECRET)

    def build(s):
        branch = make_branch(s)
        bind_chat(s, branch, "cidG", platform="dingtalk")
        s.add(PushChannel(platform="dingtalk", branch_id=branch.id, url=url, secret=SECRET,
                          set_at=clock.now()))
    seed(runtime.engine, build)
    push(runtime, target="cidG", text="第一条")
    await worker.drain()
    (first,) = fake.delivered("/robot/send")
    assert first.body["msgtype"] == "markdown" and "第一条" in first.body["markdown"]["text"]
    assert fake.posts("/v1.0/robot/groupMessages/send") == []  # the branch chose its robot

    fake.robot_throttled = True  # over 20 a minute: blocked for 10 minutes
    push(runtime, target="cidG", text="第二条")
    await worker.drain()
    row = rows(runtime)[-1]
    assert row.status == "pending" and "130101" in row.last_error
    assert row.next_attempt_at >= clock.now() + timedelta(seconds=600)
    fake.robot_throttled = False
    clock.advance(minutes=5)
    await worker.drain()
    assert rows(runtime)[-1].status == "pending"  # still inside the block: not even tried
    assert len(fake.posts("/robot/send")) == 2
    clock.advance(minutes=6)
    await worker.drain()
    assert rows(runtime)[-1].status == "sent"
    assert "第二条" in fake.delivered("/robot/send")[-1].body["markdown"]["text"]


async def test_a_wrong_robot_secret_is_a_dead_letter_not_a_retry_loop(runtime, worker, fake, clock):
    url = fake.add_robot("robot-token-2", SECRET)

    def build(s):
        branch = make_branch(s)
        s.add(PushChannel(platform="dingtalk", branch_id=branch.id, url=url,
                          secret="SECwrongwrongwrong", set_at=clock.now()))
        return branch.id
    push(runtime, target=str(seed(runtime.engine, build)))
    await worker.drain()
    (row,) = rows(runtime)
    assert row.status == "dead" and "310000" in row.last_error


async def test_a_push_with_no_dingtalk_group_is_dead_with_a_reason(runtime, worker):
    push(runtime, target="cid-unknown")
    await worker.drain()
    (row,) = rows(runtime)
    assert row.status == "dead" and "bind a group" in row.last_error


# --- setting a branch's custom robot ----------------------------------------------------


def test_cli_sets_the_robot_without_echoing_it(runtime, fake, monkeypatch):
    seed(runtime.engine, lambda s: make_branch(s, "第一支部"))
    monkeypatch.setattr(cli, "get_runtime", lambda *a, **k: runtime)
    url = fake.add_robot("tok-cli", SECRET)
    result = CliRunner().invoke(cli.app, ["push", "set", "--platform", "dingtalk", "--branch", "第一支部",
                                          "--url", url, "--secret", SECRET])
    assert result.exit_code == 0, result.output
    assert "已设置「第一支部」的钉钉群推送" in result.output
    assert SECRET not in result.output and "tok-cli" not in result.output
    with Session(runtime.engine) as s:
        (channel,) = s.exec(select(PushChannel)).all()
        assert (channel.platform, channel.url, channel.secret) == ("dingtalk", url, SECRET)
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "push.set")).one()
        assert SECRET not in json.dumps(audit.detail) and "tok-cli" not in json.dumps(audit.detail)

    bad = CliRunner().invoke(cli.app, ["push", "set", "--platform", "dingtalk", "--branch", "第一支部",
                                       "--url", url, "--secret", "not-a-secret"])
    assert bad.exit_code == 2 and "SEC" in bad.output


def test_secretary_sets_the_robot_in_a_private_chat_only(runtime, chat, fake):
    seed(runtime.engine, lambda s: make_member(s, make_branch(s, "第一支部"), "王书记",
                                               role=Role.SECRETARY, dingtalk="sec"))
    url = fake.add_robot("tok-chat", SECRET)
    in_group = chat.say("sec", f"设置 钉钉推送 第一支部 {url} {SECRET}", chat="cidG", platform="dingtalk")
    assert in_group.is_error
    bad = chat.say("sec", f"设置 钉钉推送 第一支部 {url}", platform="dingtalk")
    assert bad.is_error and "例如" in bad.text
    ok = chat.say("sec", f"设置 钉钉推送 第一支部 {url} {SECRET}", platform="dingtalk")
    assert not ok.is_error and SECRET not in ok.text and url not in ok.text
    with Session(runtime.engine) as s:
        (channel,) = s.exec(select(PushChannel)).all()
        assert channel.secret == SECRET


# --- doctor --------------------------------------------------------------------------------


def test_doctor_names_what_is_missing_and_tries_the_token(fake):
    off = doctor.run(Settings(_env_file=None))
    assert all(ok for ok, _ in off)
    missing = doctor.run(Settings(_env_file=None, dingtalk=DingtalkSettings(enabled=True)))
    assert any(not ok and "DJBOT_DINGTALK__APP_KEY" in line for ok, line in missing)
    good = doctor.run(Settings(_env_file=None, dingtalk=DingtalkSettings(
        enabled=True, app_key=fake.app_key, app_secret=fake.app_secret, robot_code="r",
        api_base=fake.base_url)))
    assert all(ok for ok, _ in good) and any("accessToken" in line for _, line in good)
    wrong = doctor.run(Settings(_env_file=None, dingtalk=DingtalkSettings(
        enabled=True, app_key=fake.app_key, app_secret="wrong", robot_code="r",
        api_base=fake.base_url, mode="ws")))
    problems = [line for ok, line in wrong if not ok]
    assert any("MODE" in p for p in problems) and any("Client Secret" in p for p in problems)
    assert not any("wrong" in line for _, line in wrong)  # never print a secret


# --- batchSend's partial failures ------------------------------------------------------------


async def test_batch_send_retries_the_flow_controlled_and_records_the_invalid(
        runtime, worker, fake, clock, monkeypatch):
    users = [f"u{i:02d}" for i in range(25)]  # two batches
    fake.flow_control("u03", "u22")  # DingTalk holds these back once
    fake.invalid_staff = {"u05"}  # and does not know this one
    push(runtime, target_kind="user", target="u00", text="本周学习任务已发布", user_ids=users)
    await worker.drain()

    first, again = rows(runtime)
    assert first.status == "sent" and "u05" in first.last_error  # recorded, not retried
    assert again.status == "pending" and again.payload["user_ids"] == ["u03", "u22"]
    assert again.next_attempt_at > clock.now()  # later, not in the same breath
    assert sorted(fake.reached) == sorted(set(users) - {"u03", "u05", "u22"})

    clock.advance(timedelta(minutes=2))
    await worker.drain()
    assert [r.status for r in rows(runtime)] == ["sent", "sent"]
    # Everyone DingTalk knows got it exactly once; nobody twice, u05 never.
    assert sorted(fake.reached) == sorted(set(users) - {"u05"})

    # The operator sees who was not reached, in the outbox view and in doctor.
    from bot import cli
    from bot.cli import app

    monkeypatch.setattr(cli, "get_runtime", lambda *a, **k: runtime)
    listing = CliRunner().invoke(app, ["outbox", "--status", "sent"])
    assert "u05" in listing.output, listing.output
    from bot.doctor import unreached_lines

    [(ok, line)] = unreached_lines(runtime.settings, "dingtalk")
    assert not ok and "u05" in line and f"#{first.id}" in line


# --- batchSend of a long message to many people: every part once per person ----------------

NOTICE_PARTS = 3


def long_notice() -> str:
    """A notice that goes out in NOTICE_PARTS numbered batchSend messages."""
    text = "\n".join(f"第{i:03d}条：请各支部于本周五前完成学习心得的提交，并在支部群内交流体会。"
                     for i in range(1, 260))
    assert len(reply_parts(Reply(text))) == NOTICE_PARTS
    return text


def parts_received(fake) -> dict[str, list[str]]:
    """Per person, the part labels (（1/3）…) in the order they arrived in their chat."""
    return {user: [text[:5] for text in texts] for user, texts in fake.inbox.items()}


async def deliver_with_restarts(runtime, clock, *, rounds: int = 8) -> None:
    """Run the outbox until every row is done, each try by a freshly started worker (only
    the rows carry what was sent before), moving the clock past backoffs and waits."""
    for _ in range(rounds):
        client = DingtalkClient(runtime.settings.dingtalk, clock)
        sender = DingtalkSender(runtime.settings.dingtalk, client, runtime.engine, clock)
        try:
            await OutboxWorker(runtime.engine, clock, {"dingtalk": sender}).drain()
        finally:
            await client.aclose()
        if all(row.status in ("sent", "dead") for row in rows(runtime)):
            return
        clock.advance(minutes=10)
    raise AssertionError([(row.id, row.status, row.last_error) for row in rows(runtime)])


@pytest.mark.parametrize("held_back, failing_call", [
    # Part 2: u03 (first batch) held back, then the second batch's call fails.
    (("u03",), 4),
    # Part 2: u03 and u22 (one in each batch) held back; part 3's second batch fails.
    (("u03", "u22"), 6),
], ids=["fails-in-the-held-part", "fails-in-a-later-part"])
async def test_each_person_gets_every_part_once_and_in_order(runtime, fake, clock, held_back,
                                                             failing_call):
    users = [f"u{i:02d}" for i in range(25)]  # two batches per part: 20 and 5
    fake.flow_control(*held_back, after=1)  # part 1 reaches them, part 2 does not
    fake.fail("/v1.0/robot/oToMessages/batchSend", status=500, after=failing_call - 1)
    push(runtime, target_kind="user", target=users[0], text=long_notice(), user_ids=users)

    await deliver_with_restarts(runtime, clock)

    every_part = [f"（{i}/{NOTICE_PARTS}）" for i in range(1, NOTICE_PARTS + 1)]
    assert parts_received(fake) == {user: every_part for user in users}
    assert [row.status for row in rows(runtime)] == ["sent", "sent"]


async def test_people_held_back_get_the_rest_a_minute_later_from_where_they_stopped(
        runtime, worker, fake, clock):
    users = [f"u{i:02d}" for i in range(25)]
    fake.flow_control("u22", after=1)
    push(runtime, target_kind="user", target=users[0], text=long_notice(), user_ids=users)
    await worker.drain()

    received = parts_received(fake)
    assert received["u22"] == ["（1/3）"] and received["u00"] == ["（1/3）", "（2/3）", "（3/3）"]
    first, again = rows(runtime)
    assert first.status == "sent"
    assert again.status == "pending" and again.payload["user_ids"] == ["u22"]
    assert again.next_attempt_at == clock.now() + timedelta(minutes=1)

    clock.advance(minutes=1)
    await worker.drain()
    assert parts_received(fake)["u22"] == ["（1/3）", "（2/3）", "（3/3）"]
    assert len(fake.delivered("/v1.0/robot/oToMessages/batchSend")) == 3 * 2 + 2


async def test_people_held_back_at_two_parts_and_again_get_the_rest_once_each(
        runtime, fake, clock):
    """One try holds u03 back at part 1 and u22 at part 2, and u03's own row is held back
    once more: three rows split off one message, each keyed under its key and none lost to
    another's key."""
    users = [f"u{i:02d}" for i in range(25)]
    fake.flow_control("u03", times=2)
    fake.flow_control("u22", after=1)
    key = "notice|dingtalk:user:u00|2026-11-24"
    with session_scope(runtime.engine) as s:
        outbox.enqueue(s, platform="dingtalk", target_kind="user", target="u00",
                       payload=Reply(long_notice()).to_dict() | {"user_ids": users},
                       now=clock.now(), kind="notice", dedupe_key=key)

    await deliver_with_restarts(runtime, clock)

    every_part = [f"（{i}/{NOTICE_PARTS}）" for i in range(1, NOTICE_PARTS + 1)]
    assert parts_received(fake) == {user: every_part for user in users}
    found = rows(runtime)
    assert [(r.target, r.status) for r in found] == [
        ("u00", "sent"), ("u03", "sent"), ("u22", "sent"), ("u03", "sent")]
    assert all(outbox.message_key(r.dedupe_key) == key for r in found)


async def test_someone_dingtalk_keeps_holding_back_is_given_up_and_named(runtime, worker, fake,
                                                                        clock):
    """DingTalk holds u03 back every time (its limit on what one person receives can last
    the day). They are tried again later and later, then given up after eight holds, and
    the last row names them for the operator: no row a minute for ever."""
    users = ["u00", "u03"]
    fake.flow_control("u03", times=1000)
    push(runtime, target_kind="user", target="u00", text="本周学习任务已发布", user_ids=users)
    waits = []
    for _ in range(40):
        await worker.drain()
        pending = [r for r in rows(runtime) if r.status == "pending"]
        if not pending:
            break
        [row] = pending
        waits.append(round((row.next_attempt_at - clock.now()).total_seconds() / 60))
        clock.set(row.next_attempt_at)
    assert waits == [1, 2, 4, 8, 16, 32, 60]
    assert [r.status for r in rows(runtime)] == ["sent"] * 8
    assert "钉钉限流 8 次后未送达：u03" in rows(runtime)[-1].last_error
    assert sorted(fake.reached) == ["u00"]
    from bot.doctor import unreached_lines

    [(ok, line)] = unreached_lines(runtime.settings, "dingtalk")
    assert not ok and line.endswith("钉钉限流 8 次后未送达：u03")  # not the roster's to fix


async def test_a_branch_with_two_groups_and_one_custom_robot_hears_each_message_once(
        runtime, worker, fake, clock):
    """A reminder is queued once per bound group; a branch's custom robot posts into its own
    group whichever row it carries, so it carries each message once (as WeCom's webhook)."""
    url = fake.add_robot("robot-token-3", SECRET)

    def build(s):
        branch = make_branch(s)
        for chat in ("cidA", "cidB"):
            bind_chat(s, branch, chat, platform="dingtalk")
        s.add(PushChannel(platform="dingtalk", branch_id=branch.id, url=url, secret=SECRET,
                          set_at=clock.now()))
    seed(runtime.engine, build)
    with session_scope(runtime.engine) as s:
        for chat in ("cidA", "cidB"):
            outbox.enqueue(s, platform="dingtalk", target_kind="group", target=chat,
                           payload=Reply("【活动提醒】明晚 19:30 政治夜学").to_dict(),
                           now=clock.now(), kind="reminder.group_before",
                           dedupe_key=f"reminder.group_before|dingtalk:group:{chat}|2026-11-25")
    await worker.drain()
    clock.advance(minutes=1)
    await worker.drain()
    robot = fake.delivered("/robot/send")
    assert len(robot) == 1 and "政治夜学" in robot[0].body["markdown"]["text"]
    assert fake.posts("/v1.0/robot/groupMessages/send") == []
    assert [r.status for r in rows(runtime)] == ["sent", "sent"]


# --- people held back, and an activity called off before their turn -------------------------

CALLED_OFF = {
    "取消活动": ("取消活动 下次 临时有任务", "确认"),
    "删除日程": ("删除日程 夜学",),
    "暂停日程": ("暂停日程 夜学 至 11月30日",),
    "设置": ("设置 夜学 每周四 19:30",),
}


@pytest.mark.parametrize("said", list(CALLED_OFF.values()), ids=list(CALLED_OFF))
async def test_someone_held_back_is_not_reminded_of_an_activity_called_off_meanwhile(
        runtime, worker, fake, clock, said):
    """Tuesday 09:00 the branch's two secretaries are sent 【明日活动】 for Wednesday's night
    study; DingTalk holds 陈书记 back, so his copy is to go a minute later. Within that
    minute the night study is called off: he must not be reminded of it then."""
    from bot.scheduling.tick import Ticker
    from tests.conftest import ChatDriver, local

    def build(s):
        branch = make_branch(s, "城关支部")
        make_member(s, branch, "王书记", role=Role.SECRETARY, dingtalk="ding-wang")
        make_member(s, branch, "陈书记", role=Role.SECRETARY, dingtalk="ding-chen")
        bind_chat(s, branch, "cidG", platform="dingtalk")
    seed(runtime.engine, build)
    chat = ChatDriver(runtime, "dingtalk")
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules)
    assert not chat.say("ding-wang", "设置 夜学 每周三 19:30", chat="cidG").is_error
    ticker.tick()  # Monday 09:00: Wednesday's is created
    await worker.drain()  # (the month's 三会一课 reminder, beside the point)
    fake.flow_control("ding-chen")
    clock.set(local(2026, 11, 24, 9, 0))
    ticker.tick()
    await worker.drain()

    def reminded(user: str) -> list[str]:
        return [text for text in fake.inbox.get(user, []) if "政治夜学" in text]
    assert [text[:6] for text in reminded("ding-wang")] == ["【明日活动】"]
    assert reminded("ding-chen") == []  # held back: his copy is to go a minute later

    clock.advance(seconds=20)
    for text in said:
        assert not chat.say("ding-wang", text, chat="cidG").is_error
    for _ in range(3):
        clock.advance(minutes=5)
        await worker.drain()
    to_chen = [r for r in fake.posts("/v1.0/robot/oToMessages/batchSend")
               if "ding-chen" in r.body["userIds"]
               and "政治夜学" in json.loads(r.body["msgParam"])["content"]]
    assert len(to_chen) == 1  # the try DingTalk held back; the copy due later never came
    assert reminded("ding-chen") == []
    assert [r.status for r in rows(runtime)
            if r.kind == "reminder.day_before" and r.target == "ding-chen"] == ["sent", "withdrawn"]
