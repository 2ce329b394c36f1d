"""The local chat console: speak as a platform user in a chat, through the same core."""

from __future__ import annotations

import uuid

from bot.core import IncomingMessage, Reply
from bot.runtime import Runtime


def console_message(
    runtime: Runtime, *, platform: str, user: str, chat: str | None, text: str, private: bool
) -> IncomingMessage:
    return IncomingMessage(
        platform=platform,
        chat_id=user if private or not chat else chat,
        sender_id=user,
        text=text,
        message_id=f"console-{uuid.uuid4().hex}",
        at=runtime.clock.now(),
        is_private=private or not chat,
    )


def render(reply: Reply) -> str:
    mentions = "".join(f"@{m} " for m in reply.mentions)
    return f"{mentions}{reply.text}"


def say(runtime: Runtime, *, platform: str, user: str, chat: str | None, text: str,
        private: bool = False) -> Reply:
    message = console_message(
        runtime, platform=platform, user=user, chat=chat, text=text, private=private
    )
    return runtime.dispatcher.handle_sync(message)


# One ticker per console runtime, so each turn only looks at what became due since the last.
_tickers: dict[int, object] = {}


SERVED = ("（这个数据库由运行中的 djbot 服务使用：提醒和推送由服务发往真实的群，"
          "控制台不代发、不标记为已发送。要在控制台看提醒，请用一份数据库副本。）")
_warned: set[int] = set()


def before_turn(runtime: Runtime) -> None:
    """Run the scheduler once, quietly, before a message is answered: what fell due since
    the console last ran (absences confirmed, an activity opened) is there to answer from,
    as the service would have done it. What it queued is printed after the reply."""
    _tick(runtime)


def _tick(runtime: Runtime) -> bool:
    """One scheduler run; False on a service's database (whose scheduler is the service's)."""
    from sqlmodel import Session

    from bot.scheduling.tick import Ticker
    from storage.leases import served

    with Session(runtime.engine) as session:
        if served(session):
            return False
    ticker = _tickers.get(id(runtime))
    if ticker is None:
        ticker = _tickers[id(runtime)] = Ticker(runtime.engine, runtime.settings, runtime.clock,
                                                runtime.rules)
    ticker.tick()  # type: ignore[attr-defined]
    return True


def after_turn(runtime: Runtime) -> None:
    """Run the scheduler once and print what djbot would push on its own (reminders, boards).

    Not on a service's database: the console's senders would mark real members' reminders
    as sent, and they would never reach the groups.
    """
    import asyncio

    from bot.outbox import OutboxWorker, OutputClosed, console_senders, raise_closed

    if not _tick(runtime):
        if id(runtime) not in _warned:
            _warned.add(id(runtime))
            print(SERVED)
        return
    senders = console_senders(clock=runtime.clock, tz=runtime.settings.tz)
    try:
        asyncio.run(OutboxWorker(runtime.engine, runtime.clock, senders).drain())
    except OutputClosed as closed:  # djbot chat … | head
        raise_closed(closed)
