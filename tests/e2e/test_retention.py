"""Retention and erasure through nginx, on both stores: the organisation settings API (roles, validation, the
deployment default), the sweep (`edmo retention run`, and `edmo serve`'s background turn) removing calls older
than the setting while `/api/analytics` stays the same, erasure by phone number (calls from the provider
webhook) and by chat id through the API and `edmo erase`, and a late webhook for an erased call."""
import hashlib
import json
import time

import requests

from conftest import wait_for
from test_analytics import DEPLOYMENT_KEY, WEBHOOK_SECRET, report
from test_resources import ASSISTANT

ENV = {"EDMO_WEBHOOK_SECRET": WEBHOOK_SECRET, "ANALYTICS_API_KEY": DEPLOYMENT_KEY}
KEY = {"X-API-Key": DEPLOYMENT_KEY}
CALLER = "+17865550111"  # the customer number of test_analytics.report
DAY = 24 * 60


def hook(stack, body):
    r = requests.post(stack.base + "/api/webhooks/provider", data=json.dumps(body),
                      headers={"Content-Type": "application/json", "X-Vapi-Secret": WEBHOOK_SECRET}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["stored"]


def overview(stack):
    r = requests.get(stack.base + "/api/analytics", params={"timeRangeDays": 90}, headers=KEY, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def detail_status(stack, conversation_id):
    return requests.get(stack.base + f"/api/analytics/{conversation_id}", headers=KEY, timeout=10).status_code


def test_settings_are_read_by_anyone_changed_by_admins_and_validated(fresh_stack):
    stack = fresh_stack(env={"EDMO_RETENTION_DAYS": "365"})
    stack.add_user("editor@example.edu", "EDITOR")
    stack.add_user("viewer@example.edu", "VIEWER")
    stack.add_user("admin@other.edu", "ADMIN", org="other")
    admin, editor = stack.session(), stack.session("editor@example.edu", "user-password-1")
    viewer, other = stack.session("viewer@example.edu", "user-password-1"), stack.session("admin@other.edu", "user-password-1")
    url = stack.base + "/api/organization/settings"

    assert viewer.get(url).json() == {"retentionDays": None, "effectiveRetentionDays": 365, "defaultRetentionDays": 365}
    assert requests.get(url).status_code == 401
    for session in (editor, viewer):
        refused = session.patch(url, json={"retentionDays": 30})
        assert refused.status_code == 403 and "error" in refused.json()
    changed = admin.patch(url, json={"retentionDays": 30})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"retentionDays": 30, "effectiveRetentionDays": 30, "defaultRetentionDays": 365}
    assert editor.get(url).json()["effectiveRetentionDays"] == 30
    for body in ({"retentionDays": 36501}, {"retentionDays": -1}, {"retentionDays": 2.5}, {"retentionDays": "30"},
                 {}, {"retentionDays": 30, "keepForever": True}, [30]):
        refused = admin.patch(url, json=body)
        assert refused.status_code == 400 and refused.json()["error"], (body, refused.text)
    assert admin.patch(url, data="{", headers={"Content-Type": "application/json"}).status_code == 400
    assert admin.get(url).json()["retentionDays"] == 30
    # 0 keeps conversations forever whatever the default; null goes back to the default.
    assert admin.patch(url, json={"retentionDays": 0}).json() == {
        "retentionDays": 0, "effectiveRetentionDays": None, "defaultRetentionDays": 365}
    assert admin.patch(url, json={"retentionDays": None}).json()["effectiveRetentionDays"] == 365
    # Each organisation has its own.
    assert other.patch(url, json={"retentionDays": 7}).json()["retentionDays"] == 7
    assert admin.get(url).json()["retentionDays"] is None
    # Every change is in the audit log, oldest last; refused ones and a PATCH to the same value are not.
    assert admin.patch(url, json={"retentionDays": None}).status_code == 200
    log = admin.get(stack.base + "/api/audit-log", params={"action": "settings.update"}).json()
    assert [e["changes"]["retentionDays"] for e in log] == [
        {"old": 0, "new": None}, {"old": 30, "new": 0}, {"old": None, "new": 30}], log
    assert {(e["actorLabel"], e["targetType"]) for e in log} == {("admin@example.edu", "organization")}


def old_calls(stack, admin):
    """Calls 10, 5 and 3 days old and one of an hour ago, through the webhook; returns the assistant."""
    assistant = admin.post(stack.base + "/api/assistants", json=ASSISTANT).json()["id"]
    for call_id, minutes in (("old-1", 10 * DAY), ("old-2", 5 * DAY), ("old-3", 3 * DAY), ("new-1", 60)):
        assert hook(stack, report(call_id, assistant, minutes, 100)) is True
    return assistant


def test_the_sweep_removes_old_conversations_and_the_analytics_stay_the_same(fresh_stack):
    stack = fresh_stack(env=ENV)
    admin = stack.session()
    assistant = old_calls(stack, admin)
    before = overview(stack)["summary"]
    assert before["totalConversations"] == 4

    assert admin.patch(stack.base + "/api/organization/settings", json={"retentionDays": 2}).status_code == 200
    run = stack.edmo("retention", "run")
    assert "default (" in run.stdout and "kept 2 days; removed 3 conversations, 6 messages" in run.stdout, run.stdout
    assert "removed 3 conversations and 6 messages" in run.stdout
    after = overview(stack)
    assert after["summary"] == before
    assert [c["id"] for c in after["conversations"]] == ["new-1"]
    for call_id in ("old-1", "old-2", "old-3"):
        assert detail_status(stack, call_id) == 404
    assert stack.sql("SELECT id FROM conversations") == [("new-1",)]
    assert stack.sql_one("SELECT COUNT(*) FROM conversation_messages") == (2,)
    # A report of a removed call (or any call past the period) is not stored: it would count twice.
    assert hook(stack, report("old-1", assistant, 10 * DAY, 100)) is False
    assert hook(stack, report("old-4", assistant, 4 * DAY, 100)) is False
    assert overview(stack)["summary"] == before
    assert "removed 0 conversations and 0 messages" in stack.edmo("retention", "run").stdout


def test_edmo_serve_sweeps_in_the_background_on_its_claim(fresh_stack):
    stack = fresh_stack(env=ENV)
    admin = stack.session()
    old_calls(stack, admin)
    before = overview(stack)["summary"]
    assert admin.patch(stack.base + "/api/organization/settings", json={"retentionDays": 4}).status_code == 200
    # The server took the sweep's turn when it started (nothing to remove then); a restart once the turn has
    # passed sweeps at once.
    assert stack.terminate()[0] == 0
    stack.sql("UPDATE job_claims SET claimed_at = '2000-01-01T00:00:00.000Z' WHERE name = 'retention-sweep'")
    stack.launch()
    wait_for(lambda: stack.sql_one("SELECT COUNT(*) FROM conversations") == (2,), timeout=30, what="the background sweep")
    assert sorted(stack.sql("SELECT id FROM conversations")) == [("new-1",), ("old-3",)]
    assert overview(stack)["summary"] == before
    assert "retention: removed 2 conversations and 4 messages" in stack.log()


def test_an_admin_erases_a_callers_calls_and_a_chat_and_nothing_brings_them_back(fresh_stack):
    stack = fresh_stack(env=ENV)
    stack.add_user("editor@example.edu", "EDITOR")
    stack.add_user("admin@other.edu", "ADMIN", org="other")
    admin, editor = stack.session(), stack.session("editor@example.edu", "user-password-1")
    other = stack.session("admin@other.edu", "user-password-1")
    api = stack.base + "/api"
    assistant = admin.post(api + "/assistants", json=ASSISTANT).json()["id"]
    for call_id, minutes in (("call-a", 30), ("call-b", 20)):
        assert hook(stack, report(call_id, assistant, minutes, 60)) is True
    third = report("call-c", assistant, 10, 60)
    third["message"]["call"]["customer"]["number"] = "+17865550222"
    assert hook(stack, third) is True
    chat = admin.post(api + "/chat", json={"assistantId": assistant, "message": "When is the deadline?"}).json()["chatId"]
    assert admin.post(api + f"/chat/{chat}/end").status_code == 200
    before = overview(stack)["summary"]
    assert before["totalConversations"] == 4

    erasures = api + "/erasures"
    assert editor.post(erasures, json={"phoneNumber": CALLER}).status_code == 403
    assert requests.post(erasures, json={"phoneNumber": CALLER}).status_code == 401
    for body in ({}, {"phoneNumber": CALLER, "chatId": chat}, {"phone": CALLER}, {"phoneNumber": ""}, {"chatId": 7}):
        refused = admin.post(erasures, json=body)
        assert refused.status_code == 400 and refused.json()["error"], (body, refused.text)
    # Another organisation's admin: nothing of this one.
    nothing = {"erased": {"conversations": 0, "messages": 0}}
    assert other.post(erasures, json={"phoneNumber": CALLER}).json() == nothing
    assert other.post(erasures, json={"chatId": chat}).json() == nothing

    erased = admin.post(erasures, json={"phoneNumber": CALLER})
    assert erased.status_code == 200 and erased.json() == {"erased": {"conversations": 2, "messages": 4}}
    # The audit log says who erased how much, by which kind of selector, never the number itself.
    log = admin.get(api + "/audit-log", params={"action": "erasure.run"})
    assert [e["changes"] for e in log.json()][0] == {
        "selector": {"new": "phoneNumber"}, "conversations": {"new": 2}, "messages": {"new": 4}}
    assert CALLER not in log.text and CALLER.lstrip("+") not in log.text
    assert overview(stack)["summary"] == before
    assert detail_status(stack, "call-a") == 404 and detail_status(stack, "call-c") == 200
    # Nothing of theirs is stored: no row (transcript, recording link, summary), no message, no id.
    assert stack.sql("SELECT id FROM conversations WHERE customer_number = ?", (CALLER,)) == []
    assert stack.sql_one("SELECT COUNT(*) FROM conversation_messages WHERE conversation_id IN ('call-a', 'call-b')") == (0,)
    hashes = {row[0] for row in stack.sql("SELECT id_hash FROM erased_conversations")}
    assert hashes == {hashlib.sha256(f"erased-conversation\n{i}".encode()).hexdigest() for i in ("call-a", "call-b")}

    # The platform resends the report later (a newer one): it is dropped.
    late = report("call-a", assistant, 30, 60)
    late["message"]["timestamp"] = int(time.time() * 1000) + 60_000
    assert hook(stack, late) is False
    assert detail_status(stack, "call-a") == 404 and overview(stack)["summary"] == before

    by_chat = admin.post(erasures, json={"chatId": chat}).json()["erased"]
    assert by_chat["conversations"] == 1 and by_chat["messages"] >= 2
    assert admin.get(api + f"/chat/{chat}").status_code == 404
    assert admin.post(api + "/chat", json={"assistantId": assistant, "message": "Hi", "previousChatId": chat}).status_code == 404
    assert overview(stack)["summary"] == before


def test_edmo_erase_by_organisation_id_or_name(fresh_stack):
    stack = fresh_stack(env=ENV)
    admin = stack.session()
    api = stack.base + "/api"
    assistant = admin.post(api + "/assistants", json=ASSISTANT).json()["id"]
    assert hook(stack, report("call-a", assistant, 30, 60)) is True
    chat = admin.post(api + "/chat", json={"assistantId": assistant, "message": "Hello there!"}).json()["chatId"]
    before = overview(stack)["summary"]

    out = stack.edmo("erase", "--org", "default", "--phone-number", CALLER)
    assert "erased 1 conversations and 2 messages in default (" in out.stdout, out.stdout
    org_id = stack.sql_one("SELECT id FROM organizations WHERE name = 'default'")[0]
    out = stack.edmo("erase", "--org", org_id, "--chat-id", chat)
    assert "erased 1 conversations and " in out.stdout, out.stdout
    log = admin.get(api + "/audit-log", params={"action": "erasure.run"}).json()
    assert [(e["actorKind"], e["changes"]["selector"]["new"]) for e in log] == [("cli", "chatId"), ("cli", "phoneNumber")], log
    assert chat not in str(log) and CALLER not in str(log)
    assert admin.get(api + f"/chat/{chat}").status_code == 404
    assert overview(stack)["summary"] == before
    for args in (["--org", "default"], ["--org", "default", "--chat-id", chat, "--phone-number", CALLER],
                 ["--org", "nowhere", "--chat-id", chat], ["--org", "default", "--phone-number", " "]):
        refused = stack.edmo("erase", *args, check=False)
        assert refused.returncode != 0 and refused.stderr, (args, refused.stdout)
    assert "nowhere" in stack.edmo("erase", "--org", "nowhere", "--chat-id", chat, check=False).stderr
