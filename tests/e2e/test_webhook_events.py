"""Outbound events (README "Outbound events"): the endpoints API, and delivery through nginx to a receiver on
127.0.0.1 started here that fails, times out and answers 500 at random: every event arrives at least once,
in order per conversation, with a signature verified as the README tells users; SIGKILL mid-delivery loses
nothing; both signatures during a rotation's grace; the SSRF guard; with two hosts each delivery is claimed
once."""
import collections
import http.server
import json
import os
import random
import re
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import REPO, wait_for
from test_resources import ASSISTANT

SECRET = "events-webhook-secret-0123456789abcdef"
EVENTS = ["conversation.ended", "knowledge_gap.created", "call.ingested",
          "assistant.created", "assistant.updated", "assistant.deleted"]
# Fast schedules for tests: 50 ms first retry, 1 s timeout (lease 7 s), a 50 ms poll.
FAST = {"EDMO_ALLOW_PRIVATE_URLS": "1", "EDMO_EVENT_RETRY_BASE_MS": "50", "EDMO_EVENT_TIMEOUT_MS": "1000",
        "EDMO_EVENT_POLL_MS": "50", "EDMO_EVENT_MAX_ATTEMPTS": "40", "EDMO_WEBHOOK_SECRET": SECRET}


def readme_verifiers():
    """The Python and shell verifiers of README "Outbound events", exactly as users copy them."""
    with open(os.path.join(REPO, "README.md")) as f:
        section = f.read().split("### Outbound events", 1)[1].split("\n## ", 1)[0]
    python = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shell = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    names = {}
    exec(python, names)
    return names["verify"], shell


verify, SHELL_VERIFIER = readme_verifiers()


def verify_in_shell(secret, header, body):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "body.json"), "wb") as f:
            f.write(body)
        r = subprocess.run(["sh", "-c", SHELL_VERIFIER], cwd=d, capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, SIG=header, EDMO_SECRET=secret))
    return r.returncode == 0 and r.stdout.strip() == "valid"


class Receiver:
    """The customer's server. chaos: each request at random answers 200, 500, drops the connection, or
    sleeps past edmo's 1 s timeout. `acked` keeps (event id, subject) of each prompt 2xx, in order."""

    def __init__(self, chaos=0.0, delay=0.0):
        self.chaos, self.delay = chaos, delay
        self.requests, self.acked, self.lock = [], [], threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append((dict(self.headers), body))
                roll = random.random() if receiver.chaos else 1.0
                if roll < receiver.chaos / 3:
                    self.send_response(500)
                    self.end_headers()
                    return
                if roll < 2 * receiver.chaos / 3:
                    time.sleep(1.5)  # past the timeout: edmo gives up and sends it again later
                elif roll < receiver.chaos:
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                if roll >= 2 * receiver.chaos / 3 or not receiver.chaos:
                    event = json.loads(body)
                    with receiver.lock:
                        receiver.acked.append((event["id"], subject(event)))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()

    def event_ids(self):
        with self.lock:
            return {json.loads(body)["id"] for _, body in self.requests}


def subject(event):
    data = event["data"]
    return data.get("conversationId") or data["id"] if event["type"] == "knowledge_gap.created" else data["id"]


def endpoint(session, api, url, types=EVENTS):
    r = session.post(api + "/webhook-endpoints", json={"url": url, "eventTypes": types, "description": "ours"})
    assert r.status_code == 201, r.text
    return r.json()


def report(call_id, assistant):
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return json.dumps({"message": {
        "type": "end-of-call-report", "endedReason": "customer-ended-call", "durationSeconds": 42, "startedAt": now,
        "call": {"id": call_id, "type": "inboundPhoneCall", "createdAt": now, "assistantId": assistant},
        "analysis": {"summary": "ok", "successEvaluation": "true"},
        "artifact": {"messages": [{"role": "bot", "message": "Hi"}, {"role": "user", "message": "Thanks"}]}}})


def make_events(stack, session, conversations=4):
    """Assistant changes, chats with a knowledge gap that end, call reports (twice each: two events)."""
    api = stack.base + "/api"
    assistant = session.post(api + "/assistants", json=ASSISTANT).json()["id"]
    assert session.patch(api + f"/assistants/{assistant}", json={"name": "Renamed"}).status_code == 200
    for n in range(conversations):
        chat = session.post(api + "/chat", json={"assistantId": assistant, "message": f"Where is building {n} on Mars?"})
        assert chat.status_code == 200, chat.text
        assert session.post(api + f"/chat/{chat.json()['chatId']}/end").status_code == 200
        for _ in range(2):
            r = requests.post(api + "/webhooks/provider", data=report(f"call-{n}-{time.time_ns()}", assistant), timeout=10,
                              headers={"Content-Type": "application/json", "X-Vapi-Secret": SECRET})
            assert r.status_code == 200, r.text
    other = session.post(api + "/assistants", json=ASSISTANT).json()["id"]
    assert session.delete(api + f"/assistants/{other}").status_code == 200
    return assistant


def stored_events(stack):
    """(event id, subject, type) of every delivery, in the order written."""
    return stack.sql("SELECT event_id, subject, event_type FROM webhook_deliveries ORDER BY seq")


def deliveries_under_way(fresh_stack, receiver):
    """A stack with an endpoint to `receiver` and the events of six conversations, their delivery begun."""
    stack = fresh_stack(env=FAST)
    api = stack.base + "/api"
    admin = stack.session()
    endpoint(admin, api, receiver.url)
    make_events(stack, admin, conversations=6)
    wait_for(lambda: len(receiver.requests) >= 3, timeout=30, what="deliveries under way")
    return stack


def all_settled(stack):
    return stack.sql("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")[0][0] == 0


def test_endpoints_api_secret_once_admins_only_and_audited(fresh_stack):
    stack = fresh_stack(env=FAST)
    api = stack.base + "/api"
    admin = stack.session()
    created = endpoint(admin, api, "https://hooks.example.com/edmo", ["conversation.ended", "assistant.created"])
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    assert created["eventTypes"] == ["conversation.ended", "assistant.created"]
    got = admin.get(api + f"/webhook-endpoints/{created['id']}").json()
    assert "secret" not in got and got["url"] == "https://hooks.example.com/edmo"
    for n in range(3):
        endpoint(admin, api, f"https://hooks.example.com/{n}")
    page = admin.get(api + "/webhook-endpoints", params={"limit": 2, "offset": 1})
    assert page.headers["X-Total-Count"] == "4" and len(page.json()) == 2
    assert all("secret" not in e for e in page.json())
    patched = admin.patch(api + f"/webhook-endpoints/{created['id']}",
                          json={"enabled": False, "eventTypes": ["call.ingested"], "description": None})
    assert patched.status_code == 200 and patched.json()["enabled"] is False and patched.json()["description"] is None
    assert admin.patch(api + f"/webhook-endpoints/{created['id']}", json={"eventTypes": ["nope"]}).status_code == 400
    assert admin.patch(api + f"/webhook-endpoints/{created['id']}", json={"url": "ftp://x"}).status_code == 400
    rotated = admin.post(api + f"/webhook-endpoints/{created['id']}/rotate-secret")
    assert rotated.status_code == 200 and rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previousSecretExpiresAt"] is not None
    assert admin.post(api + f"/webhook-endpoints/{created['id']}/rotate-secret", json={"graceSeconds": -1}).status_code == 400
    for role in ("EDITOR", "VIEWER"):
        stack.add_user(f"{role.lower()}@example.edu", role)
        other = stack.session(f"{role.lower()}@example.edu", "user-password-1")
        assert other.get(api + "/webhook-endpoints").status_code == 403
        assert other.post(api + "/webhook-endpoints", json={"url": "https://x.example", "eventTypes": EVENTS}).status_code == 403
        assert other.post(api + f"/webhook-endpoints/{created['id']}/rotate-secret").status_code == 403
    assert admin.delete(api + f"/webhook-endpoints/{created['id']}").status_code == 200
    assert admin.get(api + f"/webhook-endpoints/{created['id']}").status_code == 404
    log = admin.get(api + "/audit-log", params={"targetType": "webhook_endpoint", "limit": 100}).json()
    actions = collections.Counter(entry["action"] for entry in log)
    assert actions["webhook_endpoint.create"] == 4 and actions["webhook_endpoint.update"] == 1
    assert actions["webhook_endpoint.rotate_secret"] == 1 and actions["webhook_endpoint.delete"] == 1
    text = json.dumps(log)
    assert created["secret"] not in text and rotated.json()["secret"] not in text


def test_the_ssrf_guard_refuses_private_addresses_when_not_allowed(fresh_stack):
    stack = fresh_stack(env={"EDMO_WEBHOOK_SECRET": SECRET})
    api = stack.base + "/api"
    admin = stack.session()
    for url in ("http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/", "http://[::1]/", "http://2130706433/"):
        r = admin.post(api + "/webhook-endpoints", json={"url": url, "eventTypes": EVENTS})
        assert r.status_code == 400 and "private network" in r.json()["error"], (url, r.text)


def test_every_event_arrives_at_least_once_in_order_and_signed_through_chaos(fresh_stack):
    receiver = Receiver(chaos=0.45)
    try:
        stack = fresh_stack(env=FAST)
        api = stack.base + "/api"
        admin = stack.session()
        hook = endpoint(admin, api, receiver.url)
        make_events(stack, admin)
        wait_for(lambda: all_settled(stack), timeout=120, what="every delivery settled")
        stored = stored_events(stack)
        assert {t for _, _, t in stored} == set(EVENTS)
        statuses = collections.Counter(s for (s,) in stack.sql("SELECT status FROM webhook_deliveries"))
        assert statuses == {"delivered": len(stored)}, statuses
        assert {e for e, _, _ in stored} <= receiver.event_ids()
        for headers, body in receiver.requests:
            assert verify(hook["secret"], headers["Edmo-Signature"], body), headers
            assert headers["Edmo-Event-Id"] == json.loads(body)["id"]
        # Per subject, the events acknowledged first came in the order they were written.
        written = collections.defaultdict(list)
        for event_id, subj, _ in stored:
            written[subj].append(event_id)
        acked = collections.defaultdict(list)
        for event_id, subj in receiver.acked:
            if event_id not in acked[subj]:
                acked[subj].append(event_id)
        for subj, ids in acked.items():
            assert ids == [i for i in written[subj] if i in ids], subj
        attempts = sum(a for (a,) in stack.sql("SELECT attempts FROM webhook_deliveries"))
        assert attempts > len(stored)  # the chaos did make edmo try again
        deliveries = admin.get(api + f"/webhook-endpoints/{hook['id']}/deliveries", params={"limit": 5})
        assert deliveries.headers["X-Total-Count"] == str(len(stored)) and len(deliveries.json()) == 5
        first = deliveries.json()[0]
        assert first["status"] == "delivered" and first["lastStatus"] == 200 and first["responseMs"] >= 0
        again = admin.post(api + f"/webhook-endpoints/{hook['id']}/deliveries/{first['id']}/retry")
        assert again.status_code == 202 and again.json()["status"] == "pending"
        before = sum(1 for _, body in receiver.requests if json.loads(body)["id"] == first["eventId"])
        wait_for(lambda: all_settled(stack), timeout=60, what="the delivery sent again")
        after = sum(1 for _, body in receiver.requests if json.loads(body)["id"] == first["eventId"])
        assert after > before
        assert admin.post(api + f"/webhook-endpoints/{hook['id']}/deliveries/dlv_none/retry").status_code == 404
    finally:
        receiver.stop()


def test_sigkill_mid_delivery_loses_nothing(fresh_stack):
    receiver = Receiver(delay=0.3)
    try:
        stack = deliveries_under_way(fresh_stack, receiver)
        stack.crash()
        pending = stack.sql("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")[0][0]
        assert pending > 0
        stack.launch()
        wait_for(lambda: all_settled(stack), timeout=120, what="every delivery settled after the restart")
        stored = stored_events(stack)
        assert {e for e, _, _ in stored} <= receiver.event_ids()
        assert stack.sql("SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")[0][0] == 0
    finally:
        receiver.stop()


def test_sigterm_gives_back_the_claimed_deliveries_it_did_not_post(fresh_stack):
    """SIGTERM: the delivery threads' claims not yet posted are given back (claimable at once, their attempt not
    counted) rather than left leased until the lease runs out; the posts in hand are recorded; the next start
    delivers the rest."""
    receiver = Receiver(delay=0.3)
    try:
        stack = deliveries_under_way(fresh_stack, receiver)
        code, _ = stack.terminate()
        assert code == 0
        assert re.search(r"outbound events: gave back \d+ claimed deliveries not yet posted", stack.log()), stack.log()[-2000:]
        assert stack.sql("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")[0][0] > 0
        assert stack.sql("SELECT count(*) FROM webhook_deliveries WHERE lease_until IS NOT NULL")[0][0] == 0
        # The receiver answers every post: a pending delivery was never posted, so it counts no attempt.
        assert stack.sql("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND attempts > 0")[0][0] == 0
        posted = len(receiver.requests)
        assert stack.sql("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")[0][0] == posted
        stack.launch()
        wait_for(lambda: all_settled(stack), timeout=60, what="every delivery settled after the restart")
        assert stack.sql("SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")[0][0] == 0
        assert {e for e, _, _ in stored_events(stack)} == receiver.event_ids()
        assert len(receiver.requests) == len(stored_events(stack))  # each posted once
    finally:
        receiver.stop()


def test_both_signatures_are_valid_during_the_grace_period(fresh_stack):
    receiver = Receiver()
    try:
        stack = fresh_stack(env=FAST)
        api = stack.base + "/api"
        admin = stack.session()
        hook = endpoint(admin, api, receiver.url, ["assistant.created", "assistant.updated"])
        rotated = admin.post(api + f"/webhook-endpoints/{hook['id']}/rotate-secret").json()
        assistant = admin.post(api + "/assistants", json=ASSISTANT).json()["id"]
        wait_for(lambda: len(receiver.requests) == 1, timeout=30, what="the first event")
        headers, body = receiver.requests[0]
        assert headers["Edmo-Signature"].count("v1=") == 2
        assert verify(hook["secret"], headers["Edmo-Signature"], body)
        assert verify(rotated["secret"], headers["Edmo-Signature"], body)
        assert not verify("whsec_wrong", headers["Edmo-Signature"], body)
        assert verify_in_shell(hook["secret"], headers["Edmo-Signature"], body)
        assert verify_in_shell(rotated["secret"], headers["Edmo-Signature"], body)
        assert not verify_in_shell("whsec_wrong", headers["Edmo-Signature"], body)
        assert not verify_in_shell(rotated["secret"], headers["Edmo-Signature"], body + b" ")
        # Grace 0: the previous secret stops signing at once.
        final = admin.post(api + f"/webhook-endpoints/{hook['id']}/rotate-secret", json={"graceSeconds": 0}).json()
        assert final["previousSecretExpiresAt"] is None
        assert admin.patch(api + f"/assistants/{assistant}", json={"name": "Again"}).status_code == 200
        wait_for(lambda: len(receiver.requests) == 2, timeout=30, what="the second event")
        headers, body = receiver.requests[1]
        assert headers["Edmo-Signature"].count("v1=") == 1
        assert verify(final["secret"], headers["Edmo-Signature"], body)
        assert not verify(rotated["secret"], headers["Edmo-Signature"], body)
        event = json.loads(body)
        assert event["type"] == "assistant.updated" and event["data"]["name"] == "Again"
    finally:
        receiver.stop()


@pytest.mark.postgres_only("several hosts on one database need a database server")
def test_two_hosts_claim_each_delivery_once(fresh_fleet):
    receiver = Receiver()
    try:
        fleet = fresh_fleet(env=FAST)
        api = fleet.base + "/api"
        admin = fleet.session()
        endpoint(admin, api, receiver.url)
        endpoint(admin, api, receiver.url)
        make_events(fleet, admin, conversations=8)
        wait_for(lambda: all_settled(fleet), timeout=120, what="every delivery settled")
        ids = collections.Counter(h["Edmo-Delivery-Id"] for h, _ in receiver.requests)
        stored = fleet.sql("SELECT id, attempts, status FROM webhook_deliveries")
        assert len(stored) == len(ids) and all(n == 1 for n in ids.values()), ids.most_common(3)
        assert all(a == 1 and s == "delivered" for _, a, s in stored)
    finally:
        receiver.stop()
