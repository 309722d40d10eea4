"""The time series in a time zone through nginx (`tz`, `step=hour`): local days of 23 and 25 hours across
New York's DST changes, Berlin's, and a half-hour zone (Asia/Kolkata), each equal to a recount of the
conversations in that zone, removed ones (an erasure) included."""
import random
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import requests

from test_analytics import DEPLOYMENT_KEY, WEBHOOK_SECRET, report
from test_resources import ASSISTANT
from test_timeseries import listed, send

KEY = {"X-API-Key": DEPLOYMENT_KEY}
CALLER = "+17865550999"
HOUR = timedelta(hours=1)
# Around New York's (2026-03-08, 2026-11-01) and Berlin's (2026-03-29, 2026-10-25) changes, and Kolkata's
# midnights (18:30 UTC): the hours where a UTC day and a local one differ.
CENTRES = [datetime(2026, 3, 8, 5, tzinfo=timezone.utc), datetime(2026, 11, 1, 5, tzinfo=timezone.utc),
           datetime(2026, 3, 29, 0, tzinfo=timezone.utc), datetime(2026, 10, 25, 0, tzinfo=timezone.utc),
           datetime(2026, 3, 3, 18, 30, tzinfo=timezone.utc)]


def at(call_id, assistant, created, seconds, number="+17865550111", **kwargs):
    """A call report of a call made at `created` (UTC)."""
    body = report(call_id, assistant, 0, seconds, **kwargs)
    iso = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    body["message"]["startedAt"] = body["message"]["call"]["createdAt"] = iso
    body["message"]["call"]["customer"]["number"] = number
    return body


def local_day(created, zone):
    """The local date a conversation counts on: the one its UTC hour ends in (its own in a whole-hour zone)."""
    hour = created.replace(minute=0, second=0, microsecond=0)
    return (hour + HOUR - timedelta(seconds=1)).astimezone(zone).date()


def recount(conversations, points, zone, step):
    """The counts of each point, from the listed conversations, in `zone`."""
    out = [dict(conversations=0, successful=0, failed=0, escalated=0, totalDurationSeconds=0) for _ in points]
    for c in conversations:
        created = datetime.fromisoformat(c["timestamp"].replace("Z", "+00:00"))
        if step == "hour":
            hour = created.replace(minute=0, second=0, microsecond=0)
            index = next((i for i, p in enumerate(points) if datetime.fromisoformat(p["startsAt"]) == hour), None)
        else:
            day = local_day(created, zone).isoformat()
            index = next((i for i, p in enumerate(points) if p["start"] <= day <= p["end"]), None)
        if index is None:
            continue
        point = out[index]
        point["conversations"] += 1
        point["totalDurationSeconds"] += c["durationSeconds"]
        point[{"resolved": "successful", "failed": "failed", "escalated": "escalated"}[c["resolution"]]] += 1
    return out


def counts(points):
    return [{k: p[k] for k in ("conversations", "successful", "failed", "escalated", "totalDurationSeconds")} for p in points]


def test_local_days_across_dst_and_a_half_hour_zone_equal_a_recount_in_the_zone(fresh_stack):
    stack = fresh_stack(env={"EDMO_WEBHOOK_SECRET": WEBHOOK_SECRET, "ANALYTICS_API_KEY": DEPLOYMENT_KEY})
    admin = stack.session()
    api = stack.base + "/api"
    assistant = admin.post(api + "/assistants", json=ASSISTANT).json()["id"]
    rng = random.Random(1503)
    for i in range(90):
        created = rng.choice(CENTRES) + timedelta(minutes=rng.randrange(-30 * 60, 30 * 60))
        body = at(f"call-{i}", assistant, created, rng.randrange(1, 600), number=CALLER if i % 9 == 0 else "+17865550111",
                  reason=rng.choice(["customer-ended-call", "assistant-forwarded-call"]),
                  sentiment=rng.choice(["positive", "neutral", "negative"]))
        if rng.random() < 0.3:
            body["message"]["analysis"]["successEvaluation"] = "false"
        send(api, body)
    conversations = listed(api, **{"from": "2026-03-01", "to": "2026-11-30"})
    assert len(conversations) == 90
    # One caller's calls are erased: the series goes on counting them, at their hours.
    erased = admin.post(api + "/erasures", json={"phoneNumber": CALLER})
    assert erased.status_code == 200 and erased.json()["erased"]["conversations"] == 10
    assert len(listed(api, **{"from": "2026-03-01", "to": "2026-11-30"})) == 80

    def series(**params):
        answer = requests.get(api + "/analytics/timeseries", headers=KEY, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    new_york = ZoneInfo("America/New_York")
    for window, lengths in ((("2026-03-07", "2026-03-09"), [24, 23, 24]), (("2026-10-31", "2026-11-02"), [24, 25, 24])):
        body = series(**{"from": window[0], "to": window[1], "tz": "America/New_York"})
        assert body["meta"]["dayBoundaries"] == "local" and body["meta"]["boundaryShiftMinutes"] == 0
        points = body["series"][0]["points"]
        assert [p["start"] for p in points] == [(date.fromisoformat(window[0]) + timedelta(days=n)).isoformat() for n in range(3)]
        for p, hours in zip(points, lengths):
            start, end = datetime.fromisoformat(p["startsAt"]), datetime.fromisoformat(p["endsAt"])
            assert start == datetime.fromisoformat(p["start"]).replace(tzinfo=new_york) and (end - start) == hours * HOUR, p
        assert counts(points) == recount(conversations, points, new_york, "day")
        # By hour: 23 and 25 points, each a UTC hour written in local time.
        middle = points[1]["start"]
        hours = series(**{"from": middle, "to": middle, "tz": "America/New_York", "step": "hour"})
        hour_points = hours["series"][0]["points"]
        assert len(hour_points) == lengths[1]
        assert counts(hour_points) == recount(conversations, hour_points, new_york, "hour")
        assert sum(p["conversations"] for p in hour_points) == points[1]["conversations"]
    assert series(**{"from": "2026-03-08", "to": "2026-03-08", "tz": "America/New_York", "step": "hour"})[
        "series"][0]["points"][2]["startsAt"] == "2026-03-08T03:00:00-04:00"

    # Every zone and step over the months, grouped by outcome: equal to the recount in the zone.
    for zone_name in ("America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "UTC"):
        zone = ZoneInfo(zone_name)
        for step in ("day", "week", "month"):
            body = series(**{"from": "2026-03-01", "to": "2026-11-30", "tz": zone_name, "step": step, "groupBy": "resolution"})
            assert body["meta"]["tz"] == zone_name and body["meta"]["step"] == step
            for s in body["series"]:
                chosen = [c for c in conversations if c["resolution"] == s["key"]]
                assert counts(s["points"]) == recount(chosen, s["points"], zone, step), (zone_name, step, s["key"])
            assert sum(p["conversations"] for s in body["series"] for p in s["points"]) == 90

    # A half-hour zone: days begin at the UTC hour holding local midnight, 30 minutes before it, as meta says.
    kolkata = series(**{"from": "2026-03-03", "to": "2026-03-04", "tz": "Asia/Kolkata"})
    assert kolkata["meta"]["dayBoundaries"] == "utcHourOfLocalMidnight" and kolkata["meta"]["boundaryShiftMinutes"] == 30
    assert [(p["startsAt"], p["endsAt"]) for p in kolkata["series"][0]["points"]] == [
        ("2026-03-02T23:30:00+05:30", "2026-03-03T23:30:00+05:30"), ("2026-03-03T23:30:00+05:30", "2026-03-04T23:30:00+05:30")]
    assert series(**{"from": "2026-03-03", "to": "2026-03-03", "tz": "Asia/Kathmandu"})["meta"]["boundaryShiftMinutes"] == 15


def test_without_tz_the_answer_is_unchanged_and_hours_have_a_cap(fresh_stack):
    stack = fresh_stack(env={"EDMO_WEBHOOK_SECRET": WEBHOOK_SECRET, "ANALYTICS_API_KEY": DEPLOYMENT_KEY})
    api = stack.base + "/api"
    get = lambda **params: requests.get(api + "/analytics/timeseries", headers=KEY, params=params)

    plain = get(**{"from": "2026-03-07", "to": "2026-03-09"}).json()
    assert plain["meta"]["dayBoundaries"] == "UTC" and "boundaryShiftMinutes" not in plain["meta"]
    assert set(plain["series"][0]["points"][0]) == {"start", "end", "conversations", "successful", "failed", "escalated",
                                                    "totalDurationSeconds", "avgDurationSeconds"}
    # By hour without a zone: UTC hours.
    hours = get(**{"from": "2026-03-08", "to": "2026-03-08", "step": "hour"}).json()["series"][0]["points"]
    assert len(hours) == 24 and hours[0]["startsAt"] == "2026-03-08T00:00:00Z" and hours[-1]["endsAt"] == "2026-03-09T00:00:00Z"
    # At most 31 days by hour.
    assert len(get(**{"from": "2026-01-01", "to": "2026-01-31", "step": "hour", "tz": "Europe/Berlin"}).json()["series"][0]["points"]) == 744
    for params in ({"from": "2026-01-01", "to": "2026-02-01", "step": "hour"}, {"timeRangeDays": 32, "step": "hour"}):
        answer = get(**params)
        assert answer.status_code == 400 and "step=hour" in answer.json()["error"], answer.text
