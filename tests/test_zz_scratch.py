from tests.conftest import local
from tests.test_figures import night_studies, run_ticks
from tests.test_leave_approval import settings  # noqa


def test_next(runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 8, 12, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 13, 0))
    clock.set(local(2026, 12, 8, 19, 25))
    print(chat.say("sec", "开始 政治夜学", chat="g1").text)
    clock.set(local(2026, 12, 8, 19, 40))
    print(chat.say("li", "请假 下次 值班", chat="g1").text)
    print(chat.say("li", "请假 下次 值班").text)
    clock.set(local(2026, 12, 8, 19, 28))
    print(chat.say("li", "请假 下次 值班").text)
    print(chat.say("li", "我的请假").text)


def test_midnight(runtime, chat, clock):
    night_studies(runtime, "每周二、周四 19:30")
    clock.set(local(2026, 12, 9, 12, 0))
    run_ticks(runtime, clock, local(2026, 12, 9, 13, 0))
    clock.set(local(2026, 12, 10, 0, 10))
    print(chat.say("li", "请假 明天 值班").text)
    print(chat.say("li", "请假 今天 值班").text)
    print(chat.say("li", "我的请假").text)
