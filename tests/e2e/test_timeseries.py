"""The time series through nginx: equal to a recount of the conversations the API lists, every step
present, the window's rules, and the same key rules as /api/analytics."""
import json
import random
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import requests

from test_analytics import DEPLOYMENT_KEY, WEBHOOK_SECRET, report
from test_resources import ASSISTANT

KEY = {"X-API-Key": DEPLOYMENT_KEY}


def send(api, body):
    answer = requests.post(api + "/webhooks/provider", data=json.dumps(body),
                           headers={"Content-Type": "application/json", "X-Vapi-Secret": WEBHOOK_SECRET})
    assert answer.json()["stored"] is True, answer.text


def listed(api, **params):
    """Every conversation of the window, through the JSON pages (small pages: several cursors)."""
    out, cursor = [], None
    while True:
        page = requests.get(api + "/analytics/conversations", headers=KEY,
                            params={**params, "limit": 7, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        out += page.json()["conversations"]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            return out


def recount(conversations, steps, key):
    """The points each series should have, counted from listed conversations (UTC days)."""
    series = defaultdict(lambda: [dict(conversations=0, successful=0, failed=0, escalated=0, totalDurationSeconds=0) for _ in steps])
    for c in conversations:
        day = c["timestamp"][:10]
        index = next(i for i, (start, end) in enumerate(steps) if start <= day <= end)
        point = series[key(c)][index]
        point["conversations"] += 1
        point["totalDurationSeconds"] += c["durationSeconds"]
        point[{"resolved": "successful", "failed": "failed", "escalated": "escalated"}[c["resolution"]]] += 1
    return series


def points(answer):
    return {s["key"]: [{k: v for k, v in p.items() if k not in ("start", "end", "avgDurationSeconds")} for p in s["points"]]
            for s in answer["series"]}


def test_time_series_equals_a_recount_of_the_listed_conversations(fresh_stack):
    stack = fresh_stack(env={"EDMO_WEBHOOK_SECRET": WEBHOOK_SECRET, "ANALYTICS_API_KEY": DEPLOYMENT_KEY})
    admin = stack.session()
    api = stack.base + "/api"
    assistants = [admin.post(api + "/assistants", json=ASSISTANT).json()["id"] for _ in range(2)]
    rng = random.Random(15)
    for i in range(60):
        body = report(f"call-{i}", rng.choice(assistants), rng.randrange(0, 24 * 60 * 20), rng.randrange(1, 600),
                      reason=rng.choice(["customer-ended-call", "assistant-forwarded-call"]),
                      sentiment=rng.choice(["positive", "neutral", "negative"]))
        if rng.random() < 0.3:
            body["message"]["analysis"]["successEvaluation"] = "false"
        send(api, body)

    today = datetime.now(timezone.utc).date()
    window = {"from": (today - timedelta(days=24)).isoformat(), "to": today.isoformat()}
    conversations = listed(api, **window)
    assert len(conversations) == 60
    days = [(today - timedelta(days=24 - n)).isoformat() for n in range(25)]

    answer = requests.get(api + "/analytics/timeseries", headers=KEY, params=window)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["meta"] == {"from": window["from"], "to": window["to"], "step": "day", "tz": "UTC", "dayBoundaries": "UTC",
                            "groupBy": None, "channel": "all", "sentiment": "all", "resolution": "all",
                            "assistantId": None, "phoneNumberId": None}
    # Every day present, the empty ones with zeros (days 21-24 before today have no call).
    assert [(p["start"], p["end"]) for p in body["series"][0]["points"]] == [(d, d) for d in days]
    assert points(body) == dict(recount(conversations, [(d, d) for d in days], lambda c: None))
    assert body["series"][0]["points"][0]["conversations"] == 0
    for p in body["series"][0]["points"]:
        assert p["avgDurationSeconds"] == ((2 * p["totalDurationSeconds"] + p["conversations"]) // (2 * p["conversations"]) if p["conversations"] else 0)  # halves up

    # Weeks from Monday and months, cut to the window; each grouping, each filter, equal to the recount.
    first, last = date.fromisoformat(window["from"]), today
    weeks, start = [], first
    while start <= last:
        end = min(start + timedelta(days=6 - start.weekday()), last)
        weeks.append((start.isoformat(), end.isoformat()))
        start = end + timedelta(days=1)
    months, start = [], first
    while start <= last:
        nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        months.append((start.isoformat(), min(nxt - timedelta(days=1), last).isoformat()))
        start = nxt
    for step, steps in (("week", weeks), ("month", months)):
        body = requests.get(api + "/analytics/timeseries", headers=KEY, params={**window, "step": step}).json()
        assert [(p["start"], p["end"]) for p in body["series"][0]["points"]] == steps
        assert points(body) == dict(recount(conversations, steps, lambda c: None))
    for group in ("channel", "assistantId", "phoneNumberId", "resolution", "sentiment"):
        body = requests.get(api + "/analytics/timeseries", headers=KEY, params={**window, "step": "week", "groupBy": group}).json()
        want = dict(recount(conversations, weeks, lambda c: c[group]))
        got = points(body)
        # Closed fields have a series for every value, zeros included.
        empty = [dict(conversations=0, successful=0, failed=0, escalated=0, totalDurationSeconds=0) for _ in weeks]
        assert got == {**{k: empty for k in got if k not in want}, **want}, group
    assert [s["key"] for s in requests.get(api + "/analytics/timeseries", headers=KEY,
                                           params={**window, "groupBy": "channel"}).json()["series"]] == ["web", "phone"]
    negative = requests.get(api + "/analytics/timeseries", headers=KEY, params={**window, "sentiment": "negative", "assistantId": assistants[0]}).json()
    chosen = [c for c in conversations if c["sentiment"] == "negative" and c["assistantId"] == assistants[0]]
    zeros = [dict(conversations=0, successful=0, failed=0, escalated=0, totalDurationSeconds=0) for _ in days]
    assert points(negative) == (dict(recount(chosen, [(d, d) for d in days], lambda c: None)) or {None: zeros})

    # The signed-in dashboard reads it too; the seed's /api/analytics is unchanged.
    assert admin.get(api + "/analytics/timeseries", params=window).json()["series"] == answer.json()["series"]
    assert requests.get(api + "/analytics", params={"timeRangeDays": 365}, headers=KEY).status_code == 400


def test_time_series_window_and_errors(fresh_stack):
    stack = fresh_stack(env={"EDMO_WEBHOOK_SECRET": WEBHOOK_SECRET, "ANALYTICS_API_KEY": DEPLOYMENT_KEY})
    api = stack.base + "/api"
    get = lambda **params: requests.get(api + "/analytics/timeseries", headers=KEY, params=params)

    week = get(**{"from": "2024-01-03", "to": "2024-01-16", "step": "week"}).json()["series"][0]["points"]
    assert [(p["start"], p["end"], p["conversations"]) for p in week] == [
        ("2024-01-03", "2024-01-07", 0), ("2024-01-08", "2024-01-14", 0), ("2024-01-15", "2024-01-16", 0)]
    month = get(**{"from": "2023-12-31", "to": "2024-03-01", "step": "month"}).json()["series"][0]["points"]
    assert [(p["start"], p["end"]) for p in month] == [("2023-12-31", "2023-12-31"), ("2024-01-01", "2024-01-31"),
                                                      ("2024-02-01", "2024-02-29"), ("2024-03-01", "2024-03-01")]
    assert len(get(timeRangeDays=365).json()["series"][0]["points"]) == 365
    # `tz` decides which date is today, and where days begin (test_timeseries_zones.py).
    for zone, boundaries in (("Pacific/Kiritimati", "local"), ("Pacific/Pago_Pago", "local"), ("Asia/Kolkata", "utcHourOfLocalMidnight")):
        meta = get(tz=zone, timeRangeDays=1).json()["meta"]
        assert meta["to"] == datetime.now(ZoneInfo(zone)).date().isoformat() and meta["tz"] == zone
        assert meta["dayBoundaries"] == boundaries

    for params, word in (({"step": "year"}, "step"), ({"groupBy": "colour"}, "groupBy"), ({"from": "2024-02-30"}, "from"),
                         ({"to": "24-01-01"}, "to"), ({"from": "2024-01-02", "to": "2024-01-01"}, "after"),
                         ({"from": "2024-01-01", "timeRangeDays": 7}, "timeRangeDays"), ({"timeRangeDays": 0}, "timeRangeDays"),
                         ({"from": "2000-01-01", "to": "2024-01-01"}, "3660"), ({"tz": "Mars/Olympus"}, "tz"),
                         ({"tz": "../../etc/passwd"}, "tz"), ({"channel": "fax"}, "channel")):
        answer = get(**params)
        assert answer.status_code == 400 and word in answer.json()["error"], (params, answer.text)
    assert requests.get(api + "/analytics/timeseries").status_code == 401
    assert requests.get(api + "/analytics/timeseries", headers={"X-API-Key": "nope"}).status_code == 401
