"""The outbound client and Sender against the fake WeCom: tokens, errcodes, byte limits."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.adapters.wecom.client import WecomApiError, WecomClient
from bot.adapters.wecom.senders import (
    WecomSender,
    render_group,
)
from bot.domain.push import wecom_webhook_key as webhook_key
from bot.config import WecomSettings
from bot.sender import Outbound
from storage.models import PushChannel
from tests import fake_wecom as fw
from tests.factories import T0, make_branch, seed


@pytest.fixture
def fake():
    server = fw.FakeWecom().start()
    yield server
    server.stop()


@pytest.fixture
def wecom(fake) -> WecomSettings:
    return WecomSettings(enabled=True, corp_id=fw.CORP_ID, app_secret=fw.APP_SECRET,
                         agent_id="1000002", api_base=fake.base_url)


@pytest.fixture
async def client(wecom, clock):
    client = WecomClient(wecom, clock, backoff_seconds=0)
    yield client
    await client.aclose()


# --- pure: rendering ----------------------------------------------------------------------


def test_render_group_text_mentions_and_markdown():
    [text] = render_group({"text": "今晚夜学", "mentions": ["zhangsan"]})
    assert text == {"msgtype": "text",
                    "text": {"content": "今晚夜学", "mentioned_list": ["zhangsan"]}}
    md = render_group({"text": "x" * 5000, "markdown": True, "mentions": ["lisi"]})
    assert len(md) == 2 and md[-1]["markdown"]["content"].endswith("\n<@lisi>")
    assert all(len(m["markdown"]["content"].encode()) <= 4096 for m in md)
    png = base64.b64encode(b"\x89PNG fake chart").decode()
    [image] = render_group({"text": "", "image_base64": png})
    assert image == {"msgtype": "image", "image": {
        "base64": png, "md5": hashlib.md5(b"\x89PNG fake chart").hexdigest()}}


def test_webhook_key_from_url_or_bare_key():
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0"
    assert webhook_key(url) == "693a91f6-7xxx-4bc4-97a0"
    assert webhook_key("693a91f6-7xxx") == "693a91f6-7xxx"
    assert webhook_key("https://example.com/no-key") is None
    assert webhook_key("not a key!") is None


# --- the client against the fake ----------------------------------------------------------


async def test_token_is_cached_until_shortly_before_expiry(client, fake, clock):
    await client.send_app_message("zhangsan", "text", {"content": "a"})
    await client.send_app_message("zhangsan", "text", {"content": "b"})
    assert fake.tokens_issued == 1
    clock.advance(timedelta(seconds=7200 - 200))  # inside the 5-minute margin
    await client.send_app_message("zhangsan", "text", {"content": "c"})
    assert fake.tokens_issued == 2
    sent = fake.calls("message/send")[-1].body
    assert sent["agentid"] == 1000002 and sent["enable_duplicate_check"] == 1
    assert sent["touser"] == "zhangsan" and sent["text"] == {"content": "c"}


async def test_expired_token_is_refetched_once(client, fake):
    await client.send_app_message("zhangsan", "text", {"content": "a"})
    fake.fail("message/send", "expired")  # WeCom invalidated the token early
    await client.send_app_message("zhangsan", "text", {"content": "b"})
    assert fake.tokens_issued == 2
    assert len(fake.calls("message/send")) == 3  # ok, 42001, ok after the new token


async def test_the_dashboards_sign_in_gets_a_new_token_when_wecom_ends_one_early(client, fake):
    """The 网页授权 look-up sent its cached token as it was: once WeCom ended it early (42001)
    every WeCom sign-in to the dashboard was refused until the token's two hours were up."""
    assert await client.user_id_from_code("code-zhangsan") == "zhangsan"
    fake.expire_tokens()
    assert await client.user_id_from_code("code-lisi") == "lisi"
    assert fake.tokens_issued == 2


async def test_a_4xx_from_a_proxy_between_is_not_taken_for_delivered(wecom, clock):
    """A forward proxy or gateway refusing the call (403 with a JSON body of its own, no
    errcode) was read as errcode 0: the outbox row marked sent, the group told nothing."""
    import httpx

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": "forbidden by proxy policy"})

    client = WecomClient(wecom, clock, http=httpx.AsyncClient(
        transport=httpx.MockTransport(refuse)))
    try:
        with pytest.raises(WecomApiError) as caught:
            await client.webhook_send("key-1", {"msgtype": "text", "text": {"content": "x"}})
        assert "HTTP 403" in str(caught.value) and not caught.value.retryable
    finally:
        await client.aclose()


async def test_system_busy_is_retried_then_succeeds(client, fake):
    fake.fail("message/send", "-1", times=2)
    await client.send_app_message("zhangsan", "text", {"content": "a"})
    assert len(fake.calls("message/send")) == 3


async def test_rate_limit_is_retryable_with_a_wait(client, fake):
    fake.fail("message/send", "45009")
    with pytest.raises(WecomApiError) as caught:
        await client.send_app_message("zhangsan", "text", {"content": "a"})
    assert caught.value.retryable and caught.value.retry_after == 60


async def test_60020_explains_trusted_ip(client, fake):
    fake.fail("gettoken", "60020")
    with pytest.raises(WecomApiError) as caught:
        await client.access_token()
    assert caught.value.errcode == 60020 and not caught.value.retryable
    assert "企业可信IP" in str(caught.value)


async def test_http_500_and_slow_are_retryable(wecom, clock, fake):
    import httpx

    client = WecomClient(wecom, clock, http=httpx.AsyncClient(timeout=0.3), backoff_seconds=0)
    try:
        fake.fail("webhook/send", "500")
        with pytest.raises(WecomApiError) as caught:
            await client.webhook_send("k", {"msgtype": "text", "text": {"content": "x"}})
        assert caught.value.retryable
        fake.slow_seconds = 1.0
        fake.fail("webhook/send", "slow")
        with pytest.raises(WecomApiError) as caught:
            await client.webhook_send("k", {"msgtype": "text", "text": {"content": "x"}})
        assert caught.value.retryable and "timeout" in str(caught.value)
    finally:
        await client.aclose()


# --- the Sender ---------------------------------------------------------------------------


def _outbound(kind: str, target: str, branch_id: int | None, **payload) -> Outbound:
    return Outbound(id=1, platform="wecom", target_kind=kind, target=target,
                    branch_id=branch_id, kind="reminder.group",
                    payload={"text": "今晚 19:30 夜学，请准时签到", **payload})


async def test_sender_uses_the_branch_webhook_and_the_app(client, fake, engine):
    def setup(session: Session):
        branch = make_branch(session, "一支部")
        session.add(PushChannel(platform="wecom", branch_id=branch.id, url="key-one",
                                set_at=T0))
        return branch.id

    branch_id = seed(engine, setup)
    sender = WecomSender(client, engine)
    result = await sender.send(_outbound("group", str(branch_id), branch_id,
                                         mentions=["zhangsan"]))
    assert result.ok
    [call] = fake.calls("webhook/send")
    assert call.params == {"key": "key-one"}
    assert call.body["text"]["mentioned_list"] == ["zhangsan"]

    result = await sender.send(_outbound("user", "lisi", None))
    assert result.ok
    assert fake.calls("message/send")[-1].body["touser"] == "lisi"


async def test_sender_reports_failures_without_raising(client, fake, engine):
    branch_id = seed(engine, lambda s: make_branch(s, "二支部").id)
    sender = WecomSender(client, engine)
    missing = await sender.send(_outbound("group", str(branch_id), branch_id))
    assert not missing.ok and not missing.retryable and "设置 推送" in missing.error
    fake.fail("message/send", "45009")
    limited = await sender.send(_outbound("user", "lisi", None))
    assert not limited.ok and limited.retryable and limited.retry_after == 60


# --- djbot doctor wecom -------------------------------------------------------------------


def test_doctor_names_missing_settings_and_explains_60020(fake):
    from bot.adapters.wecom import doctor
    from bot.config import Settings

    partial = Settings(_env_file=None, wecom=WecomSettings(enabled=True, aibot_token="t"))
    lines = doctor.run(partial)
    assert (False, "智能机器人回调 /wecom/aibot：缺少 DJBOT_WECOM__AIBOT_AES_KEY") in lines

    full = Settings(_env_file=None, wecom=WecomSettings(
        enabled=True, corp_id=fw.CORP_ID, aibot_token="t", aibot_aes_key=fw.AIBOT_AES_KEY,
        agent_id="1000002", app_secret=fw.APP_SECRET, api_base=fake.base_url))
    assert all(ok for ok, _ in doctor.run(full))
    fake.fail("gettoken", "60020")
    ok, line = doctor.run(full)[-1]
    assert not ok and "60020" in line and "企业可信IP" in line
    assert fw.APP_SECRET not in line


async def test_no_more_than_30_app_messages_a_minute_reach_one_member(engine, clock, fake,
                                                                       client):
    """The outbox counted rows against WeCom's 30 a minute to one member, and a long row
    goes in two message/sends: 60 went in a minute, and WeCom drops the excess without a
    word (path/90454). The parts are counted now; the rest go the next minute."""
    from bot.adapters.wecom.senders import WecomSender
    from bot.outbox import OutboxWorker
    from storage import outbox

    text = "\n".join(f"第{i}条 请假申请待审批：党员张三，事由：出差。" for i in range(40))
    assert len(text.encode()) > 2048  # two parts each
    with Session(engine) as session:
        for n in range(20):
            outbox.enqueue(session, platform="wecom", target_kind="user", target="sec",
                           payload={"text": f"#{n}\n{text}", "markdown": False},
                           now=clock.now(), kind="leave.request", dedupe_key=f"k{n}")
        session.commit()
    worker = OutboxWorker(engine, clock, {"wecom": WecomSender(client, engine)})
    await worker.drain()  # the clock stands still: one minute
    assert len(fake.calls("message/send")) == 30
    clock.advance(seconds=61)
    await worker.drain()
    assert len(fake.calls("message/send")) == 40  # every part of every row, in two minutes


async def test_a_members_messages_keep_their_order_under_the_rate(engine, clock, fake, client):
    """Counting parts, a long row that would pass the 30 was left for the next minute and a
    shorter one queued after it went first: a 书记 read the later message first."""
    from bot.adapters.wecom.senders import WecomSender
    from bot.outbox import OutboxWorker
    from storage import outbox

    long = "\n".join(f"第{i}条 请假申请待审批：党员张三，事由：出差。" for i in range(40))
    with Session(engine) as session:
        texts = [f"#{n}\n{long}" for n in range(14)]  # 28 message/sends
        texts += [f"#LONG\n{long}\n{long}", "#SHORT 之后的一条"]  # 3, then 1
        for n, text in enumerate(texts):
            outbox.enqueue(session, platform="wecom", target_kind="user", target="sec",
                           payload={"text": text, "markdown": False}, now=clock.now(),
                           kind="leave.request", dedupe_key=f"k{n}")
        session.commit()
    worker = OutboxWorker(engine, clock, {"wecom": WecomSender(client, engine)})
    await worker.drain()
    assert len(fake.calls("message/send")) == 28
    clock.advance(seconds=61)
    await worker.drain()
    sent = [call.body["text"]["content"] for call in fake.calls("message/send")]
    order = [tag for text in sent[28:] for tag in ("#LONG", "#SHORT") if tag in text]
    assert order == ["#LONG", "#SHORT"], sent[28:]



async def test_the_rest_of_an_answer_goes_by_the_webhook_when_response_url_cannot_be_reached(
        wecom, clock, engine):
    """A connection to WeCom that timed out before it was made sent nothing, as a refused
    connection does; it was taken for a request that may have been shown, and the rest of
    a long answer was left dead for an operator instead of going by the group's webhook."""
    import httpx
    from sqlmodel import select

    from bot.adapters.wecom.senders import RESPONSE_URL, RESPONSE_URL_KEY
    from storage import outbox
    from storage.models import OutboxMessage

    webhook = []

    def wecom_api(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/aibot/response"):
            raise httpx.ConnectTimeout("connect timed out", request=request)
        webhook.append(request.read().decode())
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    def build(session):
        branch = make_branch(session, "一支部")
        session.add(PushChannel(platform="wecom", branch_id=branch.id, url="key-1",
                                is_leaders=False, set_at=T0))
        return branch.id
    branch_id = seed(engine, build)
    with Session(engine) as session:
        outbox.enqueue(session, platform="wecom", target_kind="group", target="grp-1",
                       branch_id=branch_id, kind=RESPONSE_URL, now=clock.now(), payload={
                           "text": "（2/2）\n其余未签到：李四、王五", "markdown": True,
                           RESPONSE_URL_KEY: f"{wecom.api_base}/cgi-bin/aibot/response?x=1"})
        session.commit()
        row = session.exec(select(OutboxMessage)).one()
    client = WecomClient(wecom, clock, http=httpx.AsyncClient(
        transport=httpx.MockTransport(wecom_api)))
    try:
        result = await WecomSender(client, engine).send(Outbound(
            id=row.id, platform="wecom", target_kind="group", target="grp-1",
            branch_id=branch_id, kind=RESPONSE_URL, payload=dict(row.payload)))
    finally:
        await client.aclose()
    assert result.ok, result
    assert len(webhook) == 1 and "王五" in webhook[0]


async def test_a_call_refused_as_too_many_at_once_is_sent_later_not_given_up(
        engine, clock, fake, client):
    """errcode 45033 (接口并发调用超过限制: too many calls of one API at the same moment)
    was taken for a message WeCom would never take: a leave request to the 书记 was given
    up at its first try and never reached them. It waits and goes, as after 45009."""
    from sqlmodel import select

    from bot.outbox import OutboxWorker
    from storage import outbox
    from storage.models import OutboxMessage

    with Session(engine) as session:
        outbox.enqueue(session, platform="wecom", target_kind="user", target="sec",
                       payload={"text": "请假申请待审批：党员张三，事由：出差。", "markdown": False},
                       now=clock.now(), kind="leave.request", dedupe_key="leave-1")
        session.commit()
    fake.fail("message/send", "45033")
    worker = OutboxWorker(engine, clock, {"wecom": WecomSender(client, engine)})
    await worker.drain()
    with Session(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert row.status == "pending", (row.status, row.last_error)
    clock.advance(seconds=61)
    await worker.drain()
    with Session(engine) as session:
        assert session.exec(select(OutboxMessage)).one().status == "sent"
    delivered = fake.calls("message/send")[-1].body
    assert delivered["touser"] == "sec" and "张三" in delivered["text"]["content"]
