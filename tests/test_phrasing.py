"""The phrasing table: real ways people write each command, and what djbot takes them to mean.

Each row is a message as typed (phones capitalise, keyboards switch width, people end
with 了 or ！, use Chinese commas, @ the bot anywhere, attach units, shorten branch names)
and either the command and arguments it means, or the helpful refusal it gets: what is
missing or wrong, in words, never a grammar placeholder. The rows run through the same
cleaning, matching and parsing the dispatcher uses; the rows of issue's transcript also run
end to end through the dispatcher further down.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.domain.text import clean
from bot.registry import ParseEnv
from bot.runtime import build_registry

TODAY = date(2026, 12, 3)  # a Thursday
BRANCHES = ["城关派出所党支部", "交警大队党支部", "刑侦大队党支部", "机关第一党支部", "机关第二党支部"]
REGISTRY = build_registry()
ENV = ParseEnv(today=TODAY, branches=lambda: BRANCHES)

Meaning = tuple[str, dict[str, Any]]


def understand(text: str) -> Meaning | str:
    """(command, arguments), or the refusal as the user reads it."""
    command, arg_text = REGISTRY.meant(clean(text) or "帮助", ENV)
    if command is None:
        meant = REGISTRY.suggest(clean(text))
        return f"没有这个指令；你是想发送「{meant}」吗" if meant else "没有这个指令"
    args, problem = command.parse(arg_text, ENV)
    if problem is not None:
        return problem
    return command.name, args


def m(name: str, /, **args: Any) -> Meaning:
    return name, args


D = date
# (typed, meaning) — meaning lists the arguments that matter; a str is a refusal fragment.
ROWS: list[tuple[str, Meaning | str]] = [
    # --- the transcript in the issue ---------------------------------------------------
    ("签到！", m("签到")),
    ("签到了", m("签到")),
    ("签到。", m("签到")),
    ("@党建助手签到", m("签到")),
    ("签到 @党建助手", m("签到")),
    ("Help", m("帮助", command=None)),
    ("HELP", m("帮助", command=None)),
    ("补签 周强，手机没电", m("补签", who="周强", reason="手机没电")),
    ("学习 45", "缺少学习类型（如 理论、党史、业务）"),
    ("学习 理论 45分钟 党章", m("学习", kind="理论", minutes=45, material="党章")),
    ("评价 4.5", "分数应是整数（1 到 5），收到「4.5」"),
    ("调研 城关派出所 发现问题 2", m("调研", branch="城关派出所党支部", details="发现问题 2")),
    ("暂停提醒 至 12月31日", m("暂停提醒", until=D(2026, 12, 31))),
    # The last two rows reach 设置's own handlers; their refusals are checked end to end in
    # test_push_settings_say_what_is_wrong_with_the_key below.
    ("设置 钉钉推送 城关 https://oapi.dingtalk.com/robot/send?access_token=abc SECabc",
     m("设置", text="钉钉推送 城关 https://oapi.dingtalk.com/robot/send?access_token=abc SECabc")),
    ("设置 推送 城关派出所党支部 notakey", m("设置", text="推送 城关派出所党支部 notakey")),
    # --- 签到 ---------------------------------------------------------------------------
    ("签到", m("签到")),
    ("签到!", m("签到")),
    ("签到！！", m("签到")),
    ("签到~", m("签到")),
    ("签到～", m("签到")),
    ("签到…", m("签到")),
    ("签到啦", m("签到")),
    ("签到啦！", m("签到")),
    ("签到了。", m("签到")),
    ("签到一下", m("签到")),
    ("签到一下吧", m("签到")),
    ("签到吧", m("签到")),
    ("签到哦", m("签到")),
    ("签到 了", m("签到")),
    ("签到，谢谢", m("签到")),
    ("签到谢谢", m("签到")),
    ("  签到  ", m("签到")),
    ("签到\n", m("签到")),
    ("＠党建助手　签到", m("签到")),
    ("@党建助手 签到", m("签到")),
    ("@党建助手 签到！", m("签到")),
    ("签到@党建助手", m("签到")),
    ("签到 @党建助手 ", m("签到")),
    ("@小助手 签到", m("签到")),
    ("@小助手签到", m("签到")),
    ("签到 @小助手", m("签到")),
    ("@DJBOT 签到", m("签到")),
    ("我要签到", m("签到")),
    ("我签到", m("签到")),
    ("我来签到", m("签到")),
    ("到", m("签到")),
    ("到！", m("签到")),
    ("到了", m("签到")),
    ("到了！", m("签到")),
    ("打卡", m("签到")),
    ("打卡了", m("签到")),
    ("打卡！", m("签到")),
    ("签个到", m("签到")),
    ("打个卡", m("签到")),
    ("报到", m("签到")),
    ("签到+1", m("签到")),
    ("到＋1", m("签到")),
    ("已签到", m("签到")),  # not 未签到: counted, or told they already are
    ("我没签到", m("签到")),  # a member about to check in, not the secretary's list
    ("没签到的", "你是想发送「未签到」吗"),  # holds 签到, means its opposite
    ("不签到", "你是想发送「未签到」吗"),
    ("签到了吗", m("签到")),
    ("我签到了没", m("签到")),  # asked like 签到了吗: counted, or told they already are
    ("签到成功了吗", m("签到")),
    # Asked of a command that acts for others, the same words set nothing off.
    ("结束成功", "「结束」后面不用写别的"),
    ("本人签到", m("签到")),
    ("我先签到了", m("签到")),
    # A question never sets off what acts for others (结束 ends everyone's check-in).
    ("结束了吗", "你是想发送「结束」吗"),
    ("活动结束了吗", "你是想发送「活动结束」吗"),
    ("开始了吗", "你是想发送「开始」吗"),
    ("撤销吗", "你是想发送「撤销」吗"),
    ("请假的说一下", "没有这个指令"),  # never leave with the reason 的说一下
    ("请假条", "你是想发送「请假」吗"),  # a leave note, not leave with the reason 条
    ("请假找谁", m("帮助", command="请假")),  # a question, not leave
    ("请假要找谁", m("帮助", command="请假")),  # never leave with the reason 要找谁
    ("请假条怎么写", m("帮助", command="请假")),
    ("学习怎么记", m("帮助", command="学习")),  # not 学习 with the kind 怎么记
    ("几点开始", m("日程", branch=None)),
    ("什么时候开始", m("日程", branch=None)),
    # A member asking when is answered by the agenda, never told 开始 is not theirs.
    ("夜学什么时候开始", m("日程", branch=None)),
    ("今天的党日几点开始", m("日程", branch=None)),
    ("下次党日是哪天", m("日程", branch=None)),
    ("党日几点", m("日程", branch=None)),
    ("今天有活动吗", m("日程", branch=None)),
    ("今晚有夜学吗", m("日程", branch=None)),
    ("下次党日什么时候", m("日程", branch=None)),  # 党日 is no branch
    ("下次活动是什么", m("日程", branch=None)),  # the agenda, not what the word means
    # Saying one can't come is not leave yet: 请假 with their words is suggested.
    ("我今天有事来不了", "你是想发送「请假 我今天有事来不了」吗"),
    ("明天的党日参加不了", "你是想发送「请假 明天的党日参加不了」吗"),
    # What a command is: 帮助 for it, never the command (签到是什么 checks nobody in).
    ("签到是什么", m("帮助", command="签到")),
    ("补签是什么意思", m("帮助", command="补签")),
    ("红黄蓝榜是啥", m("帮助", command="红黄蓝榜")),
    # A secretary's words: the type, then when, then the verb; who has not come.
    ("主题党日现在开始", m("开始", type="主题党日", topic=None)),
    ("夜学马上开始", m("开始", type="夜学", topic=None)),
    ("谁没来", m("未签到", branch=None)),
    ("没来的人", m("未签到", branch=None)),  # not 「请假的人」, one letter away
    ("周报发我一下", m("周报", week=None)),
    ("红黄蓝榜怎么算的", m("积分规则")),  # not 红黄蓝榜 for the period 怎么算的
    # Forgot: 签到 still counts in its window, and past it says to ask for 补签.
    ("忘记签到了", m("签到")),
    ("我忘了签到", m("签到")),
    ("已到", m("签到")),
    ("忘了请假", "缺少请假原因"),
    # How points are counted: the rules themselves.
    ("积分规则", m("积分规则")),
    ("积分怎么算的", m("积分规则")),
    ("我的积分怎么算的", m("积分规则")),
    ("怎么加分", m("积分规则")),
    ("现在开始", "缺少活动类型"),  # 现在 says when, not which activity
    ("我帮他签到", "没有这个指令"),  # nobody checks in for another
    # 补签 is done for another: the member said first, after 给, 帮 or 替.
    ("给赵磊补签 手机没电", m("补签", who="赵磊", reason="手机没电")),
    ("帮赵磊补签，手机没电", m("补签", who="赵磊", reason="手机没电")),
    ("替欧阳建国补签 在外执勤", m("补签", who="欧阳建国", reason="在外执勤")),
    ("我给赵磊补签 手机没电", m("补签", who="赵磊", reason="手机没电")),
    ("给赵磊补签一下 手机没电", m("补签", who="赵磊", reason="手机没电")),
    ("给赵磊补签", "缺少补签原因"),
    ("帮忙补签", "你是想发送「补签」吗"),  # 忙 is nobody's name
    ("给赵磊签到", "没有这个指令"),  # 签到 is one's own
    ("/签到", m("签到")),
    ("#签到", m("签到")),
    ("＃签到", m("签到")),
    ("# 签到！", m("签到")),
    ("【签到】", m("签到")),
    ("[签到]", m("签到")),
    ("「签到」", m("签到")),
    ("@党建助手 /签到", m("签到")),
    ("签到 现在", "「签到」后面不用写别的，收到了「现在」"),
    ("签道", "你是想发送「签到」吗"),
    ("签导", "你是想发送「签到」吗"),
    # Emoji and the apps' bracketed emoticons around a command are decoration.
    ("签到👍", m("签到")),
    ("👍签到", m("签到")),
    ("签到 ✅", m("签到")),
    ("签到✌️", m("签到")),
    ("签到[强]", m("签到")),
    ("👍", "没有这个指令"),  # nothing but decoration: no command, no 帮助 menu
    ("qd", m("签到")),  # the letters typed for 签到 in a hurry
    ("QD", m("签到")),
    ("簽到", m("签到")),  # traditional input: the command word folded, not 报到 suggested
    ("請假 值班", m("请假", reason="值班")),
    ("補簽 張三 手機沒電", m("补签", who="張三", reason="手機沒電")),  # the name as written
    ("签到打卡", m("签到")),  # two words for the one command
    ("打卡签到", m("签到")),
    ("到到到", m("签到")),
    ("签到 我来了", "「签到」后面不用写别的"),  # apart, the second word is extra
    # --- 请假 ---------------------------------------------------------------------------
    # The activity said before the word is the one the leave is for (ask_leave reads it);
    # a name said there is no reason to record leave for whoever sent it.
    ("夜学请假 值班", m("请假", reason="夜学 值班")),
    ("主题党日的请假 出差", m("请假", reason="主题党日 出差")),
    ("今晚夜学请假 值班", m("请假", reason="今晚 夜学 值班")),
    ("张三请假 值班", "没有这个指令"),
    # The word said twice is no reason.
    ("请假请假", "缺少请假原因"),
    ("请假 请假了", "缺少请假原因"),
    ("请假 请假条", m("请假", reason="请假条")),
    ("请假 值班", m("请假", reason="值班")),
    ("请假 在岗值班。", m("请假", reason="在岗值班")),
    ("请假，值班", m("请假", reason="值班")),
    ("请假：值班", m("请假", reason="值班")),
    ("请假 家里有事，明天补学", m("请假", reason="家里有事，明天补学")),
    ("请假家里有事", m("请假", reason="家里有事")),
    ("请假 出差 去省厅开会", m("请假", reason="出差 去省厅开会")),
    ("请假一下 值班", m("请假", reason="值班")),
    ("请假 发烧了", m("请假", reason="发烧了")),
    ("我要请假 值班", m("请假", reason="值班")),
    ("请假: 值班", m("请假", reason="值班")),  # the colon typed with the word
    ("申请请假 值班", m("请假", reason="值班")),
    ("想请个假 值班", m("请假", reason="值班")),
    ("@党建助手 请假 值班", m("请假", reason="值班")),
    ("请假 值班 @党建助手", m("请假", reason="值班")),
    ("销假", m("销假")),
    ("看看积分", m("积分")),
    ("帮我查下日程", m("日程", branch=None)),
    ("我有多少积分", m("积分")),
    # 看到了, 查到了 (seen, found: what a group says to a notice) are no check-in.
    ("看到了", "没有这个指令"),
    ("我看到了", "没有这个指令"),
    ("查到了", "没有这个指令"),
    ("我到了", m("签到")),
    ("我收到了", "没有这个指令"),  # read as 签到 before: 收到, not 到
    ("我已经签到了", m("签到")),
    ("积分查询", m("积分")),
    ("我多少分", m("积分")),
    ("我排第几", m("积分")),  # 积分 says the month's rank
    ("本周积分", m("积分")),  # 积分 shows the week, the month and the year
    ("支部排名", m("红黄蓝榜", period=None)),
    ("各支部排名", m("红黄蓝榜", period=None)),
    ("本月红黄蓝榜", m("红黄蓝榜", period="本月")),
    ("上周周报", m("周报", week="上周")),
    ("本周周报", m("周报", week="本周")),
    ("这周周报", m("周报", week="本周")),  # 这周 is 本周
    ("上周的周报", m("周报", week="上周")),
    ("排行榜 这个月", m("排行榜", period="本月")),
    ("上周排行榜", "时间只能是 本周、本月、本年，收到「上周」"),  # told, not shown this week's
    ("三会一课情况", m("三会一课", branch=None)),
    ("日程安排", m("日程", branch=None)),
    ("下次活动什么时候", m("日程", branch=None)),
    ("什么时候开会", m("日程", branch=None)),
    ("功能", m("帮助", command=None)),
    ("你能做什么", m("帮助", command=None)),
    ("签到 主题党日", m("签到")),  # the activity under way, named
    ("签到 夜学", m("签到")),
    ("签到 张三", "「签到」后面不用写别的"),  # nobody checks in for another
    ("查一下积分", m("积分")),
    ("积分多少", m("积分")),
    ("积分是多少", m("积分")),
    ("查看未签到", m("未签到", branch=None)),
    ("撤销请假", m("销假")),
    ("取消请假！", m("销假")),
    ("我要销假", m("销假")),
    ("销假 明天", "「销假」后面不用写别的"),
    ("【请假】家里有事", m("请假", reason="家里有事")),
    ("请个假 值班", m("请假", reason="值班")),
    ("请个假值班", m("请假", reason="值班")),
    ("销个假", m("销假")),
    ("请假取消", m("销假")),  # leave taken back, never leave with the reason 取消
    ("请假撤回了", m("销假")),
    # A day said first goes with the reason, where 请假 reads it (tests/test_leave_days.py).
    ("今天请假", m("请假", reason="今天")),  # not 取消请假; the handler asks why
    ("明天请假 出差", m("请假", reason="明天 出差")),
    ("明天 请假 出差", m("请假", reason="明天 出差")),
    ("我明天请假 出差", m("请假", reason="明天 出差")),
    ("12月10日请假 出差", m("请假", reason="12月10日 出差")),
    ("下周二请假 培训", m("请假", reason="下周二 培训")),
    ("今天签到", m("签到")),  # a command that takes nothing drops the day
    ("我不请假了", m("销假")),
    ("不请假了", m("销假")),
    ("查看积分", m("积分")),
    ("／请假 值班", m("请假", reason="值班")),
    ("请假", "缺少请假原因"),
    ("请假！", "缺少请假原因"),
    ("请假了", "缺少请假原因"),
    ("请假了吗", "缺少请假原因"),  # a question, not a reason
    ("请假流程", m("帮助", command="请假")),  # not leave with the reason 流程
    ("请假 格式", m("帮助", command="请假")),
    ("请加 值班", "你是想发送「请假」吗"),
    # --- 补签 / 批准请假 / 驳回请假 -------------------------------------------------------------
    ("补签 张三 手机没电", m("补签", who="张三", reason="手机没电")),
    ("补签 张三，手机没电", m("补签", who="张三", reason="手机没电")),
    ("补签 张三、手机没电", m("补签", who="张三", reason="手机没电")),
    ("补签 张三,手机没电", m("补签", who="张三", reason="手机没电")),
    ("补签 张三 手机没电了", m("补签", who="张三", reason="手机没电了")),
    ("补签 @张三 手机没电", m("补签", who="@张三", reason="手机没电")),
    ("补签 A0031 在现场执勤", m("补签", who="A0031", reason="在现场执勤")),
    ("补签 张三 手机没电，已核实", m("补签", who="张三", reason="手机没电，已核实")),
    ("补签 周强 手机没电。", m("补签", who="周强", reason="手机没电")),
    ("补签", "缺少姓名（姓名、@某人或编号）"),
    ("补签 张三", "缺少补签原因"),
    ("补签 张三，", "缺少补签原因"),
    # The day a record is of stays at the head of the reason, for 补签 to read (昨天's).
    ("补签 张三 昨天 手机没电", m("补签", who="张三", reason="昨天 手机没电")),
    ("补签 张三 前天的夜学 手机没电", m("补签", who="张三", reason="前天的夜学 手机没电")),
    ("批准请假 张三", m("批准请假", who="张三")),
    ("批准请假 张三。", m("批准请假", who="张三")),
    ("批准请假 @张三", m("批准请假", who="@张三")),
    ("批准请假张三", m("批准请假", who="张三")),
    ("批准请假", "缺少姓名（姓名、@某人或编号）"),
    ("驳回请假 李四", m("驳回请假", who="李四")),
    ("驳回请假 李四！", m("驳回请假", who="李四")),
    ("驳回请假", "缺少姓名"),
    ("驳回请假 李四 王五", "多余的内容「王五」"),
    # 批准 and 驳回 alone: leave is all a secretary approves or turns down by name.
    ("批准 张三", m("批准请假", who="张三")),
    ("批准张三", m("批准请假", who="张三")),
    ("批准张三请假", m("批准请假", who="张三")),  # not 批准 with the name 张三请假
    ("驳回 李四", m("驳回请假", who="李四")),
    ("驳回李四请假", m("驳回请假", who="李四")),
    # --- 更正 (a check-in that should not stand) ---------------------------------------------
    ("更正 张三 缺席 没有参加，代签", m("更正", who="张三", status="缺席", reason="没有参加，代签")),
    ("更正 张三，缺席，他人代签", m("更正", who="张三", status="缺席", reason="他人代签")),
    ("更正 @张三 缺席 代签", m("更正", who="@张三", status="缺席", reason="代签")),
    ("更正 A0031 请假 临时出警", m("更正", who="A0031", status="请假", reason="临时出警")),
    ("更正张三 缺席 代签", m("更正", who="张三", status="缺席", reason="代签")),
    ("更正 张三 改为缺席 补签错人", m("更正", who="张三", status="改为缺席", reason="补签错人")),
    ("更正签到 张三 缺席 补签错人", m("更正", who="张三", status="缺席", reason="补签错人")),
    ("更正考勤 张三 请假 出差", m("更正", who="张三", status="请假", reason="出差")),
    ("修改签到 张三 缺席 没有来", m("更正", who="张三", status="缺席", reason="没有来")),
    ("更正", "缺少姓名（姓名、@某人或编号）"),
    ("更正 张三", "缺少更正结果（缺席或请假）"),
    ("更正 张三 缺席", "缺少更正原因"),
    ("更正 张三，缺席，", "缺少更正原因"),
    # --- 开始 / 结束 / 确认缺席 / 未签到 / 活动 ------------------------------------------------
    ("开始 主题党日", m("开始", type="主题党日", topic=None)),
    # The activity said first, as secretaries announce it.
    ("主题党日开始", m("开始", type="主题党日", topic=None)),
    ("主题党日开始 学习新党章", m("开始", type="主题党日", topic="学习新党章")),
    ("夜学开始了", m("开始", type="夜学", topic=None)),
    ("今晚夜学开始", m("开始", type="夜学", topic=None)),  # the day is no part of the type
    ("我要开始 夜学", m("开始", type="夜学", topic=None)),
    ("夜学结束", m("结束")),
    ("主题党日结束了", m("结束")),
    # A command word said around what it acts on.
    ("同意张三请假", m("批准请假", who="张三")),  # never leave with the reason 同意张三
    ("批准张三的请假", m("批准请假", who="张三")),
    ("驳回张三的请假", m("驳回请假", who="张三")),
    ("不同意张三请假", m("驳回请假", who="张三")),
    ("删除夜学日程", m("删除日程", type="夜学", group=None)),
    # The figures of the activity under way, as secretaries and leaders ask for them.
    ("签到情况", m("活动", branch=None)),
    ("签到人数", m("活动", branch=None)),
    ("出勤情况", m("活动", branch=None)),
    ("开始 主题党日 学习新党章", m("开始", type="主题党日", topic="学习新党章")),
    ("开始 主题党日，学习新党章", m("开始", type="主题党日", topic="学习新党章")),
    ("开始 夜学", m("开始", type="夜学", topic=None)),
    ("开始 夜学 二十届三中全会精神", m("开始", type="夜学", topic="二十届三中全会精神")),
    ("开始 党课 新时代的使命 主讲 王建国", m("开始", type="党课", topic="新时代的使命 主讲 王建国")),
    ("开始 党小组会 第一党小组 学习新党章", m("开始", type="党小组会", topic="第一党小组 学习新党章")),
    ("开始主题党日", m("开始", type="主题党日", topic=None)),
    ("开始 主题党日！", m("开始", type="主题党日", topic=None)),
    ("开始", "缺少活动类型（如 主题党日、夜学、党员大会）"),
    ("开始了", "缺少活动类型"),
    ("结束", m("结束")),
    ("结束！", m("结束")),
    ("结束了", m("结束")),
    ("结束啦", m("结束")),
    ("结束 现在", "「结束」后面不用写别的"),
    ("确认缺席", m("确认缺席")),
    ("确认缺席。", m("确认缺席")),
    ("确认缺席 全部", "「确认缺席」后面不用写别的"),
    ("未签到", m("未签到", branch=None)),
    ("未签到？", m("未签到", branch=None)),
    ("未签到 城关派出所党支部", m("未签到", branch="城关派出所党支部")),
    ("未签到 城关派出所", m("未签到", branch="城关派出所党支部")),
    ("未签到 城关", m("未签到", branch="城关派出所党支部")),
    ("未签到 交警", m("未签到", branch="交警大队党支部")),
    ("未签到 交警大队", m("未签到", branch="交警大队党支部")),
    ("未签到 刑侦", m("未签到", branch="刑侦大队党支部")),
    ("未签到 刑侦大队支部", m("未签到", branch="刑侦大队党支部")),
    ("未签到 机关第一", m("未签到", branch="机关第一党支部")),
    ("未签到 第一", m("未签到", branch="机关第一党支部")),
    ("未签到 机关", "「机关」可以指机关第一党支部、机关第二党支部，请写全称"),
    ("未签到 大队", "可以指交警大队党支部、刑侦大队党支部"),
    ("未签到 城官派出所", "你是想写「城关派出所党支部」吗"),
    ("未签到 张三", "没有找到支部「张三」。现有支部：城关派出所党支部"),
    ("活动", m("活动")),
    ("活动？", m("活动")),
    ("活动 全部", "没有找到支部「全部」"),
    ("活动 城关", m("活动", branch="城关派出所党支部")),
    ("活动 交警大队", m("活动", branch="交警大队党支部")),
    # --- 评价 ---------------------------------------------------------------------------
    ("评价 5", m("评价", score=5, comment=None)),
    ("评价 5 形式新颖", m("评价", score=5, comment="形式新颖")),
    ("评价 5，形式新颖", m("评价", score=5, comment="形式新颖")),
    ("评价 5分", m("评价", score=5, comment=None)),
    ("评价 5分 很有收获", m("评价", score=5, comment="很有收获")),
    ("评价 4星", m("评价", score=4, comment=None)),
    ("评价 4颗星", m("评价", score=4, comment=None)),
    ("评价 五星", m("评价", score=5, comment=None)),
    ("评价 五星 很好", m("评价", score=5, comment="很好")),
    ("评价 5 分 很好", m("评价", score=5, comment="很好")),  # not the comment 分 很好
    ("评价 三", m("评价", score=3, comment=None)),
    ("评价 ５", m("评价", score=5, comment=None)),
    ("评价５", m("评价", score=5, comment=None)),
    ("评价5分", m("评价", score=5, comment=None)),
    ("评价 5！", m("评价", score=5, comment=None)),
    ("评价 4.5分", "分数应是整数（1 到 5），收到「4.5分」"),
    ("评价 6 很好", "分数不能大于 5"),
    ("评价 0", "分数不能小于 1"),
    ("评价 好", "分数应是数字（1 到 5），收到「好」"),
    ("评价", "缺少分数"),
    # --- 学习 ---------------------------------------------------------------------------
    ("学习 理论 45", m("学习", kind="理论", minutes=45, material=None)),
    ("学习 理论 45 党章", m("学习", kind="理论", minutes=45, material="党章")),
    ("学习 理论 45分钟", m("学习", kind="理论", minutes=45, material=None)),
    ("学习 理论 45分", m("学习", kind="理论", minutes=45, material=None)),
    ("学习 理论 45min", m("学习", kind="理论", minutes=45, material=None)),
    ("学习 理论 45MIN", m("学习", kind="理论", minutes=45, material=None)),
    ("学习 理论 1小时", m("学习", kind="理论", minutes=60, material=None)),
    ("学习 理论 1个小时", m("学习", kind="理论", minutes=60, material=None)),
    ("学习 理论 1.5小时", m("学习", kind="理论", minutes=90, material=None)),
    ("学习 理论 1.5h", m("学习", kind="理论", minutes=90, material=None)),
    ("学习 理论 2h", m("学习", kind="理论", minutes=120, material=None)),
    ("学习 理论 1小时30分钟", m("学习", kind="理论", minutes=90, material=None)),
    ("学习 理论 1小时30分", m("学习", kind="理论", minutes=90, material=None)),
    ("学习 理论 半小时", m("学习", kind="理论", minutes=30, material=None)),
    ("学习 理论 半个小时", m("学习", kind="理论", minutes=30, material=None)),
    ("学习 理论 一个半小时", m("学习", kind="理论", minutes=90, material=None)),
    ("学习 理论 两小时", m("学习", kind="理论", minutes=120, material=None)),
    ("学习 理论 两个小时", m("学习", kind="理论", minutes=120, material=None)),
    ("学习 理论 三十分钟", m("学习", kind="理论", minutes=30, material=None)),
    ("学习 理论 ４５", m("学习", kind="理论", minutes=45, material=None)),
    ("学习　理论　３０", m("学习", kind="理论", minutes=30, material=None)),
    ("学习 理论，45分钟，党章", m("学习", kind="理论", minutes=45, material="党章")),
    ("学习 理论、45、党章", m("学习", kind="理论", minutes=45, material="党章")),
    ("学习 党史 30 《中国共产党简史》", m("学习", kind="党史", minutes=30, material="《中国共产党简史》")),
    ("学习 理论 45 二十届三中全会精神 第三部分", m("学习", kind="理论", minutes=45,
                                         material="二十届三中全会精神 第三部分")),
    ("学习 45分钟 理论", m("学习", kind="理论", minutes=45, material=None)),
    ("学习 45 理论 党章", m("学习", kind="理论", minutes=45, material="党章")),
    ("学习理论45分钟", m("学习", kind="理论", minutes=45, material=None)),
    # The number first, the kind glued after it; a particle closing the number is tone.
    ("学习了45分钟党史", m("学习", kind="党史", minutes=45, material=None)),
    ("学习 1.5小时理论 党章", m("学习", kind="理论", minutes=90, material="党章")),
    ("学习 一小时党史", m("学习", kind="党史", minutes=60, material=None)),
    ("学习 党史 45分钟了", m("学习", kind="党史", minutes=45, material=None)),
    ("学习党史45分钟了", m("学习", kind="党史", minutes=45, material=None)),
    ("学习 45分钟了", "缺少学习类型"),
    # --- words for other commands people use -------------------------------------------
    ("谁还没签到", m("未签到")),
    ("未到人员", m("未签到")),
    ("评分 5", m("评价", score=5)),
    ("打分 5分", m("评价", score=5)),
    ("红黄蓝榜单", m("红黄蓝榜", period=None)),
    ("上月红黄蓝榜单", m("红黄蓝榜", period="上月")),
    ("开启 主题党日", m("开始", type="主题党日")),
    ("开启主题党日", m("开始", type="主题党日")),
    ("开启提醒", m("恢复提醒")),
    ("开启提醒我", m("恢复提醒我")),
    # Typed with a space: 开启 is 开始, but no activity is called 提醒.
    ("开启 提醒", m("恢复提醒")),
    ("开启 提醒我", m("恢复提醒我")),
    ("开始 提醒", m("开始", type="提醒")),  # 开始提醒 is no command: 开始 says which types there are
    ("开启 夜学 学党章", m("开始", type="夜学", topic="学党章")),
    ("签到率", m("活动")),  # not 签到 with a stray 率
    ("出勤率", m("活动")),
    ("本支部排名", m("排行榜")),  # the members of mine; 支部排名 ranks the branches (above)
    ("取消日程 夜学", m("删除日程", type="夜学")),
    # Said twice over, as people do in a hurry: the command once.
    ("签到签到", m("签到")),
    ("签到 签到", m("签到")),
    ("到了到了", m("签到")),
    ("我来了", m("签到")),
    # Why points were taken, or one's own record: the ledger's entries.
    ("为什么扣分", m("积分明细")),
    ("扣分原因", m("积分明细")),
    ("我的考勤", m("积分明细")),
    ("学习理论一小时", m("学习", kind="理论", minutes=60, material=None)),
    ("学习党史半小时", m("学习", kind="党史", minutes=30, material=None)),
    ("学习了理论一小时", m("学习", kind="理论", minutes=60, material=None)),
    ("学习了一小时", "缺少学习类型"),  # not 缺少学习时长: the hour was read
    ("请假了解孩子病情", m("请假", reason="了解孩子病情")),  # 了解 is a word
    ("学习 理论45分钟", m("学习", kind="理论", minutes=45, material=None)),
    ("学习 理论45 党章", m("学习", kind="理论", minutes=45, material="党章")),
    ("学习 理论 45分钟。", m("学习", kind="理论", minutes=45, material=None)),
    ("学习 理论 45分钟！", m("学习", kind="理论", minutes=45, material=None)),
    ("@党建助手 学习 理论 45", m("学习", kind="理论", minutes=45, material=None)),
    ("学习 业务 60 新修订的治安管理处罚法", m("学习", kind="业务", minutes=60, material="新修订的治安管理处罚法")),
    ("学习", "缺少学习类型"),
    ("学习 45分钟", "缺少学习类型"),
    ("学习 1.5小时", "缺少学习类型"),
    ("学习 理论", "缺少学习时长"),
    ("学习 理论 党章", "学习时长应是时长，如 45、45分钟、1.5小时，收到「党章」"),
    ("学习 理论 半天", "学习时长应是时长"),
    ("学习 理论 0", "学习时长不能少于 1 分钟"),
    ("学习 理论 601", "学习时长不能超过 600 分钟"),
    ("学习 理论 11小时", "学习时长不能超过 600 分钟"),
    ("学习 理论 0.3小时", m("学习", kind="理论", minutes=18, material=None)),
    ("学习 理论 0.33小时", "学习时长应是时长"),
    ("学系 理论 30", "你是想发送「学习」吗"),
    # A number and its unit typed apart: 1 小时 is an hour, never 1 minute of 小时.
    ("学习 党史 1 小时", m("学习", kind="党史", minutes=60, material=None)),
    ("学习 理论 45 分钟", m("学习", kind="理论", minutes=45, material=None)),
    ("学习 党史 1.5 h 党章", m("学习", kind="党史", minutes=90, material="党章")),
    # --- 积分 / 积分明细 / 排行榜 / 红黄蓝榜 -------------------------------------------------------
    ("积分", m("积分")),
    ("积分？", m("积分")),
    ("积分?", m("积分")),
    ("我的积分", m("积分")),
    ("我的积分。", m("积分")),
    ("积分 多余", "「积分」后面不用写别的"),
    ("积份", "你是想发送「积分」吗"),
    ("积分明细", m("积分明细")),
    ("积分明细？", m("积分明细")),
    ("积分名细", "你是想发送「积分明细」吗"),
    ("排行榜", m("排行榜", period=None)),
    ("排行榜 本周", m("排行榜", period="本周")),
    ("排行榜 本月", m("排行榜", period="本月")),
    ("排行榜 本年", m("排行榜", period="本年")),
    ("排行榜本周", m("排行榜", period="本周")),
    ("排行榜，本周", m("排行榜", period="本周")),
    ("排行榜 本周！", m("排行榜", period="本周")),
    ("排名", m("排行榜", period=None)),
    ("排名 本月", m("排行榜", period="本月")),
    ("排行", m("排行榜", period=None, branch=None)),
    ("积分排名", m("排行榜", period=None, branch=None)),
    ("积分 明细", m("积分明细")),
    ("积分榜", m("排行榜", period=None, branch=None)),  # not 积分 with 榜 left over
    ("积分排行榜", m("排行榜", period=None, branch=None)),
    ("我排第几名", m("积分")),
    ("积分多少了", m("积分")),
    ("积分有什么用", m("帮助", command="积分")),
    ("我的积分明细", m("积分明细")),
    ("签 到", m("签到")),
    ("请 假 值班", m("请假", reason="值班")),
    ("谁没签到", m("未签到", branch=None)),
    ("请假名单", m("未签到", branch=None)),  # not 请假 with the reason 名单
    ("请假的人", m("未签到", branch=None)),
    ("谁请假了", m("未签到", branch=None)),
    ("结束签到", m("结束")),
    ("签到结束", m("结束")),
    ("停止签到", m("结束")),
    ("截止签到", m("结束")),
    ("签到截止", m("结束")),
    ("截止签到了吗", "你是想发送「截止签到」吗"),  # a question ends nothing
    ("谁还没签", m("未签到", branch=None)),
    ("哪些人没签到", m("未签到", branch=None)),
    ("未签到人员", m("未签到", branch=None)),  # not the branch 人员
    ("发起签到", "缺少活动类型"),  # 开始, which asks which activity
    ("同意请假 张三", m("批准请假", who="张三")),
    ("准假 张三", m("批准请假", who="张三")),
    ("不同意请假 张三", m("驳回请假", who="张三")),
    ("还有谁没签到", m("未签到", branch=None)),
    ("未签到名单", m("未签到", branch=None)),
    ("结束活动", m("结束")),
    ("活动结束", m("结束")),
    ("自学 理论 30", m("学习", kind="理论", minutes=30)),
    ("撤销 调研", m("撤销", reason="调研")),  # 撤销 takes a reason: no joining
    ("排行榜 明年", "时间只能是 本周、本月、本年，收到「明年」"),
    ("红黄蓝榜", m("红黄蓝榜", period=None)),
    ("红黄蓝榜 本月", m("红黄蓝榜", period="本月")),
    ("红黄蓝榜 本周", m("红黄蓝榜", period="本周")),
    ("红黄蓝榜 上月", m("红黄蓝榜", period="上月")),
    ("红黄蓝", m("红黄蓝榜", period=None)),
    ("红黄蓝排名", m("红黄蓝榜", period=None)),  # not the period 排名
    ("红黄蓝榜本周", m("红黄蓝榜", period="本周")),
    ("红黄蓝榜 上个月", m("红黄蓝榜", period="上月")),  # 上个月 is 上月, said longer
    ("上个月红黄蓝榜", m("红黄蓝榜", period="上月")),
    ("红黄蓝榜 去年", "时间只能是 本月、本周"),
    ("不参与排行", m("不参与排行")),
    ("退出排行", m("不参与排行")),
    ("退出排行。", m("不参与排行")),
    ("参与排行", m("参与排行")),
    ("参与排行！", m("参与排行")),
    # --- 帮助 ---------------------------------------------------------------------------
    ("帮助", m("帮助", command=None)),
    ("帮助？", m("帮助", command=None)),
    ("帮助 签到", m("帮助", command="签到")),
    ("帮助 学习", m("帮助", command="学习")),
    ("help", m("帮助", command=None)),
    ("Help 签到", m("帮助", command="签到")),
    ("HELP!", m("帮助", command=None)),
    ("?", m("帮助", command=None)),
    ("/help", m("帮助", command=None)),
    ("/", m("帮助", command=None)),
    ("？", m("帮助", command=None)),
    ("菜单", m("帮助", command=None)),
    ("指令", m("帮助", command=None)),
    ("命令", m("帮助", command=None)),
    ("有哪些指令", m("帮助", command=None)),
    ("", m("帮助", command=None)),
    ("@党建助手", m("帮助", command=None)),
    ("帮主", "你是想发送「帮助」吗"),
    ("hepl", "你是想发送「help」吗"),
    # --- 我的信息 / 绑定 / 设置角色 ------------------------------------------------------------
    ("我的信息", m("我的信息")),
    ("我是谁", m("我的信息")),
    ("我是谁？", m("我的信息")),
    ("绑定 城关派出所党支部", m("绑定", target="城关派出所党支部")),
    ("绑定 城关派出所", m("绑定", target="城关派出所党支部")),
    ("绑定 城关", m("绑定", target="城关派出所党支部")),
    ("绑定 交警大队", m("绑定", target="交警大队党支部")),
    ("绑定 领导", m("绑定", target="领导")),
    ("绑定 领导群", m("绑定", target="领导群")),
    ("绑定 城关派出所党支部。", m("绑定", target="城关派出所党支部")),
    ("绑定", "缺少支部名称"),
    ("绑定 治安大队", "没有找到支部「治安大队」"),
    ("设置角色 张伟 委员", m("设置角色", who="张伟", role="委员")),
    ("设置角色 张伟，委员", m("设置角色", who="张伟", role="委员")),
    ("设置角色 张伟", "缺少角色"),
    ("设置角色 张伟 组长", "角色只能是"),
    # --- 调研 / 调研记录 / 周报 ---------------------------------------------------------------
    ("调研 城关派出所党支部", m("调研", branch="城关派出所党支部", details=None)),
    ("调研 城关 发现问题 3 解决 2 值班室学习角需更新",
     m("调研", branch="城关派出所党支部", details="发现问题 3 解决 2 值班室学习角需更新")),
    ("调研 交警大队 发现问题 2 解决 1", m("调研", branch="交警大队党支部", details="发现问题 2 解决 1")),
    ("调研 刑侦，发现问题 1", m("调研", branch="刑侦大队党支部", details="发现问题 1")),
    ("调研 刑侦大队党支部 学习园地需更新", m("调研", branch="刑侦大队党支部", details="学习园地需更新")),
    ("调研", "缺少支部"),
    ("调研 不存在支部", "没有找到支部「不存在支部」"),
    ("调研记录", m("调研记录")),
    ("调研记录？", m("调研记录")),
    ("调研记路", "你是想发送「调研记录」吗"),
    ("周报", m("周报", week=None)),
    ("周报 本周", m("周报", week="本周")),
    ("周报 上周", m("周报", week="上周")),
    ("周报本周", m("周报", week="本周")),
    ("周报！", m("周报", week=None)),
    ("周报 下周", "周只能是 上周、本周"),
    # --- 设置 / 日程 / 暂停提醒 / 恢复提醒 -----------------------------------------------------------
    ("设置 主题党日 每月15日 14:30 2小时", m("设置", text="主题党日 每月15日 14:30 2小时")),
    ("设置 夜学 每周三 19:30", m("设置", text="夜学 每周三 19:30")),
    ("设置 推送 城关派出所党支部 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
     m("设置", text="推送 城关派出所党支部 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")),
    ("设置", "缺少要设置的内容（活动类型、日期规则和时间）"),
    ("日程", m("日程")),
    ("日程？", m("日程")),
    ("日程 本周", "没有找到支部「本周」"),
    ("日程 城关", m("日程", branch="城关派出所党支部")),
    ("日程 刑侦！", m("日程", branch="刑侦大队党支部")),
    ("排行榜 城关", m("排行榜", period=None, branch="城关派出所党支部")),
    ("排行榜 本周 交警", m("排行榜", period="本周", branch="交警大队党支部")),
    ("排名 刑侦大队", m("排行榜", period=None, branch="刑侦大队党支部")),
    ("未签到 全局", m("未签到", branch="全局")),
    ("暂停提醒 12月31日", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 至12月31日", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 到 12月31日", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒至12月31日", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 12月31号", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 十二月三十一日", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 12.31", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 12/31", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 12-31", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 31号", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 31日", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 3号", m("暂停提醒", until=D(2026, 12, 3))),
    ("暂停提醒 2号", m("暂停提醒", until=D(2027, 1, 2))),
    ("暂停提醒 2026-12-31", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 至 2026-12-31", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 2026年12月31日", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 2026.12.31", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 2026/12/31", m("暂停提醒", until=D(2026, 12, 31))),
    ("暂停提醒 2027年1月5日", m("暂停提醒", until=D(2027, 1, 5))),
    ("暂停提醒 1月5日", m("暂停提醒", until=D(2027, 1, 5))),
    ("暂停提醒 1.5", m("暂停提醒", until=D(2027, 1, 5))),
    ("暂停提醒 11月30日", m("暂停提醒", until=D(2026, 11, 30))),
    ("暂停提醒 今天", m("暂停提醒", until=D(2026, 12, 3))),
    ("暂停提醒 明天", m("暂停提醒", until=D(2026, 12, 4))),
    ("暂停提醒 后天", m("暂停提醒", until=D(2026, 12, 5))),
    ("暂停提醒 大后天", m("暂停提醒", until=D(2026, 12, 6))),
    ("暂停提醒 至明天", m("暂停提醒", until=D(2026, 12, 4))),
    ("暂停提醒 周五", m("暂停提醒", until=D(2026, 12, 4))),
    ("暂停提醒 周四", m("暂停提醒", until=D(2026, 12, 3))),
    ("暂停提醒 周二", m("暂停提醒", until=D(2026, 12, 8))),
    ("暂停提醒 星期日", m("暂停提醒", until=D(2026, 12, 6))),
    ("暂停提醒 周日", m("暂停提醒", until=D(2026, 12, 6))),
    ("暂停提醒 礼拜天", m("暂停提醒", until=D(2026, 12, 6))),
    ("暂停提醒 本周五", m("暂停提醒", until=D(2026, 12, 4))),
    ("暂停提醒 这周日", m("暂停提醒", until=D(2026, 12, 6))),
    ("暂停提醒 下周二", m("暂停提醒", until=D(2026, 12, 8))),
    ("暂停提醒 下周一", m("暂停提醒", until=D(2026, 12, 7))),
    ("暂停提醒 下星期五", m("暂停提醒", until=D(2026, 12, 11))),
    ("暂停提醒 下下周一", m("暂停提醒", until=D(2026, 12, 14))),
    ("暂停提醒 到下周二", m("暂停提醒", until=D(2026, 12, 8))),
    ("暂停提醒 下周二。", m("暂停提醒", until=D(2026, 12, 8))),
    # A day past reads as one (the handler says it has gone by), never as 看不懂.
    ("暂停提醒 昨天", m("暂停提醒", until=D(2026, 12, 2))),
    ("暂停提醒 上周四", m("暂停提醒", until=D(2026, 11, 26))),
    ("暂停提醒", "缺少恢复提醒的日期"),
    ("暂停提醒 至", "缺少恢复提醒的日期"),
    ("暂停提醒 明年", "看不懂日期「明年」，日期可以写 12月31日、12.31、明天、下周二"),
    ("暂停提醒 2月30日", "没有 2月30日 这一天"),
    ("暂停提醒 32号", "没有 32号 这一天"),
    ("暂停提醒 13.45", "没有 13.45 这一天"),
    ("恢复提醒", m("恢复提醒")),
    ("恢复提醒！", m("恢复提醒")),
    ("不要提醒我", m("不要提醒我")),
    ("不要提醒我了", m("不要提醒我")),
    ("恢复提醒我", m("恢复提醒我")),
    ("关闭提醒", m("不要提醒我")),  # a secretary is asked which (test_schedule_handlers)
    ("关闭 提醒", m("不要提醒我")),
    ("取消提醒", m("不要提醒我")),
    ("关闭提醒我", m("不要提醒我")),
    ("别提醒我了", m("不要提醒我")),
    # --- not commands at all ------------------------------------------------------------------
    ("吃饭", "没有这个指令"),
    ("你好", "没有这个指令"),
    ("今天天气不错", "没有这个指令"),
    ("12345", "没有这个指令"),
]

# Every simple command, written the ways phones and habits write it.
SIMPLE = ["签到", "结束", "确认缺席", "活动", "积分", "积分明细", "日程", "调研记录", "恢复提醒",
          "我的信息", "参与排行", "不参与排行"]
ENDINGS = ["。", "！", "!", "~", "了", "啦", " 。", "！！"]
ROWS += [(f"{word}{end}", m(word)) for word in SIMPLE for end in ENDINGS
         if (f"{word}{end}", m(word)) not in ROWS]
ROWS += [(f"@党建助手 {word}", m(word)) for word in SIMPLE if word != "签到"]


def test_the_table_is_a_few_hundred_rows():
    assert len(ROWS) >= 300, len(ROWS)
    assert len({text for text, _ in ROWS}) == len(ROWS), "a phrasing is listed twice"


@pytest.mark.parametrize(("typed", "meaning"), ROWS, ids=[repr(t) for t, _ in ROWS])
def test_phrasing(typed: str, meaning: Meaning | str):
    got = understand(typed)
    if isinstance(meaning, str):
        assert isinstance(got, str), f"{typed!r} was taken as {got}, expected a refusal"
        assert meaning in got, got
        # A refusal says what is wrong in words, never in grammar.
        assert not any(mark in got for mark in "<>|"), got
    else:
        assert not isinstance(got, str), f"{typed!r} was refused: {got}"
        command, args = got
        assert command == meaning[0]
        for key, value in meaning[1].items():
            assert args.get(key) == value, (key, args)


# --- the issue's transcript, end to end through the dispatcher ---------------------------

from tests.factories import bind_chat, make_branch, make_member, seed  # noqa: E402
from storage.models import Role  # noqa: E402


@pytest.fixture
def bureau(runtime):
    def build(session):
        cg = make_branch(session, "城关派出所党支部")
        make_member(session, cg, "王建国", role=Role.SECRETARY, wecom="sec")
        make_member(session, cg, "周强", wecom="zq")
        make_member(session, cg, "李明", wecom="lm")
        make_member(session, None, "赵振华", role=Role.LEADER, wecom="boss")
        bind_chat(session, cg, "g1")
    seed(runtime.engine, build)


def test_the_issue_transcript_end_to_end(chat, clock, bureau):
    assert "开始了" in chat.say("sec", "开始 主题党日", chat="g1").text
    for text, user in [("签到！", "lm"), ("签到了", "sec"), ("@党建助手签到", "zq")]:
        reply = chat.say(user, text, chat="g1")
        assert not reply.is_error and "签到成功" in reply.text, (text, reply.text)
    assert "不用重复签到" in chat.say("zq", "签到 @党建助手", chat="g1").text
    assert "不用重复签到" in chat.say("lm", "签到。", chat="g1").text
    assert chat.say("zq", "Help", chat="g1").text.startswith("党建助手可用指令")
    assert chat.say("zq", "HELP").text.startswith("党建助手可用指令")

    studied = chat.say("zq", "学习 理论 45分钟 党章")
    assert not studied.is_error and "理论 45 分钟（党章）" in studied.text
    missing_kind = chat.say("zq", "学习 45")
    assert missing_kind.is_error and "缺少学习类型" in missing_kind.text
    assert "例如：学习 理论 45" in missing_kind.text

    visit = chat.say("boss", "调研 城关派出所 发现问题 2 解决 1")
    assert not visit.is_error and "城关派出所党支部" in visit.text
    paused = chat.say("sec", "暂停提醒 至 12月31日", chat="g1")
    assert not paused.is_error and "至 12月31日" in paused.text

    clock.advance(hours=3)
    assert "已结束" in chat.say("sec", "结束", chat="g1").text
    rated = chat.say("zq", "评价 4.5")
    assert rated.is_error and "整数" in rated.text and "例如：评价 5" in rated.text


def test_push_settings_say_what_is_wrong_with_the_key(chat, bureau):
    notakey = chat.say("sec", "设置 推送 城关派出所党支部 notakey")
    assert notakey.is_error and "群机器人" in notakey.text
    short_secret = chat.say(
        "sec", "设置 钉钉推送 城关 https://oapi.dingtalk.com/robot/send?access_token=abc SECabc")
    assert short_secret.is_error and "不完整" in short_secret.text
    assert "以 SEC 开头" not in short_secret.text  # it does start with SEC


def test_setting_a_kind_without_its_rule_says_what_is_missing(chat, bureau):
    reply = chat.say("sec", "设置 主题党日", chat="g1")
    assert reply.is_error and reply.text.startswith("缺少主题党日的日期和时间")
    assert "「」" not in reply.text and "例如：设置 主题党日 每月15日 14:30 2小时" in reply.text
    assert chat.say("zq", "帮助 签到了").text.startswith("签到：")


def test_a_secretary_makes_up_for_a_member_named_first(chat, bureau):
    chat.say("sec", "开始 主题党日", chat="g1")
    reply = chat.say("sec", "给周强补签 手机没电", chat="g1")
    assert not reply.is_error and reply.text.startswith("已为 周强 补签"), reply.text
    assert reply.text.endswith("原因：手机没电")


def test_the_study_app_is_logged_by_its_name(chat, bureau):
    """学习强国 30分钟 is half an hour on the 学习强国 app, not study of a kind called 强国."""
    reply = chat.say("zq", "学习强国 30分钟")
    assert not reply.is_error and "学习强国 30 分钟" in reply.text, reply.text


def test_a_near_miss_is_answered_with_the_command_meant(chat, bureau):
    reply = chat.say("zq", "签道", chat="g1")
    assert reply.is_error and "你是想发送「签到」吗？" in reply.text


def test_how_questions_get_help_and_pleasantries_a_word(chat, bureau):
    """怎么请假 is answered with 请假's help (not leave with a reason); 收到 and 谢谢 with a
    word, not with 'no such command, did you mean 签到'. Nothing is recorded by either."""
    how = chat.say("zq", "怎么请假", chat="g1")
    assert not how.is_error and how.text.startswith("请假：") and "例如：请假 值班" in how.text
    assert chat.say("zq", "签到怎么弄").text.startswith("签到：")
    for said, answer in [("收到", "好的。"), ("收到了！", "好的。"), ("谢谢", "不客气。"),
                         ("在吗", "在的。发送「帮助」查看我能做什么。"),
                         ("看到了", "好的。"), ("我看到了", "好的。"), ("我收到了", "好的。"),
                         ("确认收到", "好的。")]:  # not 确认: it confirms what waits
        reply = chat.say("zq", said, chat="g1")
        assert (reply.text, reply.is_error) == (answer, False), said
    # 看到了 (seen: what a group says to a notice) checks nobody in.
    assert "签到成功" not in chat.say("zq", "看到了", chat="g1").text
    assert "没有「收到通知」这个指令" in chat.say("zq", "收到通知", chat="g1").text
