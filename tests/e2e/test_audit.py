"""The audit log through nginx, on both stores: every kind of change made by a person (or the CLI) gives
exactly one entry with the right actor, client address, action, target and field changes; failed logins
are recorded; no secret, password or key ever appears in an entry or the CSV; only ADMINs read it, only
their own organisation's, and no method changes it; its retention prunes what is older than its days."""
import csv
import io
import json

import requests
from requests.adapters import HTTPAdapter

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, wait_for
from test_resources import ASSISTANT, TWILIO, TWILIO_TOKEN

PASSWORD = "user-password-1"
TOOL_SECRET = "tool-secret-audit-51c9"
NEW_TOOL_SECRET = "tool-secret-audit-rotated-8e2"
VENDOR_KEY = "vendor-api-key-audit-3d7a"
FUNCTION_TOOL = {
    "type": "function",
    "function": {"name": "lookup", "description": "Finds a student record.", "parameters": {"type": "object", "properties": {}}},
    "server": {"url": "https://crm.example.edu/hook", "secret": TOOL_SECRET},
    "metadata": {"vendorApiKey": VENDOR_KEY, "team": "crm"},
}
# A client on another loopback address: nginx passes it as REMOTE_ADDR, whatever headers claim.
CLIENT = "127.0.0.7"
SPOOF = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}


class FromAddress(HTTPAdapter):
    """Connects from a chosen local address."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def client(address=CLIENT):
    s = requests.Session()
    s.mount("http://", FromAddress(address))
    s.headers.update(SPOOF)
    return s


def log(session, base, **params):
    r = session.get(base + "/api/audit-log", params={"limit": 1000, **params}, timeout=10)
    assert r.status_code == 200, r.text
    assert int(r.headers["X-Total-Count"]) == len(r.json())
    return r.json()


class Recorder:
    """Runs one change and returns the one entry it added (and checks it added exactly one)."""

    def __init__(self, stack, reader):
        self.stack, self.reader, self.base = stack, reader, stack.base

    def ids(self):
        return [e["id"] for e in log(self.reader, self.base)]

    def one(self, change, action, target_type, target_id=None, actor=ADMIN_EMAIL, address=CLIENT, kind="user", status=None):
        before = set(self.ids())
        result = change()
        if hasattr(result, "status_code"):
            assert result.status_code == status if status else result.status_code < 300, result.text
        after = log(self.reader, self.base)
        new = [e for e in after if e["id"] not in before]
        assert [e["action"] for e in new] == [action], new
        entry = new[0]
        assert entry == after[0], "the newest entry comes first"
        assert (entry["actorKind"], entry["actorLabel"], entry["address"]) == (kind, actor, address), entry
        assert entry["targetType"] == target_type, entry
        if target_id is not None:
            assert entry["targetId"] == target_id, entry
        return result, entry

    def none(self, change, status):
        before = self.ids()
        r = change()
        assert r.status_code == status, r.text
        assert self.ids() == before, "a refused request recorded an entry"


def test_every_change_is_recorded_once_with_who_where_and_what(fresh_stack):
    stack = fresh_stack()
    api = stack.base + "/api"
    reader = stack.session()  # the admin, reading from 127.0.0.1 (its own login is an entry too)
    rec = Recorder(stack, reader)

    # Logins: a failure (the email tried, never the password), then a success, from CLIENT.
    admin = client()
    _, failed = rec.one(lambda: admin.post(api + "/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong-password-77"}),
                        "auth.login_failed", "user", status=401)
    assert failed["changes"] == {"reason": {"new": "wrong email or password"}}
    _, login = rec.one(lambda: admin.post(api + "/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
                       "auth.login", "user")
    assert login["actorId"] == login["targetId"] and login["actorId"].startswith("usr_")

    # Users: create, change role/name/disabled, password (by name only), delete.
    r, e = rec.one(lambda: admin.post(api + "/users", json={"email": "clerk@example.edu", "password": "clerk-password-1", "role": "VIEWER",
                                                           "name": "Clerk"}), "user.create", "user")
    uid = r.json()["id"]
    assert e["targetId"] == uid
    assert e["changes"] == {"email": {"new": "clerk@example.edu"}, "name": {"new": "Clerk"}, "role": {"new": "VIEWER"},
                            "disabled": {"new": False}, "password": {"new": "[redacted]"}}
    _, e = rec.one(lambda: admin.patch(api + f"/users/{uid}", json={"role": "EDITOR", "name": "Head clerk", "disabled": True}),
                   "user.update", "user", uid)
    assert e["changes"] == {"role": {"old": "VIEWER", "new": "EDITOR"}, "name": {"old": "Clerk", "new": "Head clerk"},
                            "disabled": {"old": False, "new": True}}
    _, e = rec.one(lambda: admin.patch(api + f"/users/{uid}", json={"password": "clerk-password-2"}), "user.update", "user", uid)
    assert e["changes"] == {"password": {"old": "[redacted]", "new": "[redacted]"}}
    _, e = rec.one(lambda: admin.delete(api + f"/users/{uid}"), "user.delete", "user", uid)
    assert e["changes"]["email"] == {"old": "clerk@example.edu"} and e["changes"]["role"] == {"old": "EDITOR"}

    # Assistants: field-level old and new values; a refused change records nothing.
    r, e = rec.one(lambda: admin.post(api + "/assistants", json=ASSISTANT), "assistant.create", "assistant")
    aid = r.json()["id"]
    assert e["targetId"] == aid and e["changes"]["name"] == {"new": ASSISTANT["name"]}
    assert e["changes"]["model.temperature"] == {"new": 0.6}
    _, e = rec.one(lambda: admin.patch(api + f"/assistants/{aid}", json={"name": "Admissions", "model": {"temperature": 0.2}}),
                   "assistant.update", "assistant", aid)
    assert e["changes"] == {"name": {"old": ASSISTANT["name"], "new": "Admissions"}, "model.temperature": {"old": 0.6, "new": 0.2}}
    rec.none(lambda: admin.patch(api + f"/assistants/{aid}", json={"maxDurationSeconds": -1}), 400)
    rec.none(lambda: admin.patch(api + f"/assistants/{aid}", json={"name": "Admissions"}), 200)  # nothing changed
    rec.none(lambda: admin.delete(api + "/assistants/asst_missing"), 404)

    # Knowledge: create, update, delete, import (its count), and a gap's resolution.
    r, e = rec.one(lambda: admin.post(api + f"/assistants/{aid}/knowledge", json={"title": "Deadline", "content": "1 March."}),
                   "knowledge.create", "knowledge_entry")
    kid = r.json()["id"]
    assert e["changes"]["title"] == {"new": "Deadline"} and e["changes"]["assistantId"] == {"new": aid}
    _, e = rec.one(lambda: admin.patch(api + f"/assistants/{aid}/knowledge/{kid}", json={"content": "2 March."}),
                   "knowledge.update", "knowledge_entry", kid)
    assert e["changes"] == {"content": {"old": "1 March.", "new": "2 March."}}
    _, e = rec.one(lambda: admin.delete(api + f"/assistants/{aid}/knowledge/{kid}"), "knowledge.delete", "knowledge_entry", kid)
    assert e["changes"]["content"] == {"old": "2 March."}
    _, e = rec.one(lambda: admin.post(api + f"/assistants/{aid}/knowledge/import",
                                      json={"entries": [{"title": f"T{i}", "content": f"C{i}"} for i in range(3)]}),
                   "knowledge.import", "assistant", aid)
    assert e["changes"] == {"count": {"new": 3}}
    # A chat is not a change by a person: it records nothing, even when it opens a knowledge gap.
    rec.none(lambda: admin.post(api + "/chat", json={"assistantId": aid, "message": "Is there a zebra on campus?"}), 200)
    gap = admin.get(api + "/knowledge-gaps", params={"status": "pending"}).json()[0]
    _, e = rec.one(lambda: admin.post(api + f"/knowledge-gaps/{gap['id']}/resolve", json={"answer": "No zebras."}),
                   "knowledge_gap.resolve", "knowledge_gap", gap["id"])
    assert e["changes"]["status"] == {"old": "pending", "new": "resolved"} and e["changes"]["answer"] == {"new": "No zebras."}

    # Tools: the secret only as "[redacted]", and a secret-named metadata field too.
    r, e = rec.one(lambda: admin.post(api + "/tools", json=FUNCTION_TOOL), "tool.create", "tool")
    tid = r.json()["id"]
    assert e["changes"]["server.secret"] == {"new": "[redacted]"}
    assert e["changes"]["metadata.vendorApiKey"] == {"new": "[redacted]"} and e["changes"]["metadata.team"] == {"new": "crm"}
    _, e = rec.one(lambda: admin.patch(api + f"/tools/{tid}", json={"server": {"secret": NEW_TOOL_SECRET}}), "tool.update", "tool", tid)
    assert e["changes"] == {"server.secret": {"old": "[redacted]", "new": "[redacted]"}}
    _, e = rec.one(lambda: admin.delete(api + f"/tools/{tid}"), "tool.delete", "tool", tid)

    # Phone numbers: credentials only as given, never their values.
    r, e = rec.one(lambda: admin.post(api + "/phone-numbers", json=dict(TWILIO, assistantId=aid, name="Front desk")),
                   "phone_number.create", "phone_number")
    nid = r.json()["id"]
    assert e["changes"]["credentials"] == {"new": "[redacted]"} and e["changes"]["number"] == {"new": TWILIO["twilioPhoneNumber"]}
    _, e = rec.one(lambda: admin.patch(api + f"/phone-numbers/{nid}", json={"name": "Admissions line", "assistantId": None}),
                   "phone_number.update", "phone_number", nid)
    assert e["changes"] == {"name": {"old": "Front desk", "new": "Admissions line"}, "assistantId": {"old": aid, "new": None}}
    rec.one(lambda: admin.delete(api + f"/phone-numbers/{nid}"), "phone_number.delete", "phone_number", nid)
    _, e = rec.one(lambda: admin.delete(api + f"/assistants/{aid}"), "assistant.delete", "assistant", aid)
    assert e["changes"]["name"] == {"old": "Admissions"}

    # Analytics keys: never the key; revoking twice is one change.
    r, e = rec.one(lambda: admin.post(api + "/analytics-keys", json={"name": "Looker"}), "analytics_key.create", "analytics_key")
    key, kid = r.json()["key"], r.json()["id"]
    assert e["changes"] == {"name": {"new": "Looker"}, "prefix": {"new": key[:12]}}
    rec.one(lambda: admin.delete(api + f"/analytics-keys/{kid}"), "analytics_key.revoke", "analytics_key", kid)
    rec.none(lambda: admin.delete(api + f"/analytics-keys/{kid}"), 200)

    # The command line: actor kind cli, no address, the shell user as the label.
    cli_user = stack.env.get("SUDO_USER") or stack.env.get("USER") or stack.env.get("LOGNAME") or None
    _, e = rec.one(lambda: stack.add_user("temp@example.edu", "VIEWER"), "user.create", "user", actor=cli_user, address=None, kind="cli")
    _, e = rec.one(lambda: stack.edmo("users", "set-role", "--email", "temp@example.edu", "--role", "EDITOR"),
                   "user.update", "user", e["targetId"], actor=cli_user, address=None, kind="cli")
    assert e["changes"] == {"role": {"old": "VIEWER", "new": "EDITOR"}}
    _, e = rec.one(lambda: stack.edmo("users", "reset-password", "--email", "temp@example.edu", "--password-stdin",
                                      stdin="temp-password-9\n"),
                   "user.update", "user", actor=cli_user, address=None, kind="cli")
    assert e["changes"] == {"password": {"old": "[redacted]", "new": "[redacted]"}}

    # Logout of a live session; a second one changes nothing.
    rec.one(lambda: admin.post(api + "/auth/logout"), "auth.logout", "user", login["actorId"])
    rec.none(lambda: admin.post(api + "/auth/logout"), 200)

    # No secret, password or key anywhere: the JSON, the CSV, the stored rows.
    text = json.dumps(log(reader, stack.base)) + reader.get(api + "/audit-log.csv").text
    text += json.dumps(stack.sql("SELECT * FROM audit_log"))
    for secret in [TOOL_SECRET, NEW_TOOL_SECRET, VENDOR_KEY, TWILIO_TOKEN, TWILIO["twilioAccountSid"], key, "wrong-password-77",
                   ADMIN_PASSWORD, "clerk-password-1", "clerk-password-2", "temp-password-9", PASSWORD]:
        assert secret not in text, secret
    assert "203.0.113.9" not in text  # the spoofed headers are not the address


def test_only_admins_read_their_own_organisation_and_nobody_changes_the_log(fresh_stack):
    stack = fresh_stack()
    api = stack.base + "/api"
    stack.add_user("editor@example.edu", "EDITOR")
    stack.add_user("viewer@example.edu", "VIEWER")
    stack.add_user("admin@other.edu", "ADMIN", org="other")
    admin, other = stack.session(), stack.session("admin@other.edu", PASSWORD)
    assert admin.post(api + "/assistants", json=ASSISTANT).status_code == 201
    assert other.post(api + "/assistants", json=dict(ASSISTANT, name="Other")).status_code == 201
    for path in ("/audit-log", "/audit-log.csv"):
        assert requests.get(api + path).status_code == 401
        for email in ("editor@example.edu", "viewer@example.edu"):
            r = stack.session(email, PASSWORD).get(api + path)
            assert r.status_code == 403 and "error" in r.json()
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            r = admin.request(method, api + path, json={})
            assert r.status_code == 405 and r.headers["Allow"] == "GET" and "error" in r.json(), (method, path, r.text)
        assert admin.delete(api + path + "/anything").status_code == 404
    mine, theirs = log(admin, stack.base), log(other, stack.base)
    assert {e["id"] for e in mine}.isdisjoint(e["id"] for e in theirs)
    assert [e["action"] for e in theirs] == ["assistant.create", "auth.login", "user.create"]
    assert all(e["actorLabel"] != "admin@other.edu" for e in mine)
    assert "admin@other.edu" not in admin.get(api + "/audit-log.csv").text
    # Another organisation's resource id as a filter finds nothing.
    assert log(admin, stack.base, targetId=theirs[0]["targetId"]) == []
    # The database itself refuses to change an entry.
    count = len(stack.sql("SELECT id FROM audit_log"))
    for statement in ("UPDATE audit_log SET action = 'nothing.happened'", "UPDATE audit_log SET changes = '{}' WHERE org_id IS NOT NULL"):
        try:
            stack.sql(statement)
            raise AssertionError(f"{statement} was allowed")
        except AssertionError:
            raise
        except Exception as refused:
            assert "append-only" in str(refused), refused
    assert len(stack.sql("SELECT id FROM audit_log WHERE action = 'nothing.happened'")) == 0
    assert len(stack.sql("SELECT id FROM audit_log")) == count
    bad = admin.get(api + "/audit-log", params={"from": "last week"})
    assert bad.status_code == 400 and "from" in bad.json()["error"]


def test_the_csv_holds_the_same_entries_as_the_json(fresh_stack):
    stack = fresh_stack()
    api = stack.base + "/api"
    admin = stack.session()
    for i in range(12):
        assert admin.post(api + "/analytics-keys", json={"name": f'=k{i}, "quoted"\nsecond line'}).status_code == 201
    entries = log(admin, stack.base)
    with admin.get(api + "/audit-log.csv", stream=True) as r:
        assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert "Content-Length" not in r.headers and "attachment" in r.headers["Content-Disposition"]
        text = r.raw.read().decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["id", "at", "actorKind", "actorId", "actorLabel", "address", "action", "targetType", "targetId", "changes"]
    assert len(rows) - 1 == len(entries)
    for row, entry in zip(rows[1:], entries):
        cells = dict(zip(rows[0], row))
        assert json.loads(cells.pop("changes")) == entry["changes"]
        assert cells == {k: "" if entry[k] is None else entry[k] for k in cells}
    # The same filters and paging as the JSON.
    keys = log(admin, stack.base, action="analytics_key.*")
    assert len(keys) == 12
    page = admin.get(api + "/audit-log", params={"action": "analytics_key.create", "limit": 5, "offset": 5})
    assert [e["id"] for e in page.json()] == [e["id"] for e in keys[5:10]] and page.headers["X-Total-Count"] == "12"
    filtered = list(csv.reader(io.StringIO(admin.get(api + "/audit-log.csv", params={"action": "analytics_key.create"}).text, newline="")))
    assert [r[0] for r in filtered[1:]] == [e["id"] for e in keys]


def test_retention_prunes_entries_older_than_its_days(fresh_stack):
    stack = fresh_stack(env={"EDMO_AUDIT_RETENTION_DAYS": "30"})
    admin = stack.session()
    org = stack.sql_one("SELECT id FROM organizations")[0]
    for i in range(3):
        stack.sql("INSERT INTO audit_log (id, org_id, at, actor_kind, action, changes) VALUES (?, ?, ?, 'system', 'old.entry', '{}')",
                  (f"aud_old_{i}", org, f"2020-01-0{i + 1}T00:00:00.000Z"))
    assert len(log(admin, stack.base, action="old.entry")) == 3
    # The background loop prunes at start and then every minute, one host per turn: restart it with the
    # turn free, and wait for the old entries to go while the recent ones stay.
    stack.crash()
    stack.sql("DELETE FROM job_claims WHERE name = 'audit-retention'")
    stack.launch()
    wait_for(lambda: not stack.sql("SELECT id FROM audit_log WHERE action = 'old.entry'"), what="the retention turn")
    assert [e["action"] for e in log(admin, stack.base)] == ["auth.login", "user.create"]
