"""The CSV export streams every matching conversation through nginx: chunked, no length, safe cells."""
import csv
import io
import json

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
