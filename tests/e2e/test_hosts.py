"""Several hosts, proven: two `edmo serve` processes on one PostgreSQL database behind one nginx `upstream`
(round robin, `fastcgi_next_upstream error timeout`), as a deployment that outgrows one machine runs them.

- a session made through one host works on the other, and what one host writes the other reads and changes;
- the login throttle counts across both hosts (each counter: account and address, address, account);
- 64 clients of mixed load across both: no 5xx, no acknowledged write lost;
- SIGKILL of one host under that load: requests in flight on it may get 502, every later request is served by
  the other, and afterwards every acknowledged write is there and the analytics aggregates equal a recount.

A Fleet (conftest.py) gives each host an nginx of its own (`fleet.hosts[i].base`) to send a request to that
host; a request through the upstream (`fleet.base`) is traced to its host by its X-Request-Id in that host's
edmo.log. Runs on the PostgreSQL pass only (SQLite is one file on one host). HOSTS_SECONDS (default 20) is
how long each load runs.
"""
import concurrent.futures
import hashlib
import itertools
import json
import os
import random
import time

import pytest
import requests

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from test_nginx import fetch
from test_reliability import SECRET, Writer, check_everything_acknowledged_exists
from test_resources import ASSISTANT

pytestmark = pytest.mark.postgres_only("several hosts on one database need a database server; "
                                       "SQLite is one file on one host")

SECONDS = int(os.environ.get("HOSTS_SECONDS", "20"))
# Each host: 16 workers, so PostgreSQL sees at most 2 x 20 connections (EDMO_DATABASE_POOL = workers + 2 + 2 delivery threads).
ENV = {"EDMO_WEBHOOK_SECRET": SECRET, "EDMO_WORKERS": "16"}
KNOWN, UNKNOWN = "When is the deadline?", "Is there a dance club?"
# The load: reads and webhook reports (the reliability test's), assistant creates, renames and deletes, chats.
KINDS = ["read", "read", "call", "call", "create", "rename", "rename", "delete", "chat", "chat"]


def test_a_session_made_on_one_host_works_on_the_other(fresh_fleet):
    fleet = fresh_fleet(env=ENV)
    a, b = fleet.hosts
    session = requests.Session()
    r = session.post(a.base + "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert r.status_code == 200 and fleet.serving(r.headers["X-Request-Id"]) == 0
    token = session.cookies["auth-token"]
    me = session.get(b.base + "/api/auth/me")
    assert me.status_code == 200 and me.json()["user"]["email"] == ADMIN_EMAIL
    assert fleet.serving(me.headers["X-Request-Id"]) == 1

    # What one host writes the other reads, and changes under the same versions (ETag, If-Match).
    created = session.post(b.base + "/api/assistants", json=ASSISTANT)
    assert created.status_code == 201, created.text
    path = f"/api/assistants/{created.json()['id']}"
    read = session.get(a.base + path)
    assert read.status_code == 200 and read.json()["name"] == ASSISTANT["name"]
    etag = read.headers["ETag"].removeprefix("W/")
    assert session.patch(b.base + path, json={"name": "Renamed on B"}, headers={"If-Match": etag}).status_code == 200
    stale = session.patch(a.base + path, json={"name": "Stale on A"}, headers={"If-Match": etag})
    assert stale.status_code == 412, stale.text
    assert session.get(a.base + path).json()["name"] == "Renamed on B"

    # Through the upstream: both hosts serve (round robin), the session holds on each.
    served = []
    for _ in range(20):
        r = session.get(fleet.base + "/api/auth/me")
        assert r.status_code == 200, r.text
        served.append(fleet.serving(r.headers["X-Request-Id"]))
    assert served.count(0) >= 5 and served.count(1) >= 5, served

    # Logging out through one host ends the session on the other.
    assert session.post(b.base + "/api/auth/logout").status_code == 200
    r = requests.get(a.base + "/api/auth/me", headers={"Cookie": f"auth-token={token}"})
    assert r.status_code == 401 and fleet.serving(r.headers["X-Request-Id"]) == 0


def test_the_login_throttle_counts_across_both_hosts(fresh_fleet):
    fleet = fresh_fleet(env=dict(ENV, EDMO_LOGIN_MAX_FAILURES="5", EDMO_LOGIN_ADDRESS_MAX_FAILURES="8",
                                 EDMO_LOGIN_ACCOUNT_MAX_FAILURES="6"))
    for email in ("victim@hosts.edu", "spray@hosts.edu", "burst@hosts.edu"):
        fleet.add_user(email, "EDITOR")

    def login(port, email, source, password="wrong-password"):
        """(status, headers) of a login from this loopback address through the nginx at `port`."""
        status, headers, _ = fetch(port, "POST", "/api/auth/login", {"Content-Type": "application/json"},
                                   json.dumps({"email": email, "password": password}), source)
        return status, headers

    def host(i):
        return fleet.hosts[i % 2].port  # alternately the first and the second host

    def stored_failures(kind, value):
        row = fleet.sql_one("SELECT failures FROM login_failures WHERE key = ?",
                            (hashlib.sha256(f"{kind}\n{value}".encode()).hexdigest(),))
        return row and row[0]

    # One account from one address: 5 failures over both hosts lock the pair on both, the right password too;
    # the owner elsewhere still logs in.
    codes = [login(host(i), "victim@hosts.edu", "127.0.0.41")[0] for i in range(6)]
    assert codes == [401] * 5 + [429], codes
    assert login(host(1), "victim@hosts.edu", "127.0.0.41", "user-password-1")[0] == 429
    assert login(host(0), "victim@hosts.edu", "127.0.0.42", "user-password-1")[0] == 200

    # One address, many accounts: 8 failures over both hosts lock the address on both, for any account.
    codes = [login(host(i), f"nobody{i}@hosts.edu", "127.0.0.43")[0] for i in range(9)]
    assert codes == [401] * 8 + [429], codes
    assert login(host(1), "victim@hosts.edu", "127.0.0.43", "user-password-1")[0] == 429
    assert stored_failures("address", "127.0.0.43") == 8

    # One account from many addresses: past 6 failures over both hosts, an address that never logged in to it
    # gets 429 (Retry-After) on either host; the address its owner logged in from is not slowed.
    assert login(host(0), "spray@hosts.edu", "127.0.0.50", "user-password-1")[0] == 200
    codes = [login(host(i), "spray@hosts.edu", f"127.0.0.{51 + i}")[0] for i in range(6)]
    assert codes == [401] * 6, codes
    assert stored_failures("account", "spray@hosts.edu") == 6
    for i in (0, 1):
        status, headers = login(host(i), "spray@hosts.edu", f"127.0.0.{60 + i}", "user-password-1")
        assert status == 429 and int(headers["retry-after"]) >= 1, (i, status, headers)
    assert login(host(1), "spray@hosts.edu", "127.0.0.50", "user-password-1")[0] == 200

    # At once through the upstream, from 12 addresses: each failure either host records is counted once (no
    # update lost between the hosts); 429 once the account is past its limit, 503 when a host sheds a login.
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda i: login(fleet.port, "burst@hosts.edu", f"127.0.0.{70 + i}"), range(12)))
    statuses = [status for status, _ in answers]
    assert set(statuses) <= {401, 429, 503}, statuses
    assert stored_failures("account", "burst@hosts.edu") == statuses.count(401) >= 6, statuses
    assert {fleet.serving(headers["x-request-id"]) for status, headers in answers if status != 503} == {0, 1}


class Client(Writer):
    """One client of the load, with a session of its own: the reliability test's webhook reports and reads
    (Writer.one), plus assistants it creates, renames and deletes, and chats it begins, continues and ends.
    It keeps what the server acknowledged, what it sent without an answer (a 502 or no response: may or may
    not be stored), and each request's (start, end, method, status, X-Request-Id)."""

    def __init__(self, fleet, cookies, assistant, shared):
        super().__init__(fleet, requests.Session(), assistant)
        self.session.cookies.update(cookies)
        self.acked, self.lock = shared.acked, shared.lock  # the webhook reports acknowledged, by every client
        self.timeline = []
        self.mine = {}        # assistant id -> [name acknowledged last, names sent since without an answer]
        self.deleted = []     # assistants whose DELETE was acknowledged (one with no answer is not checked)
        self.chats = {}       # chat id -> {"acked": turns, "sent": turns, "ended": True | None (no answer)}
        self.open_chat = None
        self.unknown_asked = [0, 0]  # the unknown question: [acknowledged, sent]

    def one(self, kind, n):
        started = time.time()
        if kind in ("read", "call"):
            r, self.method = super().one(kind, n), "GET" if kind == "read" else "POST"
        else:
            r = getattr(self, kind)(n)
        self.timeline.append((started, time.time(), self.method, self.statuses[-1],
                              r.headers.get("X-Request-Id") if r is not None else None))

    def send(self, method, path, **kw):
        self.method = method
        try:
            r = self.session.request(method, self.stack.base + "/api" + path, timeout=10, **kw)
        except requests.RequestException as error:
            self.statuses.append(type(error).__name__)
            return None
        self.statuses.append(r.status_code)
        return r

    def create(self, n):
        r = self.send("POST", "/assistants", json=dict(ASSISTANT, name=f"load {n}"))
        if r is not None and r.status_code == 201:
            self.mine[r.json()["id"]] = [f"load {n}", []]
        return r

    def rename(self, n):
        if not self.mine:
            return self.create(n)
        aid = random.choice(list(self.mine))
        r = self.send("PATCH", f"/assistants/{aid}", json={"name": f"renamed {n}"})
        if r is not None and r.status_code == 200 and r.json()["name"] == f"renamed {n}":
            self.mine[aid] = [f"renamed {n}", []]
        else:
            self.mine[aid][1].append(f"renamed {n}")
        return r

    def delete(self, n):
        if not self.mine:
            return self.create(n)
        aid = random.choice(list(self.mine))
        del self.mine[aid]
        r = self.send("DELETE", f"/assistants/{aid}")
        # 404: nginx re-sent the DELETE (idempotent) to the other host after the first one had deleted it and died.
        if r is not None and r.status_code in (200, 404):
            self.deleted.append(aid)
        return r

    def chat(self, n):
        cid = self.open_chat
        if cid is not None and self.chats[cid]["sent"] >= 3:
            self.open_chat = None
            r = self.send("POST", f"/chat/{cid}/end")
            self.chats[cid]["ended"] = True if r is not None and r.status_code == 200 else None
            return r
        question = random.choice((KNOWN, UNKNOWN))
        body = {"assistantId": self.assistant, "message": question}
        if cid is not None:
            body["previousChatId"] = cid
            self.chats[cid]["sent"] += 1
        self.unknown_asked[1] += question == UNKNOWN
        r = self.send("POST", "/chat", json=body)
        if r is not None and r.status_code == 200:
            self.unknown_asked[0] += question == UNKNOWN
            if cid is None:
                cid = self.open_chat = r.json()["chatId"]
                self.chats[cid] = {"acked": 0, "sent": 1, "ended": False}
            assert r.json()["chatId"] == cid
            self.chats[cid]["acked"] += 1
        return r


def run_load(fleet, seconds, clients=64, beside=None):
    """`clients` Clients send requests of random KINDS through the upstream for `seconds`; `beside()`, if
    given, runs in a thread of its own meanwhile. Returns (the shared Writer, the clients, seconds taken)."""
    admin = fleet.session()
    assistant = admin.post(fleet.base + "/api/assistants", json=ASSISTANT).json()["id"]
    r = admin.post(fleet.base + f"/api/assistants/{assistant}/knowledge",
                   json={"title": "Deadline", "content": "Applications close on March 1."})
    assert r.status_code == 201, r.text
    shared = Writer(fleet, admin, assistant)
    everyone = [Client(fleet, admin.cookies, assistant, shared) for _ in range(clients)]
    numbers = itertools.count()
    started = time.time()
    deadline = started + seconds

    def work(client):
        while time.time() < deadline:
            client.one(random.choice(KINDS), next(numbers))

    with concurrent.futures.ThreadPoolExecutor(clients + 1) as pool:
        futures = [pool.submit(work, c) for c in everyone] + ([pool.submit(beside)] if beside else [])
        for f in futures:
            f.result()
    return shared, everyone, time.time() - started


def check_acknowledged(fleet, shared, clients, exact):
    """Every acknowledged write is stored, and nothing else (exact: every request was acknowledged, so the
    stored state is exactly what the clients were told); the analytics aggregates equal a recount."""
    kept = {aid: names for c in clients for aid, names in c.mine.items()}
    shared.acked["assistants"] = list(kept)
    check_everything_acknowledged_exists(fleet, shared)  # also the reports, amcheck and the recount

    stored = {aid: json.loads(body)["name"] for aid, body in fleet.sql("SELECT id, body FROM assistants")}
    deleted = [aid for c in clients for aid in c.deleted]
    assert not [aid for aid in deleted if aid in stored], "an acknowledged DELETE did not stay"
    for aid, (name, unanswered) in kept.items():
        assert stored[aid] in [name] + unanswered, (aid, stored[aid], name, unanswered)
        assert not (exact and unanswered)

    messages = dict(fleet.sql("SELECT conversation_id, COUNT(*) FROM conversation_messages GROUP BY 1"))
    status = dict(fleet.sql("SELECT id, status FROM conversations WHERE channel = 'web'"))
    chats = {cid: c for client in clients for cid, c in client.chats.items()}
    for cid, c in chats.items():
        # The first message, then a question and its answer per turn.
        assert 1 + 2 * c["acked"] <= messages.get(cid, 0) <= 1 + 2 * c["sent"], (cid, c, messages.get(cid))
        assert not (exact and c["acked"] != c["sent"])
        if c["ended"]:
            assert status[cid] == "ended", (cid, status[cid])
    asked = [sum(c.unknown_asked[i] for c in clients) for i in (0, 1)]
    gaps = fleet.sql_one("SELECT COALESCE(SUM(occurrences), 0) FROM knowledge_gaps WHERE question = ?", (UNKNOWN,))[0]
    assert asked[0] <= gaps <= asked[1], (gaps, asked)
    return {"assistants": len(kept), "deleted": len(deleted), "chats": len(chats),
            "ended": sum(1 for c in chats.values() if c["ended"]), "reports": len(shared.acked["calls"])}


def test_mixed_load_on_two_hosts_no_5xx_no_lost_write(fresh_fleet):
    fleet = fresh_fleet(env=ENV)
    shared, clients, took = run_load(fleet, SECONDS)
    timeline = [entry for c in clients for entry in c.timeline]
    statuses = [status for _, _, _, status, _ in timeline]
    assert len(statuses) > 1000, f"only {len(statuses)} requests in {took:.0f} s"
    failed = [(method, status, f"{start - timeline[0][0]:.1f} s in") for start, _, method, status, _ in sorted(timeline)
              if status not in (200, 201)]
    assert not failed, f"{len(failed)} failed: {failed[:10]}"
    # Round robin: each host served a fair share.
    shares = [len(fleet.request_ids(i) & {rid for *_, rid in timeline}) for i in (0, 1)]
    assert min(shares) > 0.3 * len(timeline), shares
    counts = check_acknowledged(fleet, shared, clients, exact=True)
    slowest = max(end - start for start, end, *_ in timeline)
    print(f"two hosts, mixed load: {len(statuses)} requests by 64 clients in {took:.1f} s "
          f"(hosts {shares[0]} / {shares[1]}), slowest {slowest * 1000:.0f} ms; {counts}")


def test_sigkill_one_host_under_load_the_other_serves_on(fresh_fleet):
    # The hosts on TCP, as in production (`server 10.0.0.11:9000;`), answering nginx's address only.
    fleet = fresh_fleet(env=dict(ENV, FCGI_WEB_SERVER_ADDRS="127.0.0.1"), mode="tcp")
    victim, survivor = 1, 0
    marks = {}

    # The load goes on for more than nginx's fail_timeout (10 s) after the kill: then nginx tries the dead
    # host again, and those requests too must reach the survivor.
    killed_at = min(5, SECONDS / 4)
    seconds = max(SECONDS, killed_at + 13)

    def kill():
        time.sleep(killed_at)
        marks["kill"] = time.time()
        fleet.hosts[victim].crash()
        marks["dead"] = time.time()

    shared, clients, took = run_load(fleet, seconds, beside=kill)
    timeline = [entry for c in clients for entry in c.timeline]
    before = [e for e in timeline if e[1] < marks["kill"]]
    in_flight = [e for e in timeline if e[0] <= marks["dead"] and e[1] >= marks["kill"]]
    after = [e for e in timeline if e[0] > marks["dead"]]
    assert len(before) > 300 and len(after) > 600, (len(before), len(after))

    # Before the kill both hosts served; in flight on the dead host, a POST or PATCH may get 502 (nginx does
    # not re-send it: the write may have been applied), a re-sent DELETE 404; nothing else fails.
    rids = {i: fleet.request_ids(i) for i in (0, 1)}
    assert all(len(rids[i] & {e[4] for e in before}) > 0.3 * len(before) for i in (0, 1))
    assert not [e for e in before if e[3] not in (200, 201)], "a failure before the kill"
    odd = [e for e in in_flight if e[3] not in (200, 201, 502) and not (e[2] == "DELETE" and e[3] == 404)]
    assert not odd, odd
    resent = [e for e in in_flight if e[3] == 502 and e[2] in ("GET", "DELETE")]
    assert not resent, f"a GET or DELETE in flight was not re-sent to the other host: {resent[:3]}"
    # Every request sent after the host died is served by the other one (nginx skips the refused socket).
    assert {e[3] for e in after} <= {200, 201}, sorted({str(e[3]) for e in after})
    unserved = [e for e in after if e[4] not in rids[survivor]]
    assert not unserved, unserved[:3]
    counts = check_acknowledged(fleet, shared, clients, exact=False)
    failed = sum(1 for e in in_flight if e[3] == 502)
    print(f"two hosts, SIGKILL of one under load: {len(timeline)} requests by 64 clients in {took:.1f} s, "
          f"{len(in_flight)} in flight at the kill ({failed} answered 502, "
          f"{sum(1 for e in in_flight if e[3] == 404)} re-sent DELETEs 404), {len(after)} after it, all served "
          f"by the survivor; {counts}")
