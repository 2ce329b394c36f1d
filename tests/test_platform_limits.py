"""Long messages go out whole, in numbered parts within each channel's byte limit, and a
retry picks up where the last try stopped. Against the strict fake WeCom."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.adapters.common import head_within, split_to_bytes
from bot.adapters.wecom.client import WecomClient
from bot.adapters.wecom.senders import WecomSender
from bot.config import WecomSettings
from bot.outbox import OutboxWorker
from bot.scheduling.holidays import HolidayCalendar
from bot.scheduling.tick import Ticker
from storage import ledger
from storage.models import OutboxMessage, PushChannel, Role
from tests import fake_wecom as fw
from tests.conftest import local
from tests.factories import bind_chat, make_branch, make_member, seed

LABEL = re.compile(r"^（(\d+)/(\d+)）\n")


def joined(parts: list[str]) -> str:
    """The message the parts make up, labels taken off (and checked to run 1..n)."""
    texts = []
    for index, part in enumerate(parts, 1):
        found = LABEL.match(part)
        assert found and int(found.group(1)) == index and int(found.group(2)) == len(parts)
        texts.append(part[found.end():])
    return "\n".join(texts)


# --- the splitter (pure) ------------------------------------------------------------------


def test_a_short_text_is_one_unnumbered_part():
    assert split_to_bytes("签到成功", 2048) == ["签到成功"]


def test_parts_fit_keep_every_line_and_never_cut_a_character():
    lines = [f"第{i}支部 参与 {i}/30（{i * 3.3:.1f}%）红榜" for i in range(200)]
    text = "\n".join(lines)
    parts = split_to_bytes(text, 2048)
    assert len(parts) > 1
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert joined(parts) == text  # every line, whole and in order


def test_a_table_row_is_never_split_and_each_part_repeats_the_header():
    rows = [f"| 第{i}支部 | {i} | {i * 2} |" for i in range(300)]
    text = "\n".join(["**周报**", "| 支部 | 到会 | 积分 |", "|---|---|---|", *rows])
    parts = split_to_bytes(text, 1000)
    for part in parts[1:]:
        body = LABEL.sub("", part).split("\n")
        if body[0].startswith("|"):
            assert body[:2] == ["| 支部 | 到会 | 积分 |", "|---|---|---|"]
    sent_rows = [line for p in parts for line in p.split("\n") if line.startswith("| 第")]
    assert sent_rows == rows


def test_one_line_longer_than_a_part_is_cut_between_characters():
    parts = split_to_bytes("党" * 3000, 2048)
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(LABEL.sub("", p) for p in parts) == "党" * 3000


def test_a_long_list_on_one_line_is_cut_between_names():
    """未签到 of a big branch: one line of names, 、 between them. No name is cut in two."""
    names = [f"党员{i:03d}" for i in range(600)]
    parts = split_to_bytes("、".join(names), 2048)
    assert len(parts) > 2 and all(len(p.encode()) <= 2048 for p in parts)
    # A name cut in two would come back as two pieces, neither of them a name.
    assert [name for p in parts for name in LABEL.sub("", p).rstrip("、").split("、")] == names


def test_one_message_is_filled_and_the_rest_keeps_names_and_table_headers_whole():
    """A channel that takes one message (the AI bot's response_url): the head is as full
    as the limit allows, a list of names is cut between names, and a rest that starts
    inside a table starts with its header again."""
    names = [f"党员{i:03d}" for i in range(600)]
    text = "未签到 600 人：\n" + "、".join(names)
    head, rest = head_within(text, 2048)
    assert 2048 - 12 < len(head.encode()) <= 2048  # filled, less than one name short
    assert head.startswith("未签到 600 人：\n") and head.endswith("、")
    assert (head + rest).split("\n")[1].rstrip("、").split("、") == names

    table = ["| 支部 | 得分 |", "|---|---|", *[f"| 第{i}支部 | {i} |" for i in range(200)]]
    head, rest = head_within("\n".join(["周报", *table]), 1024)
    assert rest.split("\n")[:2] == table[:2] and rest.split("\n")[2] in table[2:]
    assert head_within("短消息", 2048) == ("短消息", "")


# --- the self-built app and the webhook against the strict fake ----------------------------


@pytest.fixture
def fake():
    server = fw.FakeWecom().start()
    yield server
    server.stop()


@pytest.fixture
async def sender(fake, clock, engine):
    settings = WecomSettings(enabled=True, corp_id=fw.CORP_ID, app_secret=fw.APP_SECRET,
                             agent_id=str(fw.AGENT_ID), api_base=fake.base_url)
    client = WecomClient(settings, clock, backoff_seconds=0)
    yield WecomSender(client, engine)
    await client.aclose()


def big_bureau(session):
    """A 30-branch bureau with a busy week: the summary runs to several kilobytes."""
    for b in range(30):
        branch = make_branch(session, f"城关街道第{b + 1}党支部")
        bind_chat(session, branch, f"g{b}")
        for i in range(4):
            member = make_member(session, branch, f"党员{b:02d}{i}", wecom=f"m{b}-{i}")
            ledger.post(session, member_id=member.id, branch_id=branch.id, points=5 + b + i,
                        rule="study.per_30min", source_kind="study", source_id=b * 10 + i,
                        occurred_at=local(2026, 11, 18, 10, 0), now=local(2026, 11, 18, 10, 0))
    make_member(session, None, "局长", role=Role.LEADER, wecom="boss")


def rows(engine, kind):
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind)).all())


async def test_leaders_summary_for_30_branches_arrives_whole_in_parts_within_2048_bytes(
        runtime, clock, engine, fake, sender):
    seed(engine, big_bureau)
    clock.set(local(2026, 11, 23, 8, 59))
    ticker = Ticker(engine, runtime.settings, clock, runtime.rules, calendar=HolidayCalendar())
    ticker.last = clock.now()
    clock.set(local(2026, 11, 23, 9, 0))
    ticker.tick()
    [summary] = rows(engine, "summary")
    assert summary.target_kind == "user" and summary.target == "boss"
    whole = f"**党建周报**\n{summary.payload['text']}"
    assert len(whole.encode()) > 2048  # the case the issue is about

    worker = OutboxWorker(engine, clock, {"wecom": sender})
    await worker.drain()

    [row] = rows(engine, "summary")
    assert row.status == "sent", row.last_error
    sends = fake.calls("message/send")
    contents = [s.body["markdown"]["content"] for s in sends]
    assert all(s.body["msgtype"] == "markdown" and s.body["touser"] == "boss" for s in sends)
    assert all(len(c.encode()) <= 2048 for c in contents)
    assert joined(contents) == whole


async def test_a_retry_after_part_two_fails_sends_only_what_is_left(engine, clock, fake,
                                                                   sender):
    from storage import outbox

    text = "\n".join(f"第{i}条 学习心得：坚持读原著、学原文、悟原理。" for i in range(150))
    with Session(engine) as session:
        outbox.enqueue(session, platform="wecom", target_kind="user", target="boss",
                       payload={"text": text, "markdown": False}, now=clock.now())
        session.commit()
    parts = split_to_bytes(text, 2048)
    fake.fail("message/send", "45009", after=1)  # part 1 goes, part 2 meets the limit
    worker = OutboxWorker(engine, clock, {"wecom": sender})
    await worker.drain()
    [row] = rows(engine, "message")
    assert row.status == "pending" and row.payload["parts_sent"] == 1

    clock.advance(timedelta(minutes=2))
    await worker.drain()
    [row] = rows(engine, "message")
    assert row.status == "sent"
    delivered = [s.body["text"]["content"] for s in fake.calls("message/send")]
    assert delivered[0] == parts[0] and delivered[1] == parts[1]  # refused, then sent again
    assert delivered[2:] == parts[1:]
    assert delivered.count(parts[0]) == 1  # part 1 never repeated


async def test_group_webhook_markdown_over_4096_bytes_goes_in_parts(engine, clock, fake, sender):
    from storage import outbox

    def build(session):
        branch = make_branch(session, "一支部")
        session.add(PushChannel(platform="wecom", branch_id=branch.id, url="key-1",
                                is_leaders=False, set_at=clock.now()))
        return branch.id
    branch_id = seed(engine, build)
    text = "\n".join(f"- 党员{i:03d} 本周学习 {i % 7} 次，积分 {i}" for i in range(400))
    with Session(engine) as session:
        outbox.enqueue(session, platform="wecom", target_kind="group", target=str(branch_id),
                       branch_id=branch_id, payload={"text": text, "markdown": True,
                                                     "mentions": ["zhangsan"]},
                       now=clock.now())
        session.commit()
    await OutboxWorker(engine, clock, {"wecom": sender}).drain()
    contents = [s.body["markdown"]["content"] for s in fake.calls("webhook/send")]
    assert len(contents) > 1 and all(len(c.encode()) <= 4096 for c in contents)
    assert contents[-1].endswith("\n<@zhangsan>")  # the @ once, with the last part
    assert joined([contents[0], *contents[1:-1], contents[-1].removesuffix("\n<@zhangsan>")]) \
        == text


async def test_a_group_webhook_is_sent_no_more_than_20_messages_a_minute_counting_parts(
        engine, clock, fake, sender):
    """The outbox counted group rows, not the webhook messages they take: ten reminders of
    three parts each went as 30 messages in a minute, and WeCom refused the 21st (45009,
    path/91770: 20 a minute per robot), holding the group's backlog up a minute more. The
    parts are counted now, as for a member (docs/wecom.md, "webhook rate")."""
    from storage import outbox

    def build(session):
        branch = make_branch(session, "一支部")
        session.add(PushChannel(platform="wecom", branch_id=branch.id, url="key-1",
                                is_leaders=False, set_at=clock.now()))
        return branch.id
    branch_id = seed(engine, build)
    text = "\n".join(f"第{i}条 本周学习提醒：请按时完成学习任务。" for i in range(90))
    assert len(split_to_bytes(text, 2048)) == 3
    with Session(engine) as session:
        for n in range(10):
            outbox.enqueue(session, platform="wecom", target_kind="group",
                           target=str(branch_id), branch_id=branch_id,
                           payload={"text": f"#{n}\n{text}", "markdown": False},
                           now=clock.now(), kind="reminder.group", dedupe_key=f"k{n}")
        session.commit()
    await OutboxWorker(engine, clock, {"wecom": sender}).drain()  # the clock stands still
    calls = fake.calls("webhook/send")
    assert 0 < len(calls) <= 20
    assert not [row.last_error for row in rows(engine, "reminder.group")
                if row.last_error and "45009" in row.last_error]
