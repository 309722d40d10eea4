"""The CSV export streams every matching conversation through nginx: chunked, no length, safe cells."""
import csv
import io
import json
from datetime import datetime, timedelta, timezone

import requests

from test_analytics import DEPLOYMENT_KEY, WEBHOOK_SECRET, report
from test_resources import ASSISTANT


def test_csv_export_streams_every_conversation_with_safe_cells(fresh_stack):
    stack = fresh_stack(env={"EDMO_WEBHOOK_SECRET": WEBHOOK_SECRET, "ANALYTICS_API_KEY": DEPLOYMENT_KEY})
    admin = stack.session()
    api = stack.base + "/api"
    assistant = admin.post(api + "/assistants", json=ASSISTANT).json()["id"]
    hostile = '=HYPERLINK("http://evil.example","click"), then "quoted"\nsecond line'
    for i in range(40):
        body = report(f"call-{i:02d}", assistant, 60 - i, 10 + i, sentiment="negative" if i % 4 == 0 else "positive")
        if i == 39:
            body["message"]["analysis"]["summary"] = hostile
        answer = requests.post(api + "/webhooks/provider", data=json.dumps(body),
                               headers={"Content-Type": "application/json", "X-Vapi-Secret": WEBHOOK_SECRET})
        assert answer.json()["stored"] is True

    with requests.get(api + "/analytics/conversations.csv", headers={"X-API-Key": DEPLOYMENT_KEY}, stream=True) as answer:
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert "Content-Length" not in answer.headers
        assert answer.headers["Transfer-Encoding"] == "chunked"  # produced while sent, not buffered
        assert "attachment" in answer.headers["Content-Disposition"]
        raw = answer.raw.read()
    text = raw.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][:4] == ["id", "timestamp", "type", "channel"]
    # Every conversation, newest first (the store's paging is covered by the Swift export tests).
    assert [r[0] for r in rows[1:]] == [f"call-{i:02d}" for i in range(39, -1, -1)]
    by_id = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert by_id["call-39"]["summary"] == "'" + hostile  # a formula is text, quoting survives the round trip
    assert by_id["call-05"]["customerNumber"] == "'+17865550111"
    assert by_id["call-05"]["durationSeconds"] == "15"
    assert text.count("\r\n") >= 41  # RFC 4180 line ends

    # The same filters as /api/analytics, and the same key rules.
    negative = requests.get(api + "/analytics/conversations.csv", params={"sentiment": "negative"},
                            headers={"X-API-Key": DEPLOYMENT_KEY})
    assert [r[0] for r in csv.reader(io.StringIO(negative.text, newline=""))][1:] == [f"call-{i:02d}" for i in range(36, -1, -4)]
    assert requests.get(api + "/analytics/conversations.csv").status_code == 401
    bad = requests.get(api + "/analytics/conversations.csv", params={"channel": "fax"}, headers={"X-API-Key": DEPLOYMENT_KEY})
    assert bad.status_code == 400 and "channel" in bad.json()["error"]


def test_conversations_as_pages_ndjson_and_csv_with_dates_and_search(fresh_stack):
    stack = fresh_stack(env={"EDMO_WEBHOOK_SECRET": WEBHOOK_SECRET, "ANALYTICS_API_KEY": DEPLOYMENT_KEY})
    admin = stack.session()
    api = stack.base + "/api"
    key = {"X-API-Key": DEPLOYMENT_KEY}
    assistant = admin.post(api + "/assistants", json=ASSISTANT).json()["id"]
    # Two calls a day for 12 days; every third one asks about housing (in capitals, once).
    for i in range(24):
        body = report(f"call-{i:02d}", assistant, (i // 2) * 24 * 60 + 30 + i, 10 + i)
        if i % 3 == 0:
            body["message"]["analysis"]["summary"] = "Asked about HOUSING." if i == 0 else "Housing question, then tuition."
        answer = requests.post(api + "/webhooks/provider", data=json.dumps(body),
                               headers={"Content-Type": "application/json", "X-Vapi-Secret": WEBHOOK_SECRET})
        assert answer.json()["stored"] is True

    # JSON pages walked by cursor: every row once, newest first; the last page says so.
    seen, cursor, pages = [], None, 0
    while True:
        page = requests.get(api + "/analytics/conversations", headers=key,
                            params={"timeRangeDays": 30, "limit": 5, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200 and page.headers["Content-Type"] == "application/json", page.text
        seen += [c["id"] for c in page.json()["conversations"]]
        pages += 1
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    assert seen == [f"call-{i:02d}" for i in range(24)] and pages == 5

    # NDJSON: the same rows, streamed, one object a line.
    with requests.get(api + "/analytics/conversations", headers={**key, "Accept": "application/x-ndjson"},
                      params={"timeRangeDays": 30}, stream=True) as answer:
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"] == "application/x-ndjson"
        assert "Content-Length" not in answer.headers and answer.headers["Transfer-Encoding"] == "chunked"
        lines = answer.raw.read().decode("utf-8").split("\n")
    assert lines[-1] == "" and [json.loads(line)["id"] for line in lines[:-1]] == seen
    assert json.loads(lines[0])["analysis"]["summary"] == "Asked about HOUSING."

    # Dates (UTC days) and the search, the same on every form.
    today = datetime.now(timezone.utc).date()
    created = {c: c_day for c, c_day in ((json.loads(line)["id"], json.loads(line)["timestamp"][:10]) for line in lines[:-1])}
    window = {"from": (today - timedelta(days=5)).isoformat(), "to": (today - timedelta(days=2)).isoformat()}
    in_window = [c for c in seen if window["from"] <= created[c] <= window["to"]]
    housing = [f"call-{i:02d}" for i in range(24) if i % 3 == 0]
    assert 4 <= len(in_window) <= 10
    for params, want in ((window, in_window), ({"q": "housing", "timeRangeDays": 30}, housing),
                         ({"q": "hOuSiNg", **window}, [c for c in in_window if c in housing]), ({"q": "nothing like it"}, [])):
        page = requests.get(api + "/analytics/conversations", headers=key, params={**params, "limit": 500}).json()
        assert [c["id"] for c in page["conversations"]] == want, params
        csv_text = requests.get(api + "/analytics/conversations.csv", headers=key, params=params).text
        assert [r[0] for r in csv.reader(io.StringIO(csv_text, newline=""))][1:] == want, params
        nd = requests.get(api + "/analytics/conversations", headers={**key, "Accept": "application/x-ndjson"}, params=params).text
        assert [json.loads(line)["id"] for line in nd.splitlines()] == want, params

    for params, word in (({"cursor": "not-a-cursor"}, "cursor"), ({"limit": 0}, "limit"), ({"limit": 501}, "limit"),
                         ({"from": "2024-13-01"}, "from"), ({"q": "x" * 201}, "q"), ({"tz": "Nowhere/Else"}, "tz")):
        answer = requests.get(api + "/analytics/conversations", headers=key, params=params)
        assert answer.status_code == 400 and word in answer.json()["error"], (params, answer.text)
    assert requests.get(api + "/analytics/conversations.csv", headers=key, params={"from": "2024-01-02", "to": "2024-01-01"}).status_code == 400
    assert requests.get(api + "/analytics/conversations").status_code == 401
    # The signed-in dashboard reads the same list.
    assert [c["id"] for c in admin.get(api + "/analytics/conversations", params={"q": "housing", "timeRangeDays": 30}).json()["conversations"]] == housing
