"""EDMO_PROVIDER=vapi: the real libcurl client against a fake Vapi-compatible server on 127.0.0.1.
Provider first, then the local copy; failures change nothing; a crash in between orphans nothing."""
import threading

import pytest
import requests

from conftest import wait_for
from fake_vapi import FakeVapi
from test_resources import ASSISTANT, TWILIO, TWILIO_TOKEN


@pytest.fixture
def vapi(fresh_stack):
    fake = FakeVapi()
    stack = fresh_stack(env={"EDMO_PROVIDER": "vapi", "EDMO_PROVIDER_URL": fake.url,
                             "EDMO_PROVIDER_API_KEY": fake.api_key, "EDMO_PROVIDER_TIMEOUT_SECONDS": "2",
                             "EDMO_PHONE_SYNC_SECONDS": "0",
                             "EDMO_ALLOW_PRIVATE_URLS": "1"})
    yield stack, fake, stack.session()
    fake.close()


def rows(stack, sql):
    return stack.sql(sql)


def test_crud_goes_to_the_platform_first(vapi):
    stack, fake, admin = vapi
    base = stack.base + "/api"
    a = admin.post(base + "/assistants", json=ASSISTANT)
    assert a.status_code == 201, a.text
    body = a.json()
    remote = fake.store["assistant"][body["providerId"]]
    assert remote["metadata"]["edmoId"] == body["id"]
    assert remote["model"]["model"] == "gpt-4o"
    assert fake.calls("POST", "/assistant")[0]["auth"] == "Bearer " + fake.api_key
    # Either id reaches it.
    assert admin.get(base + f"/assistants/{body['providerId']}").json()["id"] == body["id"]
    assert admin.patch(base + f"/assistants/{body['id']}", json={"name": "Renamed"}).status_code == 200
    assert fake.store["assistant"][body["providerId"]]["name"] == "Renamed"

    t = admin.post(base + "/tools", json={"type": "function", "provider": "crm",
                                          "function": {"name": "f", "description": "d", "parameters": {"type": "object"}},
                                          "server": {"url": "https://crm.example.edu/x", "secret": "tool-secret-1"}})
    assert t.status_code == 201, t.text
    remote_tool = fake.store["tool"][t.json()["providerId"]]
    assert "provider" not in remote_tool               # the label is local only
    assert remote_tool["server"]["secret"] == "tool-secret-1"  # the platform needs it
    assert "tool-secret-1" not in t.text

    assert admin.delete(base + f"/assistants/{body['id']}").status_code == 200
    assert body["providerId"] not in fake.store["assistant"]


@pytest.mark.parametrize("mode,status", [("reject", 400), ("error", 502), ("slow", 502), ("garbage", 502)])
def test_platform_failures_change_nothing(vapi, mode, status):
    stack, fake, admin = vapi
    base = stack.base + "/api"
    existing = admin.post(base + "/assistants", json=ASSISTANT).json()
    fake.mode = mode
    r = admin.post(base + "/assistants", json=ASSISTANT)
    assert r.status_code == status, r.text
    if mode == "reject":
        assert r.json()["error"] == "The voice platform rejected the request: model.provider must be one of openai"
    else:
        assert "voice platform is unavailable" in r.json()["error"]
    assert admin.patch(base + f"/assistants/{existing['id']}", json={"name": "Changed"}).status_code == status
    assert admin.delete(base + f"/assistants/{existing['id']}").status_code == status
    fake.mode = "ok"
    assert admin.get(base + "/assistants").headers["X-Total-Count"] == "1"
    assert admin.get(base + f"/assistants/{existing['id']}").json() == existing
    assert rows(stack, "SELECT COUNT(*) FROM provider_operations") == [(0,)]


def test_a_crash_between_platform_and_local_write_orphans_nothing(vapi):
    stack, fake, admin = vapi
    fake.delay = 3  # the platform stores the assistant, then answers slowly
    fake.received.clear()
    result = {}
    worker = threading.Thread(target=lambda: result.update(r=admin.post(stack.base + "/api/assistants", json=ASSISTANT, timeout=30)))
    worker.start()
    assert fake.received.wait(10)
    stack.crash()  # edmo dies after the platform accepted, before the local write
    worker.join(30)
    assert result["r"].status_code == 502  # nginx: the upstream went away; the client never saw success
    assert len(fake.store["assistant"]) == 1
    assert rows(stack, "SELECT COUNT(*) FROM provider_operations") == [(1,)]

    fake.delay = 0
    stack.launch()  # the next start settles the leftover operation before it takes requests
    assert "recovered provider create of assistant" in stack.log()
    assert fake.store["assistant"] == {}
    assert rows(stack, "SELECT COUNT(*) FROM provider_operations") == [(0,)]
    assert rows(stack, "SELECT COUNT(*) FROM assistants") == [(0,)]
    assert "recovered provider create of assistant" in stack.log()


def test_phone_numbers_on_the_platform(vapi):
    stack, fake, admin = vapi
    base = stack.base + "/api"
    assistant = admin.post(base + "/assistants", json=ASSISTANT).json()
    bought = admin.post(base + "/phone-numbers", json={"provider": "edmo", "numberDesiredAreaCode": "786", "assistantId": assistant["id"]})
    assert bought.status_code == 201, bought.text
    assert bought.json()["number"].startswith("+1786")
    remote = fake.store["phone-number"][bought.json()["providerId"]]
    assert remote["provider"] == "vapi" and remote["assistantId"] == assistant["providerId"]

    imported = admin.post(base + "/phone-numbers", json=TWILIO)
    assert imported.status_code == 201
    assert fake.store["phone-number"][imported.json()["providerId"]]["twilioAuthToken"] == TWILIO_TOKEN
    assert TWILIO_TOKEN not in imported.text

    vonage = admin.post(base + "/phone-numbers", json={"provider": "vonage", "vonagePhoneNumber": "+442071838750",
                                                       "vonageApiKey": "vk", "vonageApiSecret": "vonage-secret-2"})
    assert vonage.status_code == 201, vonage.text
    credential_id = fake.store["phone-number"][vonage.json()["providerId"]]["credentialId"]
    assert fake.store["credential"][credential_id]["apiSecret"] == "vonage-secret-2"

    # The list reflects the platform: one bought elsewhere appears at once; one released there is marked
    # missing at the first sync and goes at the second (EDMO_PHONE_SYNC_SECONDS=0 here).
    fake.store["phone-number"].pop(bought.json()["providerId"])
    fake.store["phone-number"]["outside-1"] = {"id": "outside-1", "provider": "twilio", "number": "+13055550100",
                                               "name": "Bought elsewhere", "createdAt": "2020-01-01T00:00:00.000Z"}
    numbers = {n["number"] for n in admin.get(base + "/phone-numbers").json()}
    assert {bought.json()["number"], "+13055550100", "+17865550199", "+442071838750"} <= numbers
    numbers = {n["number"] for n in admin.get(base + "/phone-numbers").json()}
    assert bought.json()["number"] not in numbers
    assert {"+13055550100", "+17865550199", "+442071838750"} <= numbers
    renamed = admin.patch(base + f"/phone-numbers/{imported.json()['id']}", json={"name": "Front desk"})
    assert renamed.json()["name"] == "Front desk"
    assert fake.store["phone-number"][imported.json()["providerId"]]["name"] == "Front desk"
    assert admin.delete(base + f"/phone-numbers/{imported.json()['id']}").status_code == 200
    assert imported.json()["providerId"] not in fake.store["phone-number"]
    assert TWILIO_TOKEN not in stack.log()


def test_chat_goes_through_the_platform(vapi):
    stack, fake, admin = vapi
    assistant = admin.post(stack.base + "/api/assistants", json=ASSISTANT).json()
    first = admin.post(stack.base + "/api/chat", json={"assistantId": assistant["id"], "message": "Hello there"})
    assert first.status_code == 200, first.text
    assert first.json()["message"] == "Platform says: Hello there" and first.json()["cost"] == 0.002
    second = admin.post(stack.base + "/api/chat", json={"assistantId": assistant["id"], "message": "Again",
                                                        "previousChatId": first.json()["chatId"]})
    chats = fake.calls("POST", "/chat")
    assert chats[0]["body"] == {"assistantId": assistant["providerId"], "input": "Hello there"}
    assert chats[1]["body"]["previousChatId"]  # the platform's own chat id of the first turn
    assert second.json()["chatId"] == first.json()["chatId"]


def test_import_calls_backfills_resumably(vapi):
    stack, fake, admin = vapi
    assistant = admin.post(stack.base + "/api/assistants", json=ASSISTANT).json()
    for i in range(5):
        fake.store["call"][f"imp-{i}"] = {
            "id": f"imp-{i}", "type": "outboundPhoneCall", "createdAt": f"2026-01-0{i + 1}T10:00:00.000Z",
            "startedAt": f"2026-01-0{i + 1}T10:00:00.000Z", "endedAt": f"2026-01-0{i + 1}T10:01:00.000Z",
            "assistantId": assistant["providerId"], "endedReason": "customer-ended-call",
            "analysis": {"summary": "Imported.", "successEvaluation": "true"},
            "artifact": {"messages": [{"role": "bot", "message": "Hi"}, {"role": "user", "message": "Thanks, great"}]}}
    first = stack.edmo("import-calls", "--since", "2025-12-31")
    assert "stored or updated 5 conversations" in first.stdout
    again = stack.edmo("import-calls", "--since", "2025-12-31")
    assert "stored or updated 0 conversations" in again.stdout  # resumes after the last call it saw
    assert rows(stack, "SELECT COUNT(*), SUM(duration_seconds) FROM conversations WHERE id LIKE 'imp-%'") == [(5, 300)]
    assert rows(stack, "SELECT sentiment FROM conversations WHERE id = 'imp-0'") == [("positive",)]


def test_a_platform_on_this_host_is_refused_unless_allowed(fresh_stack):
    fake = FakeVapi()
    try:
        stack = fresh_stack(env={"EDMO_PROVIDER": "vapi", "EDMO_PROVIDER_URL": fake.url, "EDMO_PROVIDER_API_KEY": fake.api_key})
        r = stack.session().post(stack.base + "/api/assistants", json=ASSISTANT)
        assert r.status_code == 502
        assert fake.requests == []  # nothing left this process
        assert "EDMO_ALLOW_PRIVATE_URLS" in stack.log()
    finally:
        fake.close()


def test_phone_number_sync_never_deletes_on_a_bad_list(vapi):
    """A failed, empty or truncated platform list deletes nothing; paging reads past the first page, also
    when the platform pages by fewer than `limit`; a number gone from the platform goes at the second miss."""
    stack, fake, admin = vapi
    base = stack.base + "/api"
    mine = admin.post(base + "/phone-numbers", json=TWILIO).json()
    # 1,200 numbers bought elsewhere, older than ours: two pages of the platform's list.
    for i in range(1200):
        fake.store["phone-number"][f"outside-{i}"] = {"id": f"outside-{i}", "provider": "twilio", "number": f"+1305555{i:04d}",
                                                     "createdAt": "2020-01-01T00:00:%02d.%06dZ" % (i // 1000, i)}
    listed = admin.get(base + "/phone-numbers?limit=1000")
    assert int(listed.headers["X-Total-Count"]) == 1201
    saved = dict(fake.store["phone-number"])
    for broken in ("error", "empty", "truncated") * 2:
        if broken == "error":
            fake.mode = "error"
        elif broken == "empty":
            fake.store["phone-number"].clear()
        else:  # full pages of 100 without `createdAt`: the rest of the list cannot be read
            fake.page_cap, fake.strip_created = 100, True
        assert admin.get(base + "/phone-numbers").status_code == 200
        fake.mode, fake.page_cap, fake.strip_created = "ok", None, False
        fake.store["phone-number"].update(saved)
    assert admin.get(base + f"/phone-numbers/{mine['id']}").status_code == 200
    assert int(admin.get(base + "/phone-numbers").headers["X-Total-Count"]) == 1201
    assert "the platform's list is empty" in stack.log() and "the platform's list is incomplete" in stack.log()
    # Pages of 100 (whatever `limit` says) are read to the end: only the number really released goes.
    fake.page_cap = 100
    fake.store["phone-number"].pop("outside-7")
    assert int(admin.get(base + "/phone-numbers").headers["X-Total-Count"]) == 1201  # marked missing
    assert int(admin.get(base + "/phone-numbers").headers["X-Total-Count"]) == 1200  # missed twice: gone
    assert admin.get(base + f"/phone-numbers/{mine['id']}").status_code == 200


def test_changing_a_tools_url_keeps_its_secret_from_the_new_url(vapi):
    stack, fake, admin = vapi
    tool = admin.post(stack.base + "/api/tools", json={
        "type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}},
        "server": {"url": "https://crm.example.edu/hook", "secret": "tool-secret-value"}}).json()
    assert fake.store["tool"][tool["providerId"]]["server"]["secret"] == "tool-secret-value"
    moved = admin.patch(stack.base + f"/api/tools/{tool['id']}", json={"server": {"url": "https://elsewhere.example/x"}})
    assert moved.status_code == 200, moved.text
    assert "secret" not in fake.store["tool"][tool["providerId"]]["server"]
    assert rows(stack, "SELECT COUNT(*) FROM tool_secrets") == [(0,)]
