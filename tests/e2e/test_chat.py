"""Chat through nginx with make run's defaults (no model key): the built-in engine answers from the
assistant's knowledge base, a multi-turn conversation is recorded, an unknown question becomes a gap."""
import requests

from test_resources import ASSISTANT


def test_offline_chat_three_turns_conversation_and_gap(stack):
    admin = stack.session()
    api = stack.base + "/api"
    assistant = admin.post(api + "/assistants", json=ASSISTANT).json()["id"]
    imported = admin.post(api + f"/assistants/{assistant}/knowledge/import", json={"entries": [
        {"title": "Application deadline", "content": "Fall applications close on March 1.",
         "questions": ["When do applications close?"]},
        {"title": "Tuition", "content": "Tuition is $12,000 per year."},
    ]})
    assert imported.status_code == 201 and imported.json() == {"imported": 2}
    added = admin.post(api + f"/assistants/{assistant}/knowledge", json={"title": "Parking", "content": "Permits are $150 a semester."})
    assert added.status_code == 201

    first = admin.post(api + "/chat", json={"assistantId": assistant, "message": "When is the application deadline?"})
    assert first.status_code == 200, first.text
    assert first.json()["message"] == "Fall applications close on March 1."
    chat_id = first.json()["chatId"]
    second = admin.post(api + "/chat", json={"assistantId": assistant, "message": "how much is tuition", "previousChatId": chat_id})
    assert second.json()["message"] == "Tuition is $12,000 per year." and second.json()["chatId"] == chat_id
    third = admin.post(api + "/chat", json={"assistantId": assistant, "message": "Is there a dance club?", "previousChatId": chat_id})
    assert third.json()["message"].startswith("I don't know the answer to that yet")

    conversation = admin.get(api + f"/chat/{chat_id}").json()
    roles = [m["role"] for m in conversation["messages"]]
    assert roles == ["assistant", "user", "assistant", "user", "assistant", "user", "assistant"]  # firstMessage opens
    gaps = admin.get(api + "/knowledge-gaps", params={"assistantId": assistant}).json()
    assert [g["question"] for g in gaps] == ["Is there a dance club?"]

    ended = admin.post(api + f"/chat/{chat_id}/end").json()
    assert ended["status"] == "ended" and ended["resolution"] == "failed" and ended["sentiment"] == "neutral"


def test_chat_refuses_bad_input_and_viewers(stack):
    admin = stack.session()
    r = admin.post(stack.base + "/api/chat", json={"assistantId": "asst_missing", "message": "hi"})
    assert r.status_code == 404 and r.json() == {"error": "Assistant not found"}
    r = admin.post(stack.base + "/api/chat", json={"assistantId": "x"})
    assert r.status_code == 400 and r.json() == {"error": "Missing required field: message"}
    stack.add_user("viewer@chat.edu", "VIEWER")
    viewer = stack.session("viewer@chat.edu", "user-password-1")
    assert viewer.post(stack.base + "/api/chat", json={"assistantId": "x", "message": "hi"}).status_code == 403
