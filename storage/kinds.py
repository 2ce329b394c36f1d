"""The kinds of message djbot sends on its own initiative, as stored in OutboxMessage.kind.

One table, read by the scheduler's plan (bot.scheduling.plan, which reads no database),
the worker's quiet hours (bot.outbox) and a cancelled activity's withdrawal
(storage.corrections): a kind renamed in one of them and not the others would slip out of
what they tell apart (a 【明日活动】 no longer withdrawn when its activity is cancelled).
"""

DAY_BEFORE = "reminder.day_before"  # private, to the secretary: 【明日活动】
GROUP_BEFORE = "reminder.group_before"  # to the branch group
START = "reminder.start"  # to the branch group: 请签到
NUDGE = "nudge"  # private, to one member still missing
MISSING = "reminder.missing"  # private, to the secretary, at the end
LEADERBOARD = "leaderboard"  # Monday, to each branch group
SUMMARY = "summary"  # Monday, to the leaders
SUMMARY_PICTURE = "summary.picture"  # the WeCom image that follows the summary's text
MEETINGS_DUE = "reminder.meetings"  # private, to the secretary: 三会一课 due, none planned
PIONEER_SHORTLIST = "pioneer.shortlist"  # private, to the secretary: month-end 先锋党员 shortlist
LEAVE_ASK = "leave.ask"  # 请假待批准, privately to whoever decides it
LEAVE_LAPSED = "leave.lapsed"  # 请假未获批准: leave undecided when absence was confirmed
LEAVE_MOVED = "leave.moved"  # 请假提示: leave a change of place or of schedule changed
POINTS_LEDGER = "points.ledger"  # 积分明细, 积分 or one's rank asked in a group, sent privately
OWN_LEAVE = "leave.own"  # 我的请假 asked in a group, sent privately
OWN_STUDY = "study.own"  # 我的学习 asked in a group, sent privately
VISIT_WITHDRAWN = "visit.withdraw"  # 调研记录撤销, privately to the leader who logged it
STUDY_WITHDRAWN = "study.withdraw"  # 学习记录撤销, privately to the member whose study it was
RECTIFICATION_OWNER = "rectification.owner"  # 整改事项, privately to the owner named
