"""A reporting client with an API key reads the analytics through nginx; provider webhooks feed them."""
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import requests

from test_resources import ASSISTANT

WEBHOOK_SECRET = "e2e-webhook-secret-0123456789abcdef"
DEPLOYMENT_KEY = "e2e-analytics-key-0123456789abcdef"


def report(call_id, assistant, minutes_ago, seconds, reason="customer-ended-call", sentiment="positive"):
    created = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    iso = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {"message": {
        "type": "end-of-call-report", "endedReason": reason, "durationSeconds": seconds, "startedAt": iso,
        "call": {"id": call_id, "type": "inboundPhoneCall", "createdAt": iso, "assistantId": assistant,
                 "customer": {"number": "+17865550111"}},
        "analysis": {"summary": "Asked about tuition.", "successEvaluation": "true", "structuredData": {"sentiment": sentiment}},
        "artifact": {"transcript": "AI: Hi\nUser: Tuition?", "messages": [{"role": "bot", "message": "Hi"}, {"role": "user", "message": "Tuition?"}],
                     "recordingUrl": f"https://rec.example/{call_id}.wav"}}}


def test_reporting_client_reads_overview_and_drills_in(fresh_stack):
    stack = fresh_stack(env={"EDMO_WEBHOOK_SECRET": WEBHOOK_SECRET, "ANALYTICS_API_KEY": DEPLOYMENT_KEY})
    admin = stack.session()
    api = stack.base + "/api"
    assistant = admin.post(api + "/assistants", json=ASSISTANT).json()["id"]

    hook = lambda body, **headers: requests.post(api + "/webhooks/provider", data=json.dumps(body),
                                                 headers={"Content-Type": "application/json", **headers})
    # The same report twice (built once: built again a second later, its times would make it a newer report).
    first = report("call-1", assistant, 30, 200)
    assert hook(first, **{"X-Vapi-Secret": WEBHOOK_SECRET}).json() == {"received": True, "stored": True}
    assert hook(first, **{"X-Vapi-Secret": WEBHOOK_SECRET}).json()["stored"] is False
    body = report("call-2", assistant, 10, 100, reason="assistant-forwarded-call", sentiment="negative")
    raw = json.dumps(body).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    signed = requests.post(api + "/webhooks/provider", data=raw, headers={"Content-Type": "application/json", "X-Vapi-Signature": signature})
    assert signed.status_code == 200 and signed.json()["stored"] is True
    assert hook(report("call-3", assistant, 5, 1), **{"X-Vapi-Secret": "wrong"}).status_code == 401

    # A per-org key made by the admin, shown once.
    key = admin.post(api + "/analytics-keys", json={"name": "Looker"}).json()["key"]
    for k in (DEPLOYMENT_KEY, key):
        overview = requests.get(api + "/analytics", params={"timeRangeDays": 7}, headers={"X-API-Key": k})
        assert overview.status_code == 200, overview.text
        summary = overview.json()["summary"]
        assert summary["totalConversations"] == 2 and summary["escalatedConversations"] == 1
        assert summary["successRatePercent"] == 50 and summary["avgDurationSeconds"] == 150
        assert [c["id"] for c in overview.json()["conversations"]] == ["call-2", "call-1"]
    detail = requests.get(api + "/analytics/call-1", headers={"X-API-Key": key}).json()
    assert detail["transcript"] == "AI: Hi\nUser: Tuition?"
    assert detail["messages"] == [{"role": "assistant", "message": "Hi"}, {"role": "user", "message": "Tuition?"}]
    assert detail["recordingUrl"] == "https://rec.example/call-1.wav" and detail["durationFormatted"] == "3m 20s"

    assert requests.get(api + "/analytics").status_code == 401
    assert requests.get(api + "/analytics", headers={"X-API-Key": "nope"}).status_code == 401
    assert requests.get(api + "/analytics", params={"timeRangeDays": 14}, headers={"X-API-Key": key}).status_code == 400
