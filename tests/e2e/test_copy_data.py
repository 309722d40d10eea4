"""`edmo copy-data`: a SQLite deployment made through the API (behind nginx) is stopped, copied into a fresh
PostgreSQL database, and a stack on that database serves the same data: the same answers to every read, the
old session cookie, logins, the knowledge search, and the sealed tool secret (a PATCH opens it).

It needs a PostgreSQL server, so it runs on the PostgreSQL pass of `make e2e` (EDMO_E2E_POSTGRES) and is
skipped, saying so, on the SQLite pass: `make e2e` (and so `make test`) runs it exactly once."""
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile

import pytest
import requests

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, EDMO_BIN, POSTGRES, Stack, database_url, psql
from test_analytics import DEPLOYMENT_KEY, WEBHOOK_SECRET, report
from test_resources import ASSISTANT, TWILIO, TWILIO_TOKEN

pytestmark = pytest.mark.skipif(
    not POSTGRES, reason="copy-data needs a PostgreSQL server: it runs on make e2e's PostgreSQL pass (EDMO_E2E_POSTGRES)")

ENV = {"EDMO_WEBHOOK_SECRET": WEBHOOK_SECRET, "ANALYTICS_API_KEY": DEPLOYMENT_KEY}
TOOL_SECRET = "tool-secret-moved-7d1c40"
FUNCTION = {"name": "lookup", "description": "Finds a student record.", "parameters": {"type": "object", "properties": {}}}
TABLES = ("organizations", "users", "sessions", "login_failures", "assistants", "tools", "tool_secrets", "phone_numbers",
          "provider_operations", "knowledge_entries", "knowledge_gaps", "conversations", "conversation_messages",
          "analytics_daily", "analytics_keys", "import_state", "login_known_addresses", "job_claims",
          "audit_log", "analytics_hourly")


class CopiedStack(Stack):
    """A stack on the database copy-data filled: its admin came with the copy, so starting it adds none."""

    def add_user(self, email, role, password="user-password-1", org="default"):
        if email != ADMIN_EMAIL:
            super().add_user(email, role, password, org)


def everything(stack, admin, chat_id):
    """Every read of the API over the deployment's data, as JSON (the CSV export as text)."""
    api = stack.base + "/api"
    out = {}

    def get(path, session=admin, **kw):
        r = session.get(api + path, timeout=10, **kw)
        assert r.status_code == 200, (stack.store, path, r.status_code, r.text)
        out[path] = r.text if path.endswith(".csv") else r.json()
        return out[path]

    get("/auth/me")
    get("/users")
    for assistant in get("/assistants"):
        get(f"/assistants/{assistant['id']}")
        for entry in get(f"/assistants/{assistant['id']}/knowledge"):
            get(f"/assistants/{assistant['id']}/knowledge/{entry['id']}")
    for tool in get("/tools"):
        get(f"/tools/{tool['id']}")
    for number in get("/phone-numbers"):
        get(f"/phone-numbers/{number['id']}")
    get("/knowledge-gaps")
    get("/analytics-keys")
    get("/audit-log")
    get("/audit-log.csv")
    get(f"/chat/{chat_id}")
    get("/analytics", params={"timeRangeDays": 7})
    get("/analytics/conversations.csv", params={"timeRangeDays": 7})
    key = requests.Session()
    key.headers["X-API-Key"] = DEPLOYMENT_KEY
    get("/analytics/call-copied", session=key)
    return out


def sealed(stack_or_path, table, column):
    """The sealed bytes of `table.column`, from the SQLite file (a path) or the PostgreSQL stack."""
    if isinstance(stack_or_path, str):
        db = sqlite3.connect(stack_or_path)
        try:
            return [bytes(row[0]) for row in db.execute(f"SELECT {column} FROM {table} ORDER BY 1")]
        finally:
            db.close()
    return [bytes.fromhex(h) for h in psql(stack_or_path.env["EDMO_DATABASE"],
                                            f"SELECT encode({column}, 'hex') FROM {table} ORDER BY 1", rows=True)]


def test_a_sqlite_deployment_moves_to_postgresql(request):
    work = tempfile.mkdtemp(prefix="edmo-copy-")
    sqlite_path = os.path.join(work, "edmo.sqlite")
    target_name = "edmo_e2e_copy_" + secrets.token_hex(6)
    target_url = database_url(POSTGRES, target_name)
    stacks = request.node.edmo_stacks = []
    source = Stack(env={**ENV, "EDMO_DATABASE": sqlite_path})
    stacks.append(source)
    try:
        psql(POSTGRES, f"CREATE DATABASE {target_name}")
        # A deployment on SQLite, made through nginx and the API.
        assert source.store == "sqlite"
        source.start()
        source.add_user("editor@copy.edu", "EDITOR", "editor-password-1")
        admin = source.session()
        api = source.base + "/api"
        assistant = admin.post(api + "/assistants", json=ASSISTANT).json()["id"]
        imported = admin.post(api + f"/assistants/{assistant}/knowledge/import", json={"entries": [
            {"title": "Application deadline", "content": "Fall applications close on March 1.",
             "questions": ["When do applications close?"]},
            {"title": "Tuition", "content": "Tuition is $12,000 per year."},
        ]})
        assert imported.status_code == 201, imported.text
        first = admin.post(api + "/chat", json={"assistantId": assistant, "message": "When do applications close?"}).json()
        assert first["message"] == "Fall applications close on March 1."
        chat_id = first["chatId"]
        unknown = admin.post(api + "/chat", json={"assistantId": assistant, "message": "Is there a dance club?",
                                                  "previousChatId": chat_id}).json()
        assert unknown["message"].startswith("I don't know the answer to that yet")
        assert admin.post(api + f"/chat/{chat_id}/end").status_code == 200
        tool = admin.post(api + "/tools", json={"type": "function", "function": FUNCTION,
                                                "server": {"url": "https://crm.example.edu/hook", "secret": TOOL_SECRET}})
        assert tool.status_code == 201, tool.text
        number = admin.post(api + "/phone-numbers", json=dict(TWILIO, assistantId=assistant))
        assert number.status_code == 201, number.text
        call = report("call-copied", assistant, 30, 200)
        hook = requests.post(api + "/webhooks/provider", json=call, headers={"X-Vapi-Secret": WEBHOOK_SECRET})
        assert hook.json() == {"received": True, "stored": True}
        assert admin.post(api + "/analytics-keys", json={"name": "Looker"}).status_code == 201
        bad = requests.post(api + "/auth/login", json={"email": "editor@copy.edu", "password": "wrong-password"})
        assert bad.status_code == 401
        before = everything(source, admin, chat_id)
        assert before["/analytics"]["summary"]["totalConversations"] == 2
        source.stop()

        # The copy: every table, the counts and the aggregates checked on both sides.
        copy = subprocess.run([EDMO_BIN, "copy-data", "--to", target_url], env=source.env, capture_output=True,
                              text=True, timeout=120)
        assert copy.returncode == 0, copy.stdout + copy.stderr
        lines = copy.stdout.splitlines()
        assert "copy-data: done:" in copy.stdout and "equal on both sides" in lines[-1], copy.stdout
        for table in TABLES:
            row = next((line.split() for line in lines if line.split()[:1] == [table]), None)
            assert row is not None and row[1] == row[2], (table, copy.stdout)
        assert any(line.split() == ["conversations", "2", "2", "2", "2"] for line in lines), copy.stdout
        # A second copy finds the target holding data and changes nothing.
        again = subprocess.run([EDMO_BIN, "copy-data", "--to", target_url], env=source.env, capture_output=True,
                               text=True, timeout=120)
        assert again.returncode != 0 and "already holds data" in again.stderr, again.stdout + again.stderr
        assert psql(target_url, "SELECT count(*) FROM users", rows=True) == ["2"]

        # The same deployment on PostgreSQL, with the same secret key.
        target = CopiedStack(env={**ENV, "EDMO_DATABASE": target_url, "EDMO_SECRET_KEY": source.env["EDMO_SECRET_KEY"]})
        stacks.append(target)
        target.start()
        assert target.store == "postgresql"
        # The SQLite stack's session cookie goes on working: the sessions came along.
        after = everything(target, admin, chat_id)
        assert after.keys() == before.keys()
        for path in before:
            assert after[path] == before[path], path
        # Logins work, and the knowledge search answers from the copied entries.
        fresh = target.session(ADMIN_EMAIL, ADMIN_PASSWORD)
        assert target.session("editor@copy.edu", "editor-password-1").get(target.base + "/api/auth/me").json()["user"]["role"] == "EDITOR"
        answer = fresh.post(target.base + "/api/chat", json={"assistantId": assistant, "message": "When do applications close?"})
        assert answer.status_code == 200 and answer.json()["message"] == "Fall applications close on March 1."
        again_unknown = fresh.post(target.base + "/api/chat", json={"assistantId": assistant, "message": "Is there a dance club?"})
        assert again_unknown.json()["message"].startswith("I don't know the answer to that yet")
        gaps = fresh.get(target.base + "/api/knowledge-gaps", params={"assistantId": assistant}).json()
        assert [(g["question"], g["priority"]) for g in gaps] == [("Is there a dance club?", "medium")]
        # Sealed values are the same bytes, never in the clear, and open with the same key: a PATCH re-reads the
        # tool's secret (a key that cannot open it answers 500) and keeps it.
        assert sealed(target, "tool_secrets", "sealed") == sealed(sqlite_path, "tool_secrets", "sealed")
        assert sealed(target, "phone_numbers", "credentials") == sealed(sqlite_path, "phone_numbers", "credentials")
        stored = target.stored_bytes()
        assert TOOL_SECRET.encode() not in stored and TWILIO_TOKEN.encode() not in stored
        patched = fresh.patch(target.base + f"/api/tools/{tool.json()['id']}",
                              json={"function": dict(FUNCTION, description="Finds a student.")})
        assert patched.status_code == 200, patched.text
        assert sealed(target, "tool_secrets", "sealed") == sealed(sqlite_path, "tool_secrets", "sealed")
    finally:
        for stack in stacks:
            stack.stop()
        psql(POSTGRES, f"DROP DATABASE IF EXISTS {target_name} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)
