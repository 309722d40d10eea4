"""Streaming chat through nginx: POST /api/chat with "stream": true answers Server-Sent Events (chat, delta...,
done), fed by a local fake of the OpenAI and Anthropic streaming APIs that streams slowly.

"Slowly" is an ordering, not a speed: the fake sends its first piece, then waits until the test says it has
read that piece as a `delta` event before it sends the rest. A buffering hop (nginx, libfcgi, the app) would
hold the first piece back, so the client would see nothing while the fake waits: the model call would time out
(an `error` event instead of `done`), or the fake give up waiting (`gave_up`) and finish first. No assertion
depends on how fast anything is. (Checked: with `fastcgi_ignore_headers X-Accel-Buffering;` added to the
snippet, the first test fails.)"""
import http.server
import json
import threading

import pytest
import requests

from conftest import wait_for
from test_resources import ASSISTANT

PIECES = ["Fall ", "applications ", "close ", "on ", "March 1."]
GAP_PIECES = ["[[UNK", "NOWN]] I don't ", "know that ", "yet."]


class FakeModel:
    """OpenAI (/v1/chat/completions) and Anthropic (/v1/messages) on 127.0.0.1, both in streaming mode.
    `pieces` is what the next streamed reply says; after the first piece it waits for `release`. `finished`
    is set once the whole reply is sent. `break_off`: the stream stops after the first piece, without its
    end marker."""

    def __init__(self):
        self.pieces = PIECES
        self.break_off = False
        self.release = threading.Event()
        self.first_sent = threading.Event()
        self.finished = threading.Event()
        self.gave_up = threading.Event()
        self.requests = []
        model = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model.requests.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                anthropic = self.path == "/v1/messages"
                if anthropic:
                    self.event("message_start", {"type": "message_start", "message": {"id": "msg_1", "content": []}})
                    self.event("content_block_start", {"type": "content_block_start", "index": 0,
                                                       "content_block": {"type": "text", "text": ""}})
                    self.wfile.write(b"event: ping\ndata: {\"type\": \"ping\"}\n\n")
                for i, piece in enumerate(model.pieces):
                    if anthropic:
                        self.event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                           "delta": {"type": "text_delta", "text": piece}})
                    else:
                        # CRLF line ends and a comment line: both are valid SSE the parser must take.
                        chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                        self.wfile.write(b": keep-alive\r\ndata: " + json.dumps(chunk).encode() + b"\r\n\r\n")
                    self.wfile.flush()
                    if i == 0:
                        model.first_sent.set()
                        if not model.release.wait(60):
                            model.gave_up.set()
                        if model.break_off:
                            return
                if anthropic:
                    self.event("content_block_stop", {"type": "content_block_stop", "index": 0})
                    self.event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}})
                    self.event("message_stop", {"type": "message_stop"})
                else:
                    done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                    self.wfile.write(b"data: " + json.dumps(done).encode() + b"\n\ndata: [DONE]\n\n")
                self.wfile.flush()
                model.finished.set()

            def event(self, name, data):
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self, pieces=PIECES, break_off=False):
        self.pieces, self.break_off = pieces, break_off
        for event in (self.release, self.first_sent, self.finished, self.gave_up):
            event.clear()

    def close(self):
        self.release.set()
        self.server.shutdown()


def events(response):
    """(name, data) for each event of an SSE response, as the lines arrive."""
    name, data = "message", []
    for line in response.iter_lines(decode_unicode=True, chunk_size=1):
        if line == "":
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))


@pytest.fixture(scope="module")
def model():
    fake = FakeModel()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def llm_stack(model):
    from conftest import Stack
    s = Stack(env={"OPENAI_BASE_URL": model.url + "/v1", "ANTHROPIC_BASE_URL": model.url,
                   "EDMO_ALLOW_PRIVATE_URLS": "1", "EDMO_MAX_CHAT_STREAMS": "1"})
    try:
        yield s.start()
    finally:
        s.stop()


def assistant(session, base, provider):
    body = dict(ASSISTANT, model={"provider": provider, "model": "m-1", "messages": [{"role": "system", "content": "Be brief."}]})
    r = session.post(base + "/api/assistants", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def open_stream(stack, session, body, accept=False):
    """POST /api/chat as a stream. The one stream slot (EDMO_MAX_CHAT_STREAMS=1) frees itself once the previous
    test's stream is wholly done on the server, which may be just after that test saw its end: a 503 then is
    retried."""
    answer = []

    def opened():
        # accept: ask with the Accept header instead of "stream": true.
        r = session.post(stack.base + "/api/chat", json=body if accept else dict(body, stream=True), stream=True, timeout=120,
                         headers={"Accept": "text/event-stream"} if accept else {})
        if r.status_code == 503:
            r.close()
            return False
        answer.append(r)
        return True

    wait_for(opened, timeout=30, what="a free stream slot")
    assert answer[0].status_code == 200, answer[0].text
    return answer[0]


def stored(stack, chat_id):
    return [(m["role"], m["message"]) for m in stack.session().get(stack.base + f"/api/chat/{chat_id}").json()["messages"]]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_deltas_arrive_before_the_model_finishes_and_the_stored_message_is_their_concatenation(llm_stack, model, provider):
    admin = llm_stack.session()
    assistant_id = assistant(admin, llm_stack.base, provider)
    model.reset()
    r = open_stream(llm_stack, admin, {"assistantId": assistant_id, "message": "When do applications close?"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert "Content-Length" not in r.headers and "gzip" not in r.headers.get("Content-Encoding", "")
    seen, deltas, finished_at_first_delta = [], [], None
    for name, data in events(r):
        seen.append(name)
        if name == "delta":
            if not deltas:
                finished_at_first_delta = model.finished.is_set()
                model.release.set()  # only now may the fake send the rest
            deltas.append(data["text"])
        if name == "done":
            done = data
    # The model finished only because the client had read the first delta: it came through before the rest.
    assert seen[0] == "chat" and seen[-1] == "done" and set(seen[1:-1]) == {"delta"}, seen
    assert finished_at_first_delta is False and not model.gave_up.is_set()
    assert deltas[0] == "Fall" and "".join(deltas) == "Fall applications close on March 1."
    assert done["message"] == "".join(deltas) and done["knowledgeGap"] is None and done["cost"] is None
    assert set(done) == {"message", "chatId", "cost", "timestamp", "knowledgeGap"}
    assert stored(llm_stack, done["chatId"])[-2:] == [("user", "When do applications close?"), ("assistant", done["message"])]
    path, body = model.requests[-1]
    assert body["stream"] is True and path == ("/v1/chat/completions" if provider == "openai" else "/v1/messages")


def test_the_gap_marker_split_across_pieces_never_shows_and_records_a_gap(llm_stack, model):
    admin = llm_stack.session()
    assistant_id = assistant(admin, llm_stack.base, "anthropic")
    model.reset(GAP_PIECES)
    model.release.set()
    r = open_stream(llm_stack, admin, {"assistantId": assistant_id, "message": "Is there a rowing club?"}, accept=True)
    got = list(events(r))
    deltas = "".join(d["text"] for n, d in got if n == "delta")
    done = got[-1][1]
    assert got[-1][0] == "done" and deltas == done["message"] == "I don't know that yet."
    assert "UNK" not in json.dumps(got)
    assert done["knowledgeGap"]["question"] == "Is there a rowing club?" and done["knowledgeGap"]["status"] == "pending"
    assert stored(llm_stack, done["chatId"])[-1] == ("assistant", "I don't know that yet.")


def test_a_client_that_leaves_mid_stream_still_leaves_a_complete_stored_turn(llm_stack, model):
    admin = llm_stack.session()
    assistant_id = assistant(admin, llm_stack.base, "openai")
    model.reset()
    r = open_stream(llm_stack, admin, {"assistantId": assistant_id, "message": "When do applications close?"})
    stream = events(r)
    name, chat = next(stream)
    assert name == "chat"
    name, delta = next(stream)
    assert name == "delta" and delta == {"text": "Fall"}
    r.close()  # the client goes away with one piece of five
    model.release.set()
    assert model.finished.wait(60)
    chat_id = chat["chatId"]
    wait_for(lambda: stored(llm_stack, chat_id)[-1][0] == "assistant", timeout=60, what="the answer stored")
    assert stored(llm_stack, chat_id)[-2:] == [("user", "When do applications close?"),
                                               ("assistant", "Fall applications close on March 1.")]
    wait_for(lambda: "the client left the chat stream" in llm_stack.log(), timeout=30, what="edmo to see the client leave")


def test_over_the_cap_a_stream_is_503_with_retry_after_and_other_requests_are_served(llm_stack, model):
    admin = llm_stack.session()
    assistant_id = assistant(admin, llm_stack.base, "openai")
    model.reset()
    first = open_stream(llm_stack, admin, {"assistantId": assistant_id, "message": "When do applications close?"})
    stream = events(first)
    assert next(stream)[0] == "chat"
    assert model.first_sent.wait(60)  # the one stream allowed (EDMO_MAX_CHAT_STREAMS=1) is open
    count = llm_stack.sql_one("SELECT COUNT(*) FROM conversations")[0]
    second = requests.post(llm_stack.base + "/api/chat", cookies=admin.cookies, timeout=30,
                           json={"assistantId": assistant_id, "message": "And tuition?", "stream": True})
    assert second.status_code == 503 and second.headers["Retry-After"] == "1"
    assert second.json() == {"error": "The server is busy; try again shortly"}
    assert llm_stack.sql_one("SELECT COUNT(*) FROM conversations")[0] == count  # nothing stored
    # Everything else is still served meanwhile.
    assert admin.get(llm_stack.base + "/api/assistants").status_code == 200
    model.release.set()
    rest = [name for name, _ in stream]
    assert rest[-1] == "done"


def test_a_model_that_breaks_off_is_an_error_event_and_the_turn_records_the_failure(llm_stack, model):
    admin = llm_stack.session()
    assistant_id = assistant(admin, llm_stack.base, "openai")
    model.reset(break_off=True)
    model.release.set()
    r = open_stream(llm_stack, admin, {"assistantId": assistant_id, "message": "When do applications close?"})
    got = list(events(r))
    assert [n for n, _ in got] == ["chat", "delta", "error"]
    assert got[-1][1] == {"error": "The assistant's language model did not answer; your message was saved. Try again later."}
    last = stored(llm_stack, got[0][1]["chatId"])
    assert last[-2] == ("user", "When do applications close?") and last[-1][0] == "error"


def test_the_built_in_engine_sends_its_answer_as_one_delta(stack):
    admin = stack.session()
    api = stack.base + "/api"
    assistant_id = admin.post(api + "/assistants", json=ASSISTANT).json()["id"]
    admin.post(api + f"/assistants/{assistant_id}/knowledge", json={"title": "Parking", "content": "Permits are $150 a semester."})
    r = admin.post(api + "/chat", json={"assistantId": assistant_id, "message": "How much is a parking permit?", "stream": True},
                   stream=True, timeout=60)
    got = list(events(r))
    assert [n for n, _ in got] == ["chat", "delta", "done"]
    assert got[1][1] == {"text": "Permits are $150 a semester."} and got[2][1]["message"] == "Permits are $150 a semester."
    chat_id = got[0][1]["chatId"]
    assert got[2][1]["chatId"] == chat_id
    assert stored(stack, chat_id) == [("assistant", "Hi, how can I help?"), ("user", "How much is a parking permit?"),
                                      ("assistant", "Permits are $150 a semester.")]
    # A later streamed turn of the same chat, and the errors before a stream starts, are plain JSON.
    r = admin.post(api + "/chat", json={"assistantId": assistant_id, "message": "thanks", "previousChatId": chat_id, "stream": True})
    assert [line for line in r.text.splitlines() if line.startswith("event:")] == ["event: chat", "event: delta", "event: done"]
    r = admin.post(api + "/chat", json={"assistantId": "asst_missing", "message": "hi", "stream": True})
    assert r.status_code == 404 and r.json() == {"error": "Assistant not found"}
    r = admin.post(api + "/chat", headers={"Accept": "text/event-stream"}, json={"assistantId": assistant_id})
    assert r.status_code == 400 and r.json() == {"error": "Missing required field: message"}
    # "stream": false wins over the Accept header.
    r = admin.post(api + "/chat", headers={"Accept": "text/event-stream"},
                   json={"assistantId": assistant_id, "message": "How much is a parking permit?", "stream": False})
    assert r.headers["Content-Type"] == "application/json" and r.json()["message"] == "Permits are $150 a semester."


def test_the_dashboard_chat_shows_the_answer_as_it_arrives(llm_stack, model):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from test_dashboard import fill, go, sign_in, text_in, visible, wait
    from conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    assistant_id = assistant(llm_stack.session(), llm_stack.base, "openai")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        sign_in(d, llm_stack.base, ADMIN_EMAIL, ADMIN_PASSWORD)
        text_in(d, "#user-role", "ADMIN")
        model.reset()
        go(d, llm_stack.base, f"chat?assistantId={assistant_id}")
        box = visible(d, "#chat-message")
        fill(box, "When do applications close?")
        box.send_keys(Keys.ENTER)
        # The first piece is on the page while the model still holds back the rest.
        text_in(d, "#chat-log .bubble.assistant.streaming .text", "Fall")
        assert d.find_element(By.CSS_SELECTOR, "#chat-log .bubble.streaming .text").text == "Fall"
        assert not model.finished.is_set()
        model.release.set()
        wait(d).until(lambda drv: not drv.find_elements(By.CSS_SELECTOR, "#chat-log .bubble.streaming"))
        answers = d.find_elements(By.CSS_SELECTOR, "#chat-log .bubble.assistant .text")
        assert [a.text for a in answers] == ["Fall applications close on March 1."]
        assert d.find_element(By.CSS_SELECTOR, "#chat-id").get_attribute("data-chat-id").startswith("chat_")
        severe = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe
    finally:
        model.release.set()
        d.quit()
