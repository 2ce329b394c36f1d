"""Generated from storage.reports.figure_statements by `make report-sql`: do not edit.

Each figure statement compiled for SQLite: its SQL, the names of its ? values in order,
and the values written into it (the rest come from the caller). bot/cli/quick.py runs
them on sqlite3; tests/test_report_quick.py fails when this file is not what the
statements compile to.
"""

SQLITE = {
    'branches': (
        """SELECT branch.id, branch.name, branch.active, branch."temporary", branch.created_at, branch.ends_on, (SELECT min(branch_1.created_at) AS min_1
FROM branch AS branch_1
WHERE branch_1."temporary" = 0) AS anon_1
FROM branch
WHERE branch.active = 1 AND branch.created_at < ? OR branch.id IN (SELECT activity.branch_id
FROM activity
WHERE activity.branch_id IS NOT NULL AND activity.starts_at >= ? AND activity.starts_at < ? AND activity.status != ? AND (activity.status = ? OR activity.ends_at <= ?)) ORDER BY branch.id""",
        ('end', 'start', 'end', 'status_1', 'status_2', 'cutoff'),
        {'status_1': 'cancelled', 'status_2': 'closed'},
    ),
    'members': (
        """SELECT in_span.branch_id, count(*) AS count_1
FROM (SELECT member.branch_id AS branch_id, member.id AS member_id
FROM member
WHERE member.active = 1 AND member.branch_id IS NOT NULL AND coalesce(member.branch_since, member.created_at) < ? UNION SELECT pastmembership.branch_id AS branch_id, pastmembership.member_id AS member_id
FROM pastmembership
WHERE pastmembership.branch_id IS NOT NULL AND pastmembership.since < ? AND pastmembership.until > ? UNION SELECT pointentry.branch_id AS branch_id, pointentry.member_id AS member_id
FROM pointentry
WHERE pointentry.branch_id IS NOT NULL AND pointentry.occurred_at >= ? AND pointentry.occurred_at < ?) AS in_span GROUP BY in_span.branch_id""",
        ('end', 'end', 'start', 'start', 'end'),
        {},
    ),
    'activities': (
        """SELECT activity.branch_id, count(*) AS count_1, sum(coalesce(activity.expected_count, (SELECT count(member_1.id) AS count_2
FROM member AS member_1
WHERE member_1.active = 1 AND coalesce(member_1.branch_since, member_1.created_at) <= activity.starts_at AND member_1.branch_id = activity.branch_id AND (activity.party_group_id IS NULL OR member_1.party_group_id = activity.party_group_id) AND (activity.party_group_id IS NOT NULL OR (activity.type NOT IN (?, ?, ?)) OR member_1.role IN (?, ?)) OR (EXISTS (SELECT pastmembership.id
FROM pastmembership
WHERE pastmembership.member_id = member_1.id AND pastmembership.since <= activity.starts_at AND pastmembership.until > activity.starts_at AND pastmembership.branch_id = activity.branch_id AND (activity.party_group_id IS NULL OR pastmembership.party_group_id = activity.party_group_id) AND (activity.party_group_id IS NOT NULL OR (activity.type NOT IN (?, ?, ?)) OR pastmembership.role IN (?, ?)))) OR member_1.id IN (SELECT attendance.member_id
FROM attendance
WHERE attendance.activity_id = activity.id AND attendance.status != ?)))) AS sum_1, sum(CASE WHEN (activity.finalized_at IS NULL) THEN (SELECT count(member_1.id) AS count_2
FROM member AS member_1
WHERE member_1.active = 1 AND coalesce(member_1.branch_since, member_1.created_at) <= activity.starts_at AND member_1.branch_id = activity.branch_id AND (activity.party_group_id IS NULL OR member_1.party_group_id = activity.party_group_id) AND (activity.party_group_id IS NOT NULL OR (activity.type NOT IN (?, ?, ?)) OR member_1.role IN (?, ?)) OR (EXISTS (SELECT pastmembership.id
FROM pastmembership
WHERE pastmembership.member_id = member_1.id AND pastmembership.since <= activity.starts_at AND pastmembership.until > activity.starts_at AND pastmembership.branch_id = activity.branch_id AND (activity.party_group_id IS NULL OR pastmembership.party_group_id = activity.party_group_id) AND (activity.party_group_id IS NOT NULL OR (activity.type NOT IN (?, ?, ?)) OR pastmembership.role IN (?, ?)))) OR member_1.id IN (SELECT attendance.member_id
FROM attendance
WHERE attendance.activity_id = activity.id AND attendance.status != ?)) ELSE ? END) AS sum_2
FROM activity
WHERE activity.branch_id IS NOT NULL AND activity.starts_at >= ? AND activity.starts_at < ? AND activity.status != ? AND (activity.status = ? OR activity.ends_at <= ?) GROUP BY activity.branch_id""",
        ('type_1_1', 'type_1_2', 'type_1_3', 'role_1_1', 'role_1_2', 'type_2_1', 'type_2_2', 'type_2_3', 'role_2_1', 'role_2_2', 'status_1', 'type_1_1', 'type_1_2', 'type_1_3', 'role_1_1', 'role_1_2', 'type_2_1', 'type_2_2', 'type_2_3', 'role_2_1', 'role_2_2', 'status_1', 'param_1', 'start', 'end', 'status_2', 'status_3', 'cutoff'),
        {'status_1': 'withdrawn', 'param_1': 0, 'status_2': 'cancelled', 'status_3': 'closed', 'type_1_1': '支委会', 'type_1_2': '理论学习中心组', 'type_1_3': '第一议题', 'role_1_1': 'committee', 'role_1_2': 'secretary', 'type_2_1': '支委会', 'type_2_2': '理论学习中心组', 'type_2_3': '第一议题', 'role_2_1': 'committee', 'role_2_2': 'secretary'},
    ),
    'attendance': (
        """SELECT activity.branch_id, sum(CASE WHEN (attendance.status IN (?)) THEN ? ELSE ? END) AS sum_1, sum(CASE WHEN (attendance.status IN (?)) THEN ? ELSE ? END) AS sum_2, sum(CASE WHEN (attendance.status IN (?)) THEN ? ELSE ? END) AS sum_3, sum(CASE WHEN (attendance.status = ? AND (attendance.leave_state IS NULL OR attendance.leave_state = ?)) THEN ? ELSE ? END) AS sum_4, sum(CASE WHEN (activity.finalized_at IS NULL AND (attendance.status IN (?, ?, ?) OR attendance.status = ? AND (attendance.leave_state IS NULL OR attendance.leave_state = ?))) THEN ? ELSE ? END) AS sum_5
FROM attendance JOIN activity ON activity.id = attendance.activity_id
WHERE activity.branch_id IS NOT NULL AND activity.starts_at >= ? AND activity.starts_at < ? AND activity.status != ? AND (activity.status = ? OR activity.ends_at <= ?) GROUP BY activity.branch_id""",
        ('status_1_1', 'param_1', 'param_2', 'status_2_1', 'param_3', 'param_4', 'status_3_1', 'param_5', 'param_6', 'status_4', 'leave_state_1', 'param_7', 'param_8', 'status_5_1', 'status_5_2', 'status_5_3', 'status_4', 'leave_state_1', 'param_9', 'param_10', 'start', 'end', 'status_6', 'status_7', 'cutoff'),
        {'param_1': 1, 'param_2': 0, 'param_3': 1, 'param_4': 0, 'param_5': 1, 'param_6': 0, 'status_4': 'leave', 'leave_state_1': 'granted', 'param_7': 1, 'param_8': 0, 'param_9': 1, 'param_10': 0, 'status_6': 'cancelled', 'status_7': 'closed', 'status_1_1': 'present', 'status_2_1': 'late', 'status_3_1': 'makeup', 'status_5_1': 'present', 'status_5_2': 'late', 'status_5_3': 'makeup'},
    ),
    'points': (
        """SELECT pointentry.branch_id, sum(pointentry.points) AS sum_1
FROM pointentry
WHERE pointentry.branch_id IS NOT NULL AND pointentry.occurred_at >= ? AND pointentry.occurred_at < ? GROUP BY pointentry.branch_id""",
        ('start', 'end'),
        {},
    ),
    'corrections': (
        """SELECT pointentry.branch_id, pointentry.id, pointentry.source_id
FROM pointentry
WHERE pointentry.branch_id IS NOT NULL AND pointentry.source_kind = ? AND pointentry.occurred_at >= ? AND pointentry.occurred_at < ? AND pointentry.created_at >= ? ORDER BY pointentry.id""",
        ('source_kind_1', 'start', 'end', 'end'),
        {'source_kind_1': 'correction'},
    ),
    'visits': (
        """SELECT researchvisit.branch_id, count(*) AS count_1
FROM researchvisit
WHERE researchvisit.withdrawn_at IS NULL AND researchvisit.visited_on >= ? AND researchvisit.visited_on <= ? GROUP BY researchvisit.branch_id""",
        ('first_day', 'last_day'),
        {},
    ),
    'top': (
        """SELECT ranked.member_id, ranked.name, ranked.branch, ranked.points, ranked.rank
FROM (SELECT member.id AS member_id, member.name AS name, branch.name AS branch, sum(pointentry.points) AS points, rank() OVER (ORDER BY sum(pointentry.points) DESC) AS rank
FROM pointentry JOIN member ON member.id = pointentry.member_id LEFT OUTER JOIN branch ON branch.id = member.branch_id
WHERE pointentry.occurred_at >= ? AND pointentry.occurred_at < ? AND member.active = 1 AND member.forgotten = 0 AND member.leaderboard_opt_out = 0 GROUP BY member.id, member.name, branch.name
HAVING sum(pointentry.points) > ?) AS ranked
WHERE ranked.rank <= ? ORDER BY ranked.points DESC, ranked.name, ranked.member_id""",
        ('start', 'end', 'sum_1', 'limit'),
        {'sum_1': 0},
    ),
}
