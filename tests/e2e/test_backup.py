"""`edmo backup` while serving and `edmo restore`, through nginx, on the store of the pass (SQLite or PostgreSQL).

A stack under concurrent write load (threads creating assistants and running chats of several turns, then ending
them) is backed up with `edmo backup --to PATH` while the load runs. The backup is restored into a fresh store with
`edmo restore`, and a second stack started on it. Through its API: every write acknowledged before the backup began
is there, none sent after the backup ended is, and nothing is half written (a chat keeps its greeting and its
turns as question-answer pairs; the one exception is the question of a turn in flight during the backup, which the
service stores before asking the engine, as a crash would leave it). The restore's own check (aggregates equal a
recount) passes, and so do the integrity checks and the aggregates against a recount of the stored conversations.

Each request's start and end are recorded, and the longest request that overlapped the backup is printed beside
the longest before it: the figures of the README's "Backup and restore" (a measurement, never an assertion).
"""
import itertools
import os
import random
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time

import requests

from conftest import ADMIN_EMAIL, EDMO_BIN, Stack, wait_for
from test_reliability import check_everything_acknowledged_exists
from test_resources import ASSISTANT

THREADS = 8
# Knowledge entries of the deployment backed up (about 500 bytes each): BACKUP_ENTRIES=100000 for a bigger file.
ENTRIES = int(os.environ.get("BACKUP_ENTRIES", "2000"))
KNOWN, UNKNOWN = "When is the deadline?", "Is there a dance club?"
GREETING = ASSISTANT["firstMessage"]


class RestoredStack(Stack):
    """A stack on a store `edmo restore` filled: its admin came with the backup, so starting it adds none."""

    def add_user(self, email, role, password="user-password-1", org="default"):
        if email != ADMIN_EMAIL:
            super().add_user(email, role, password, org)


class Load:
    """THREADS clients, each creating assistants and running chats (three turns, then the end), until stopped.
    Every request is recorded as (sent, arrived, status); every acknowledged write with those times."""

    def __init__(self, stack, cookies, assistant):
        self.stack, self.cookies, self.assistant = stack, cookies, assistant
        self.lock = threading.Lock()
        self.numbers = itertools.count()
        self.stop = threading.Event()
        self.requests = []     # (sent, arrived, status or exception name)
        self.assistants = {}   # id -> (sent, arrived)
        self.turns = {}        # chat id -> [(sent, arrived)] of its acknowledged turns, in order
        self.ended = {}        # chat id -> (sent, arrived) of its acknowledged end
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(THREADS)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def send(self, session, method, path, **kw):
        sent = time.time()
        try:
            r = session.request(method, self.stack.base + "/api" + path, timeout=30, **kw)
            status = r.status_code
        except requests.RequestException as error:
            r, status = None, type(error).__name__
        arrived = time.time()
        with self.lock:
            self.requests.append((sent, arrived, status))
        return r if status in (200, 201) else None, sent, arrived

    def client(self):
        session = requests.Session()
        session.cookies.update(self.cookies)
        chat, turns = None, 0
        while not self.stop.is_set():
            n = next(self.numbers)
            if n % 4 == 0:
                r, sent, arrived = self.send(session, "POST", "/assistants", json=dict(ASSISTANT, name=f"backup load {n}"))
                if r is not None:
                    with self.lock:
                        self.assistants[r.json()["id"]] = (sent, arrived)
            elif chat is not None and turns >= 3:
                r, sent, arrived = self.send(session, "POST", f"/chat/{chat}/end")
                if r is not None:
                    with self.lock:
                        self.ended[chat] = (sent, arrived)
                chat, turns = None, 0
            else:
                body = {"assistantId": self.assistant, "message": random.choice((KNOWN, UNKNOWN))}
                if chat is not None:
                    body["previousChatId"] = chat
                r, sent, arrived = self.send(session, "POST", "/chat", json=body)
                if r is not None:
                    chat, turns = r.json()["chatId"], turns + 1
                    with self.lock:
                        self.turns.setdefault(chat, []).append((sent, arrived))

    def acknowledged(self, before):
        with self.lock:
            return (sum(1 for _, arrived in self.assistants.values() if arrived < before),
                    sum(1 for turns in self.turns.values() for _, arrived in turns if arrived < before))


def fill(stack, session):
    """An assistant with a knowledge base of ENTRIES entries (2,000: about 1 MB), so the backup copies more than the
    load writes meanwhile."""
    api = stack.base + "/api"
    assistant = session.post(api + "/assistants", json=ASSISTANT).json()["id"]
    r = session.post(api + f"/assistants/{assistant}/knowledge",
                     json={"title": "Deadline", "content": "Applications close on March 1."})
    assert r.status_code == 201, r.text
    for part in range(0, ENTRIES, 500):
        entries = [{"title": f"Course {part}-{i}", "content": f"Course {part}-{i} meets in room {i} of building {part}. "
                    + "Its syllabus, readings and office hours are on the course page. " * 6}
                   for i in range(min(500, ENTRIES - part))]
        r = session.post(api + f"/assistants/{assistant}/knowledge/import", json={"entries": entries})
        assert r.status_code == 201, r.text
    return assistant


def restore_output(stack, path, *extra):
    r = stack.edmo("restore", "--from", path, *extra, check=False)
    return r.returncode, r.stdout, r.stderr


def test_a_backup_under_write_load_restores_every_acknowledged_write_and_nothing_half_written(request):
    work = tempfile.mkdtemp(prefix="edmo-backup-")
    stacks = request.node.edmo_stacks = []
    try:
        source = Stack(env={"EDMO_WORKERS": "16"})
        stacks.append(source)
        source.start()
        admin = source.session()
        assistant = fill(source, admin)
        path = os.path.join(work, "edmo.backup")

        load = Load(source, admin.cookies, assistant)
        load.start()
        wait_for(lambda: min(load.acknowledged(time.time())) >= 30, timeout=60, what="30 assistants and 30 chat turns")
        began = time.time()
        backup = source.edmo("backup", "--to", path, check=False)
        ended = time.time()
        assert backup.returncode == 0, backup.stdout + backup.stderr
        wait_for(lambda: load.acknowledged(time.time())[1] - load.acknowledged(ended)[1] >= 20, timeout=60,
                 what="20 chat turns after the backup")
        load.finish()
        kind = "pg_dump archive" if source.store == "postgresql" else "SQLite database file"
        assert re.match(rf"backup: wrote {re.escape(path)} \(a {kind}.*, \d+ bytes\) in [0-9.]+ s$", backup.stdout.strip()), backup.stdout
        # The service went on serving through the backup: no request failed.
        assert all(status in (200, 201) for _, _, status in load.requests), sorted({str(s) for *_, s in load.requests})
        assert [name for name in os.listdir(work)] == ["edmo.backup"]  # no temporary file left beside it

        # Restored into a fresh store (an empty database, or no file yet), with the source's secret key.
        restored = RestoredStack(env={"EDMO_SECRET_KEY": source.env["EDMO_SECRET_KEY"], "EDMO_WORKERS": "16"})
        stacks.append(restored)
        code, out, err = restore_output(restored, path)
        assert code == 0, out + err
        lines = out.splitlines()
        assert lines[-1].startswith("restore: done:") and lines[-1].endswith("analytics aggregates equal a recount"), out
        restore_said = lines[-1]
        rows = {line.split()[0]: int(line.split()[1]) for line in lines
                if len(line.split()) == 2 and line.split()[1].isdigit()}
        assert rows["knowledge_entries"] == ENTRIES + 1 and rows["assistants"] >= 31, out
        assert not any("DIFFERS" in line for line in lines), out
        # A store holding data is refused, naming its tables, and left as it was.
        code, out, err = restore_output(restored, path)
        assert code != 0 and "already holds data" in err and f"knowledge_entries ({ENTRIES + 1} rows)" in err, out + err

        restored.start()
        session = restored.session()
        api = restored.base + "/api"

        # Assistants: every one acknowledged before the backup began is there; none sent after it ended is.
        for aid, (sent, arrived) in load.assistants.items():
            status = session.get(api + f"/assistants/{aid}").status_code
            if arrived < began:
                assert status == 200, (aid, status)
            elif sent > ended:
                assert status == 404, (aid, status)

        # Chats: the greeting, then whole turns (question, answer); a lone question only as the last message, of a
        # turn in flight during the backup. Every turn acknowledged before it began is there.
        stored = {cid for (cid,) in restored.sql("SELECT id FROM conversations WHERE channel = 'web'")}
        lone = 0
        assert stored <= set(load.turns), stored - set(load.turns)
        for cid, turns in load.turns.items():
            before = sum(1 for _, arrived in turns if arrived < began)
            possible = sum(1 for sent, _ in turns if sent < ended)
            r = session.get(api + f"/chat/{cid}")
            if r.status_code == 404:
                assert before == 0, (cid, turns)
                continue
            assert r.status_code == 200 and possible > 0, (cid, r.status_code)
            chat = r.json()
            roles = [m["role"] for m in chat["messages"]]
            assert roles[0] == "assistant" and chat["messages"][0]["message"] == GREETING, roles
            pairs = roles[1:]
            complete = len(pairs) // 2
            assert pairs[:2 * complete] == ["user", "assistant"] * complete, (cid, roles)
            assert before <= complete <= possible, (cid, before, complete, possible)
            if len(pairs) % 2:
                assert pairs[-1] == "user", (cid, roles)
                lone += 1
                sent, arrived = turns[complete]
                assert sent <= ended and arrived >= began, f"chat {cid}: a lone question outside the backup"
            if cid in load.ended and load.ended[cid][1] < began:
                assert chat["status"] == "ended", (cid, chat["status"])

        # The aggregates equal a recount of the stored conversations (and the integrity checks pass), and the
        # analytics API counts what is stored.
        class Acked:
            acked = {"assistants": [aid for aid, (_, arrived) in load.assistants.items() if arrived < began],
                     "numbers": [], "calls": []}
        check_everything_acknowledged_exists(restored, Acked)
        counted = restored.sql_one("SELECT COUNT(*) FROM conversations WHERE status = 'ended' AND sentiment IS NOT NULL")[0]
        summary = session.get(api + "/analytics", params={"timeRangeDays": 7}).json()["summary"]
        assert summary["totalConversations"] == counted, (summary, counted)
        # The restored deployment goes on: a chat through the restored knowledge base.
        answer = session.post(api + "/chat", json={"assistantId": assistant, "message": KNOWN})
        assert answer.status_code == 200 and answer.json()["message"] == "Applications close on March 1."

        during = [arrived - sent for sent, arrived, _ in load.requests if sent <= ended and arrived >= began]
        outside = [arrived - sent for sent, arrived, _ in load.requests if arrived < began]
        size = os.path.getsize(path)
        print(f"backup under load ({source.store}): {size / 1e6:.1f} MB in {ended - began:.2f} s (the command, wall clock); "
              f"{len(during)} requests overlapped it, the slowest {max(during or [0]) * 1000:.0f} ms "
              f"(before it: {len(outside)}, the slowest {max(outside or [0]) * 1000:.0f} ms); "
              f"{sum(1 for _, a in load.assistants.values() if a < began)} assistants and "
              f"{sum(1 for t in load.turns.values() for _, a in t if a < began)} turns acknowledged before it began; "
              f"{len(stored)} chats restored, {lone} ending in the question of a turn in flight; {restore_said}")
    finally:
        for stack in stacks:
            stack.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_backup_to_dir_keeps_the_newest_and_restore_refuses_the_other_kind(fresh_stack):
    stack = fresh_stack()
    folder = tempfile.mkdtemp(prefix="edmo-backups-")
    try:
        extension = "pgdump" if stack.store == "postgresql" else "sqlite"
        old = [f"edmo-2024010{day}T023000Z.{extension}" for day in (1, 2, 3)]
        others = ["notes.txt", "edmo-manual.sqlite"]
        for name in old + others:
            with open(os.path.join(folder, name), "w") as f:
                f.write("an older file")
        r = stack.edmo("backup", "--to-dir", folder, "--keep", "2")
        written = re.search(r"backup: wrote (\S+) ", r.stdout).group(1)
        name = os.path.basename(written)
        assert os.path.dirname(written) == folder and re.fullmatch(rf"edmo-\d{{8}}T\d{{6}}Z\.{extension}", name), r.stdout
        assert sorted(os.listdir(folder)) == sorted([old[-1], name] + others)
        assert [line for line in r.stdout.splitlines() if "removed" in line] == [
            f"backup: removed {n} (keeping the newest 2)" for n in old[:2]]
        assert os.stat(written).st_mode & 0o777 == 0o600
        # Neither --to nor --to-dir, or both: refused by the command line.
        assert stack.edmo("backup", check=False).returncode != 0
        assert stack.edmo("backup", "--to", written, "--to-dir", folder, check=False).returncode != 0

        # A backup of the other kind is refused before anything is made or changed.
        def restore(database, backup):
            r = subprocess.run([EDMO_BIN, "restore", "--from", backup], env=dict(stack.env, EDMO_DATABASE=database),
                               capture_output=True, text=True, timeout=60)
            return r.returncode, r.stdout + r.stderr

        other = os.path.join(folder, "other.sqlite")
        archive = written
        if stack.store == "sqlite":
            archive = os.path.join(folder, "fake.pgdump")
            with open(archive, "wb") as f:
                f.write(b"PGDMP\x01\x0e\x00" + b"\x00" * 64)
        code, said = restore(other, archive)
        assert code != 0 and "the backup is a pg_dump archive" in said, said
        assert not os.path.exists(other)
        if stack.store == "postgresql":
            db = sqlite3.connect(other)
            db.execute("CREATE TABLE t (a)")
            db.close()
            code, said = restore(stack.env["EDMO_DATABASE"], other)
            assert code != 0 and "the backup is a SQLite database file" in said and "copy-data" in said, said
            assert stack.sql_one("SELECT COUNT(*) FROM users")[0] == 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
