"""No acknowledged update is lost: 50 concurrent PATCHes through nginx, each changing something different,
all survive on every resource; and clients get optimistic concurrency (ETag, If-Match -> 412)."""
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import Stack
from test_resources import ASSISTANT, TWILIO

CLIENTS = 50


@pytest.fixture(scope="module")
def busy():
    # 32 workers: the most interleaving; the probe lost 46-48 of 50 keys here.
    s = Stack(env={"EDMO_WORKERS": "32"}).start()
    yield s
    s.stop()


def concurrently(calls):
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(lambda call: call(), calls))


def patcher(stack, path, body_of):
    """One session per client (a browser each), all PATCHing `path` at once."""
    sessions = [stack.session() for _ in range(4)]

    def make(i):
        return lambda: sessions[i % len(sessions)].patch(stack.base + path, json=body_of(i), timeout=60)
    return [make(i) for i in range(CLIENTS)]


def etag(response):
    """The version tag; nginx's gzip marks it weak (W/) when it compresses the body."""
    return response.headers["ETag"].removeprefix("W/")


def assert_all_ok(responses):
    assert [r.status_code for r in responses] == [200] * CLIENTS, {r.status_code: r.text for r in responses}


@pytest.mark.parametrize("kind", ["assistants", "tools"])
def test_fifty_concurrent_metadata_keys_all_survive(busy, kind):
    admin = busy.session()
    body = ASSISTANT if kind == "assistants" else {
        "type": "function", "function": {"name": "lookup", "description": "Looks things up",
                                          "parameters": {"type": "object", "properties": {}}},
        "server": {"url": "https://tools.example.edu/lookup", "secret": "s3cret-value"}, "metadata": {}}
    created = admin.post(busy.base + f"/api/{kind}", json=body)
    assert created.status_code == 201, created.text
    path = f"/api/{kind}/{created.json()['id']}"
    assert_all_ok(concurrently(patcher(busy, path, lambda i: {"metadata": {f"key{i}": i}})))
    metadata = admin.get(busy.base + path).json()["metadata"]
    assert {f"key{i}" for i in range(CLIENTS)} <= set(metadata)
    # Every PATCH raised the version once: the ETag counts them.
    assert etag(admin.get(busy.base + path)) == f'"{CLIENTS + 1}"'


def test_knowledge_entry_questions_and_text_survive(busy):
    admin = busy.session()
    assistant = admin.post(busy.base + "/api/assistants", json=ASSISTANT).json()
    entry = admin.post(busy.base + f"/api/assistants/{assistant['id']}/knowledge",
                       json={"title": "Deadline", "content": "March 1."}).json()
    path = f"/api/assistants/{assistant['id']}/knowledge/{entry['id']}"
    # Half change the title, half the content; the last writer of each field wins, and both fields change.
    body = lambda i: {"title": f"Title {i}"} if i % 2 else {"content": f"Content {i}"}
    assert_all_ok(concurrently(patcher(busy, path, body)))
    final = admin.get(busy.base + path)
    assert final.json()["title"].startswith("Title ") and final.json()["content"].startswith("Content ")
    assert etag(final) == f'"{CLIENTS + 1}"'


def test_phone_number_name_and_assistant_both_kept(busy):
    admin = busy.session()
    assistants = [admin.post(busy.base + "/api/assistants", json=ASSISTANT).json()["id"] for _ in range(2)]
    lost = 0
    for round_ in range(20):
        number = dict(TWILIO, twilioPhoneNumber=f"+1786555{round_:04d}")
        pn = admin.post(busy.base + "/api/phone-numbers", json=number).json()
        path = busy.base + f"/api/phone-numbers/{pn['id']}"
        name, target = f"Desk {round_}", assistants[round_ % 2]
        results = concurrently([lambda: admin.patch(path, json={"name": name}),
                                lambda: admin.patch(path, json={"assistantId": target})])
        assert [r.status_code for r in results] == [200, 200]
        final = admin.get(path).json()
        lost += (final["name"] != name) + (final["assistantId"] != target)
    assert lost == 0


def test_users_concurrent_name_and_role(busy):
    admin = busy.session()
    user = admin.post(busy.base + "/api/users", json={"email": "probe@example.edu", "password": "probe-password-1",
                                                      "role": "VIEWER"}).json()
    path = busy.base + f"/api/users/{user['id']}"
    results = concurrently([lambda: admin.patch(path, json={"name": "Probe"}),
                            lambda: admin.patch(path, json={"role": "EDITOR"})])
    assert [r.status_code for r in results] == [200, 200]
    final = admin.get(path).json()
    assert (final["name"], final["role"]) == ("Probe", "EDITOR")


def test_etag_and_if_match(busy):
    admin = busy.session()
    created = admin.post(busy.base + "/api/assistants", json=ASSISTANT)
    assert etag(created) == '"1"'
    path = busy.base + f"/api/assistants/{created.json()['id']}"
    read = admin.get(path).headers["ETag"]
    first = admin.patch(path, json={"name": "First"}, headers={"If-Match": read})
    assert first.status_code == 200 and etag(first) == '"2"'
    # A client that read version 1 and writes after someone else: 412, nothing changed.
    stale = admin.patch(path, json={"name": "Stale"}, headers={"If-Match": read})
    assert stale.status_code == 412 and "error" in stale.json()
    assert admin.get(path).json()["name"] == "First"
    assert admin.delete(path, headers={"If-Match": read}).status_code == 412
    assert admin.get(path).status_code == 200
    assert admin.delete(path, headers={"If-Match": '"2"'}).status_code == 200
