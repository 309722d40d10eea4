"""Assistants, tools and phone numbers through nginx in local mode: full CRUD as an EDITOR, VIEWER writes
refused, and no stored credential ever in a response or a log."""
import os

import requests

ASSISTANT = {
    "name": "Enrollment Assistant", "firstMessage": "Hi, how can I help?",
    "firstMessageMode": "assistant-speaks-first",
    "model": {"provider": "openai", "model": "gpt-4o", "temperature": 0.6,
              "messages": [{"role": "system", "content": "You answer enrollment questions."}]},
    "voice": {"provider": "openai", "voiceId": "alloy"}, "maxDurationSeconds": 1800,
}
TWILIO_TOKEN = "twilio-auth-token-5e1f0c"
TWILIO = {"provider": "twilio", "twilioPhoneNumber": "+17865550199",
          "twilioAccountSid": "AC" + "0" * 32, "twilioAuthToken": TWILIO_TOKEN}


def test_editor_full_crud_and_viewer_refused(stack):
    stack.add_user("editor@res.edu", "EDITOR")
    stack.add_user("viewer@res.edu", "VIEWER")
    editor = stack.session("editor@res.edu", "user-password-1")
    viewer = stack.session("viewer@res.edu", "user-password-1")
    base = stack.base + "/api"
    seen = []

    def call(session, method, path, **kw):
        r = session.request(method, base + path, **kw)
        seen.append(r)
        return r

    a = call(editor, "POST", "/assistants", json=ASSISTANT)
    assert a.status_code == 201, a.text
    aid = a.json()["id"]
    assert call(editor, "GET", f"/assistants/{aid}").json()["model"]["messages"][0]["role"] == "system"
    assert call(editor, "PATCH", f"/assistants/{aid}", json={"name": "Admissions"}).json()["name"] == "Admissions"
    listed = call(viewer, "GET", "/assistants?limit=10")
    assert listed.status_code == 200 and aid in [x["id"] for x in listed.json()]
    assert int(listed.headers["X-Total-Count"]) >= 1

    t = call(editor, "POST", "/tools", json={"type": "apiRequest", "provider": "sis", "name": "status",
                                            "method": "GET", "url": "https://sis.example.edu/status"})
    assert t.status_code == 201 and t.json()["provider"] == "sis"
    tid = t.json()["id"]
    assert call(editor, "PATCH", f"/tools/{tid}", json={"timeoutSeconds": 10}).json()["timeoutSeconds"] == 10

    n = call(editor, "POST", "/phone-numbers", json=dict(TWILIO, assistantId=aid))
    assert n.status_code == 201, n.text
    nid = n.json()["id"]
    assert n.json()["assistantId"] == aid
    assert call(editor, "PATCH", f"/phone-numbers/{nid}", json={"assistantId": None}).json()["assistantId"] is None
    assert call(viewer, "GET", "/phone-numbers").status_code == 200
    # While the number is stored, its row holds the token sealed, never in the clear.
    stored = stack.stored_bytes()
    assert TWILIO["twilioPhoneNumber"].encode() in stored and TWILIO_TOKEN.encode() not in stored

    for method, path, body in [("POST", "/assistants", ASSISTANT), ("PATCH", f"/assistants/{aid}", {"name": "x"}),
                               ("DELETE", f"/assistants/{aid}", None), ("POST", "/tools", {"type": "mcp"}),
                               ("DELETE", f"/tools/{tid}", None), ("POST", "/phone-numbers", TWILIO),
                               ("PATCH", f"/phone-numbers/{nid}", {"name": "x"}), ("DELETE", f"/phone-numbers/{nid}", None)]:
        r = call(viewer, method, path, json=body)
        assert r.status_code == 403, (method, path, r.text)

    assert call(editor, "DELETE", f"/phone-numbers/{nid}").json() == {"success": True}
    assert call(editor, "DELETE", f"/tools/{tid}").json() == {"success": True}
    assert call(editor, "DELETE", f"/assistants/{aid}").json() == {"success": True}
    assert call(editor, "GET", f"/assistants/{aid}").status_code == 404

    # The stored Twilio token is in no response, in no log line (edmo's or nginx's), and not in the clear in the
    # store, also once deleted (the SQLite files, freed pages and WAL included; on PostgreSQL, every row as
    # pg_dump writes it).
    for r in seen:
        assert TWILIO_TOKEN not in r.text
    assert TWILIO_TOKEN not in stack.log()
    with open(os.path.join(stack.dir, "access.log")) as f:
        assert TWILIO_TOKEN not in f.read()
    assert TWILIO_TOKEN.encode() not in stack.stored_bytes()


def test_invalid_assistant_is_400_and_changes_nothing(stack):
    admin = stack.session()
    before = admin.get(stack.base + "/api/assistants").headers["X-Total-Count"]
    r = admin.post(stack.base + "/api/assistants", json=dict(ASSISTANT, model={"provider": "openai", "model": "x", "temperature": 9}))
    assert r.status_code == 400 and r.json() == {"error": "Invalid value for field: model.temperature (0 to 2)"}
    assert admin.get(stack.base + "/api/assistants").headers["X-Total-Count"] == before


def test_edmo_number_without_platform_is_a_clear_400(stack):
    r = stack.session().post(stack.base + "/api/phone-numbers", json={"provider": "edmo", "numberDesiredAreaCode": "786"})
    assert r.status_code == 400 and "EDMO_PROVIDER=vapi" in r.json()["error"]
