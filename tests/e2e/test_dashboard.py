"""The dashboard in a real browser (headless Debian chromium + chromedriver) against the real stack.

Walks the app as its users would, one story per test: an EDITOR builds and tests an assistant (each story
in an organisation of its own, starting from what its fixtures made through the API), a VIEWER only reads.
Every page is saved to docs/screenshots/NAME.png (on the SQLite pass). Any SEVERE browser console entry fails
the test, except the API's own 4xx answers that the UI handles and shows (wrong password, 401 before sign-in,
a validation error): Chrome logs those as "Failed to load resource".
"""
import itertools
import json
import os
import re
import tempfile
from urllib.parse import urlparse

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from a11y import assert_accessible
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, POSTGRES, REPO

# The README's screenshots come from the default store's pass; the PostgreSQL pass keeps its own aside.
SHOTS = os.path.join(tempfile.gettempdir(), "edmo-screenshots-postgresql") if POSTGRES else os.path.join(REPO, "docs", "screenshots")
EDITOR = "editor@example.edu"
VIEWER = "viewer@example.edu"
PASSWORD = "user-password-1"
# API answers the UI handles on purpose; anything else SEVERE is a bug.
EXPECTED_API_ERRORS = re.compile(r"/api/\S* - Failed to load resource: the server responded with a status of (400|401)")


@pytest.fixture(scope="module")
def users(stack):
    stack.add_user(EDITOR, "EDITOR")
    stack.add_user(VIEWER, "VIEWER")
    return stack


@pytest.fixture
def driver(users, request):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    d.severe = []
    failed_before = request.session.testsfailed
    yield d
    if request.session.testsfailed > failed_before:
        d.save_screenshot(os.path.join(tempfile.gettempdir(), f"dashboard-failure-{request.node.name}.png"))
        print("page at failure:", d.current_url, d.find_element(By.TAG_NAME, "body").text[:2000])
    try:
        collect_log(d)
        assert not d.severe, f"browser console errors: {d.severe}"
    finally:
        d.quit()


def collect_log(d):
    for entry in d.get_log("browser"):
        if entry["level"] == "SEVERE" and not EXPECTED_API_ERRORS.search(entry["message"]):
            d.severe.append(entry["message"])


def wait(d, timeout=15):
    # A page may render a table again while a condition reads it: a row read then is stale, and read anew.
    return WebDriverWait(d, timeout, ignored_exceptions=(StaleElementReferenceException,))


def visible(d, css, timeout=15):
    return wait(d, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def clickable(d, css):
    return wait(d).until(EC.element_to_be_clickable((By.CSS_SELECTOR, css)))


def text_in(d, css, text):
    wait(d).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))


def idle(d):
    """No request in flight (the app's loading indicator is hidden)."""
    wait(d).until(lambda drv: not drv.execute_script("return document.body.classList.contains('is-busy')"))


def shot(d, name):
    """Saves the page as docs/screenshots/NAME.png, after axe-core found no violation on it (every state worth a
    picture is a state to check; states without one call assert_accessible themselves)."""
    idle(d)
    assert_accessible(d, name)
    os.makedirs(SHOTS, exist_ok=True)
    d.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def go(d, base, route):
    d.get(f"{base}/#/{route}")


def fill(el, value):
    el.clear()
    el.send_keys(value)


def sign_in(d, base, email, password=PASSWORD):
    go(d, base, "login")
    email_input = visible(d, "#login-form input[name=email]")
    fill(email_input, email)
    fill(d.find_element(By.CSS_SELECTOR, "#login-form input[name=password]"), password)
    d.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()


def stray_text(d):
    """Text nodes in the view that are only a JavaScript value's name: a null or false the code appended as text."""
    return d.execute_script("""
        const walker = document.createTreeWalker(document.getElementById('view'), NodeFilter.SHOW_TEXT);
        const found = [];
        while (walker.nextNode()) {
            const t = walker.currentNode.textContent.trim();
            if (['null', 'undefined', 'false', 'true', 'NaN', '[object Object]'].includes(t)) found.push(t);
        }
        return found;""")


def no_stray_values(d):
    idle(d)
    assert not stray_text(d), stray_text(d)
    text = d.find_element(By.ID, "view").text
    assert not re.search(r"(?<![\w-])(null|undefined)(?![\w-])", text), text


def field(d, name, scope="#assistant-form"):
    return d.find_element(By.CSS_SELECTOR, f'{scope} [data-field="{name}"]')


# --- An EDITOR's stories. Each starts from an organisation of its own, so what it sees is only what its
# fixtures made: no story depends on another having run first.

ASSISTANT = {  # the Admissions helper as the "New assistant" form sends it (test_editor_creates_an_assistant_...)
    "name": "Admissions helper", "firstMessage": "Hi! Ask me about admissions.", "firstMessageMode": "assistant-waits-for-user",
    "maxDurationSeconds": 600, "endCallPhrases": ["goodbye", "bye for now"], "backgroundSound": "office", "recordingEnabled": True,
    "model": {"provider": "openai", "model": "gpt-4o", "temperature": 0.4, "maxTokens": 512,
              "messages": [{"role": "system", "content": "You are the admissions office's assistant."}]},
    "voice": {"provider": "openai", "voiceId": "alloy"}, "transcriber": {"provider": "deepgram", "model": "nova-2"},
}
KNOWLEDGE = [  # the knowledge base as test_editor_adds_imports_and_edits_knowledge leaves it
    {"title": "Application deadline", "content": "Applications close on March 15th.",
     "questions": ["When do applications close?", "Last day to apply?"]},
    {"title": "Campus tours", "content": "Tours run every Friday, at 10am."},
    {"title": "Tuition fees", "content": "Tuition is 9000 euros per year."},
    {"title": "Library hours", "content": "The library opens 8am to 10pm, Monday to Saturday."},
]
# One greeting, one known answer, one unknown question (a knowledge gap).
CHAT_TURNS = ["Hello!", "When is the application deadline?", "Do you offer scholarships?"]
TOOL = {"type": "apiRequest", "name": "crm_lookup", "method": "POST", "url": "https://crm.example.edu/lookup", "provider": "salesforce"}
_orgs = itertools.count(1)


class Editor:
    """An EDITOR alone in a new organisation, with an API session to set up what a story starts from."""

    def __init__(self, stack):
        n = next(_orgs)
        self.base = stack.base
        self.org = f"Story {n}"
        self.email = f"editor{n}@example.edu"
        stack.add_user(self.email, "EDITOR", org=self.org)
        self.http = stack.session(self.email, PASSWORD)

    def api(self, method, path, body=None):
        r = self.http.request(method, self.base + "/api" + path, json=body, timeout=30)
        assert r.status_code in (200, 201), (method, path, r.status_code, r.text)
        return r.json() if r.text else None


@pytest.fixture
def editor(users):
    return Editor(users)


@pytest.fixture
def signed_in(editor, driver):
    """The browser, signed in as `editor`, on the assistant list."""
    sign_in(driver, editor.base, editor.email)
    text_in(driver, "#user-role", "EDITOR")
    visible(driver, "#view[data-view=assistants] .list > :not(.loading)")
    return driver


@pytest.fixture
def assistant(editor):
    return editor.api("POST", "/assistants", ASSISTANT)


@pytest.fixture
def knowledge(editor, assistant):
    """`assistant`, with its knowledge base filled."""
    for entry in KNOWLEDGE:
        editor.api("POST", f"/assistants/{assistant['id']}/knowledge", entry)
    return assistant


@pytest.fixture
def conversation(editor, knowledge):
    """The chat of CHAT_TURNS with `knowledge`, ended: one web conversation in Analytics, one pending gap. Its id."""
    chat_id = None
    for question in CHAT_TURNS:
        body = {"assistantId": knowledge["id"], "message": question}
        if chat_id:
            body["previousChatId"] = chat_id
        chat_id = editor.api("POST", "/chat", body)["chatId"]
    editor.api("POST", f"/chat/{chat_id}/end")
    return chat_id


@pytest.fixture
def tool(editor):
    return editor.api("POST", "/tools", TOOL)


def test_editor_signs_in_to_an_empty_organisation_and_signs_out(editor, driver):
    d, base = driver, editor.base

    # Sign-in page first: an unknown session lands there.
    d.get(base + "/")
    visible(d, "#login-form")
    assert d.find_element(By.CSS_SELECTOR, "label[for]").text
    shot(d, "login")
    sign_in(d, base, editor.email)
    text_in(d, "#user-name", editor.email)
    text_in(d, "#user-role", "EDITOR")
    text_in(d, "#user-org", editor.org)
    visible(d, "#view[data-view=assistants] .empty")
    shot(d, "assistants-empty")

    # Sign out: back to the sign-in form, and the API session is gone.
    go(d, base, "assistants")
    clickable(d, "#sign-out").click()
    shown = visible(d, "#login-form")
    go(d, base, "tools")
    wait(d).until(EC.staleness_of(shown))  # a new sign-in form, after #/tools got its 401
    visible(d, "#login-form")


def test_editor_creates_an_assistant_after_a_field_error_and_finds_it_in_the_list(editor, signed_in):
    d, base = signed_in, editor.base

    # Create an assistant; a validation error is shown next to its field first.
    clickable(d, "#new-assistant").click()
    visible(d, "#assistant-form")
    assert d.current_url.endswith("#/assistants/new")
    text_in(d, "#view h1", "New assistant")
    no_stray_values(d)  # once showed a stray "null" under the heading
    fill(field(d, "name"), "Admissions helper")
    fill(field(d, "firstMessage"), "Hi! Ask me about admissions.")
    Select(field(d, "firstMessageMode")).select_by_value("assistant-waits-for-user")
    Select(field(d, "model.provider")).select_by_value("openai")
    fill(field(d, "model.model"), "gpt-4o")
    fill(field(d, "model.temperature"), "5")
    fill(field(d, "model.maxTokens"), "512")
    fill(field(d, "model.messages"), "You are the admissions office's assistant.")
    Select(field(d, "voice.provider")).select_by_value("openai")
    fill(field(d, "voice.voiceId"), "alloy")
    Select(field(d, "transcriber.provider")).select_by_value("deepgram")
    fill(field(d, "transcriber.model"), "nova-2")
    fill(field(d, "endCallPhrases"), "goodbye, bye for now")
    fill(field(d, "maxDurationSeconds"), "600")
    Select(field(d, "backgroundSound")).select_by_value("office")
    field(d, "recordingEnabled").click()
    d.find_element(By.CSS_SELECTOR, "#save-assistant").click()
    err = visible(d, "#assistant-form .field.invalid .field-error")
    assert "model.temperature" in err.text
    assert err.find_element(By.XPATH, "..").find_element(By.CSS_SELECTOR, "[data-field]").get_attribute("data-field") == "model.temperature"
    shot(d, "assistant-validation-error")
    fill(field(d, "model.temperature"), "0.4")
    d.find_element(By.CSS_SELECTOR, "#save-assistant").click()
    text_in(d, "#assistant-form .message", "Assistant created")
    assistant_id = re.search(r"#/assistants/([^/?]+)$", d.current_url).group(1)
    assert field(d, "model.temperature").get_attribute("value") == "0.4"
    assert field(d, "endCallPhrases").get_attribute("value") == "goodbye, bye for now"
    assert Select(field(d, "backgroundSound")).first_selected_option.get_attribute("value") == "office"
    assert field(d, "recordingEnabled").is_selected()

    # The list shows it, and the search filters it.
    go(d, base, "assistants")
    visible(d, "#view[data-view=assistants] table")
    fill(d.find_element(By.CSS_SELECTOR, "#assistant-search"), "nothing like this")
    visible(d, "#view .empty")
    fill(d.find_element(By.CSS_SELECTOR, "#assistant-search"), "admissions")
    visible(d, f'tr[data-id="{assistant_id}"]')
    shot(d, "assistants")


def test_editor_adds_imports_and_edits_knowledge(editor, signed_in, assistant):
    d, base = signed_in, editor.base
    go(d, base, f"assistants/{assistant['id']}")

    # Knowledge: one entry by hand, two by CSV import.
    visible(d, "#knowledge-list .empty")
    fill(d.find_element(By.CSS_SELECTOR, "#knowledge-form [data-field=title]"), "Application deadline")
    fill(d.find_element(By.CSS_SELECTOR, "#knowledge-form [data-field=content]"), "Applications close on March 1st.")
    d.find_element(By.CSS_SELECTOR, "#knowledge-form button[type=submit]").click()
    text_in(d, "#knowledge-list", "Applications close on March 1st.")
    d.find_element(By.CSS_SELECTOR, "#knowledge-import-form textarea").send_keys(
        'title,content\nCampus tours,"Tours run every Friday, at 10am."\nTuition fees,Tuition is 9000 euros per year.')
    d.find_element(By.CSS_SELECTOR, "#knowledge-import-form button[type=submit]").click()
    text_in(d, "#knowledge .message", "Imported 2 entries")
    text_in(d, "#knowledge-list", "Tours run every Friday, at 10am.")
    assert len(d.find_elements(By.CSS_SELECTOR, "#knowledge-list li.entry")) == 3

    # Bulk import from an uploaded CSV file: same parsing, same import endpoint.
    upload = d.find_element(By.CSS_SELECTOR, "#knowledge-import-form input[type=file]")
    assert "csv" in upload.get_attribute("accept")
    assert d.find_element(By.CSS_SELECTOR, f'label[for="{upload.get_attribute("id")}"]').text
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as fh:
        fh.write('title,content\nLibrary hours,"The library opens 8am to 10pm, Monday to Saturday."\n')
        csv_path = fh.name
    try:
        upload.send_keys(csv_path)
        d.find_element(By.CSS_SELECTOR, "#knowledge-import-form button[type=submit]").click()
        text_in(d, "#knowledge .message", "Imported 1 entry.")
        text_in(d, "#knowledge-list", "The library opens 8am to 10pm, Monday to Saturday.")
    finally:
        os.unlink(csv_path)
    assert len(d.find_elements(By.CSS_SELECTOR, "#knowledge-list li.entry")) == 4
    assert d.find_element(By.CSS_SELECTOR, "#knowledge-import-form input[type=file]").get_attribute("value") == ""

    # Edit an entry in place: new answer and two other phrasings of the question.
    entry = next(li for li in d.find_elements(By.CSS_SELECTOR, "#knowledge-list li.entry") if "Application deadline" in li.text)
    entry_id = entry.get_attribute("data-id")
    entry.find_element(By.CSS_SELECTOR, "button.edit").click()
    edit = visible(d, f'#knowledge-list li.entry[data-id="{entry_id}"] form.knowledge-edit')
    assert edit.find_element(By.CSS_SELECTOR, "[data-field=title]").get_attribute("value") == "Application deadline"
    assert edit.find_element(By.CSS_SELECTOR, "[data-field=content]").get_attribute("value") == "Applications close on March 1st."
    fill(edit.find_element(By.CSS_SELECTOR, "[data-field=content]"), "Applications close on March 15th.")
    fill(edit.find_element(By.CSS_SELECTOR, "[data-field=questions]"), "When do applications close?\nLast day to apply?")
    shot(d, "knowledge-edit")
    edit.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    text_in(d, "#knowledge .message", "Entry saved")
    text_in(d, f'#knowledge-list li.entry[data-id="{entry_id}"]', "Applications close on March 15th.")
    text_in(d, f'#knowledge-list li.entry[data-id="{entry_id}"] .questions', "When do applications close? · Last day to apply?")
    assert "March 1st" not in d.find_element(By.CSS_SELECTOR, "#knowledge-list").text
    no_stray_values(d)
    shot(d, "assistant-detail")


def test_editor_chats_with_the_assistant_and_ends_the_conversation(editor, signed_in, knowledge):
    d, base = signed_in, editor.base
    assistant_id = knowledge["id"]

    # Chat three turns: one greeting, one known answer, one unknown question (a gap).
    go(d, base, f"chat?assistantId={assistant_id}")
    box = visible(d, "#chat-message")
    assert Select(d.find_element(By.CSS_SELECTOR, "#chat-assistant")).first_selected_option.get_attribute("value") == assistant_id
    chat_ids = []
    for turn, question in enumerate(CHAT_TURNS, 1):
        fill(box, question)
        box.send_keys(Keys.ENTER)
        wait(d).until(lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "#chat-log .bubble.assistant:not(.typing)")) == turn)
        chat_ids.append(d.find_element(By.CSS_SELECTOR, "#chat-id").get_attribute("data-chat-id"))
    assert chat_ids[0] and chat_ids == [chat_ids[0]] * 3, chat_ids
    assert len(d.find_elements(By.CSS_SELECTOR, "#chat-log .bubble.user")) == 3
    answers = [b.text for b in d.find_elements(By.CSS_SELECTOR, "#chat-log .bubble.assistant")]
    assert "March 15th" in answers[1]
    text_in(d, "#chat-id", "3 turn(s)")
    shot(d, "chat")
    clickable(d, "#chat-end").click()
    text_in(d, "section.chat .message", "Conversation ended")


def test_editor_answers_the_question_the_assistant_could_not(editor, signed_in, conversation):
    d, base = signed_in, editor.base

    # The unknown question is a pending gap: answer it.
    go(d, base, "gaps")
    gap = visible(d, "#gap-list li.gap")
    assert "scholarships" in gap.text
    shot(d, "gaps")
    gap.find_element(By.CSS_SELECTOR, "textarea").send_keys("Yes, merit scholarships of up to 50% are available.")
    gap.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    text_in(d, "#view .message", "Resolved")
    visible(d, "#gap-list .empty")


def test_editor_adds_an_api_request_tool(editor, signed_in):
    d, base = signed_in, editor.base

    # A tool (apiRequest).
    go(d, base, "tools")
    visible(d, "#tool-list .empty")
    Select(d.find_element(By.CSS_SELECTOR, "#tool-type")).select_by_value("apiRequest")
    fill(d.find_element(By.CSS_SELECTOR, '#tool-form [data-type=apiRequest] [data-field=name]'), "crm_lookup")
    Select(d.find_element(By.CSS_SELECTOR, '#tool-form [data-field=method]')).select_by_value("POST")
    fill(d.find_element(By.CSS_SELECTOR, '#tool-form [data-field=url]'), "https://crm.example.edu/lookup")
    fill(d.find_element(By.CSS_SELECTOR, '#tool-form [data-field=provider]'), "salesforce")
    d.find_element(By.CSS_SELECTOR, "#create-tool").click()
    text_in(d, "#tool-list", "https://crm.example.edu/lookup")
    text_in(d, "#view .message", "Tool created")
    shot(d, "tools")


def test_editor_edits_a_tool_in_the_form_of_its_type(editor, signed_in, tool):
    d, base = signed_in, editor.base
    go(d, base, "tools")

    # Edit it: the form of its type, prefilled; the label is cleared, method and URL change.
    tool_row = visible(d, "#tool-list tbody tr")
    tool_id = tool_row.get_attribute("data-id")
    assert tool_id == tool["id"]
    tool_row.find_element(By.LINK_TEXT, "Edit").click()
    visible(d, "#tool-form[data-mode=edit]")
    assert f"#/tools/{tool_id}" in d.current_url
    assert not d.find_element(By.CSS_SELECTOR, "#tool-type").is_enabled()
    assert Select(d.find_element(By.CSS_SELECTOR, "#tool-type")).first_selected_option.get_attribute("value") == "apiRequest"
    url = d.find_element(By.CSS_SELECTOR, '#tool-form [data-field=url]')
    assert url.get_attribute("value") == "https://crm.example.edu/lookup"
    assert d.find_element(By.CSS_SELECTOR, '#tool-form [data-type=apiRequest] [data-field=name]').get_attribute("value") == "crm_lookup"
    assert d.find_element(By.CSS_SELECTOR, '#tool-form [data-field=provider]').get_attribute("value") == "salesforce"
    fill(url, "https://crm.example.edu/v2/lookup")
    Select(d.find_element(By.CSS_SELECTOR, '#tool-form [data-field=method]')).select_by_value("GET")
    d.find_element(By.CSS_SELECTOR, '#tool-form [data-field=provider]').clear()
    shot(d, "tool-edit")
    d.find_element(By.CSS_SELECTOR, "#save-tool").click()
    text_in(d, "#view .message", "Tool saved")
    row = visible(d, f'#tool-list tr[data-id="{tool_id}"]')
    assert "GET https://crm.example.edu/v2/lookup" in row.text and "salesforce" not in row.text, row.text


def test_editor_adds_renames_and_attaches_a_phone_number(editor, signed_in, assistant):
    d, base = signed_in, editor.base
    assistant_id = assistant["id"]

    # A Twilio number (local mode cannot buy one), then attach it to the assistant from the list.
    go(d, base, "phone-numbers")
    visible(d, "#phone-list .empty")
    Select(d.find_element(By.CSS_SELECTOR, "#phone-provider")).select_by_value("edmo")
    fill(d.find_element(By.CSS_SELECTOR, "#phone-form [data-field=numberDesiredAreaCode]"), "786")
    d.find_element(By.CSS_SELECTOR, "#create-phone").click()
    visible(d, "#view > .message.error")  # local mode: the API says a voice platform is needed
    assert_accessible(d, "phone numbers with an error")
    Select(d.find_element(By.CSS_SELECTOR, "#phone-provider")).select_by_value("twilio")
    fill(d.find_element(By.CSS_SELECTOR, "#phone-form [data-field=twilioPhoneNumber]"), "+17865550123")
    fill(d.find_element(By.CSS_SELECTOR, "#phone-form [data-field=twilioAccountSid]"), "AC" + "0123456789abcdef" * 2)
    token = d.find_element(By.CSS_SELECTOR, "#phone-form [data-field=twilioAuthToken]")
    assert token.get_attribute("type") == "password"
    fill(token, "twilio-secret-token")
    fill(d.find_element(By.CSS_SELECTOR, "#phone-form [data-field=name]"), "Admissions line")
    d.find_element(By.CSS_SELECTOR, "#create-phone").click()
    text_in(d, "#phone-list", "+17865550123")
    assert "twilio-secret-token" not in d.page_source

    # Rename it in place.
    visible(d, '#phone-list button.rename[data-number="+17865550123"]').click()
    name = visible(d, '#phone-list form.inline-form[data-number="+17865550123"] [data-field=name]')
    assert name.get_attribute("value") == "Admissions line"
    fill(name, "Admissions main line")
    name.send_keys(Keys.ENTER)
    text_in(d, "#view > .message", "+17865550123 is now named Admissions main line")
    text_in(d, "#phone-list", "Admissions main line")
    attach = Select(visible(d, '#phone-list select[data-number="+17865550123"]'))
    attach.select_by_value(assistant_id)
    text_in(d, "#view > .message", "now answers with Admissions helper")
    d.refresh()
    wait(d).until(lambda drv: Select(drv.find_element(By.CSS_SELECTOR, '#phone-list select[data-number="+17865550123"]'))
                  .first_selected_option.get_attribute("value") == assistant_id)
    text_in(d, "#phone-list .phone-name", "Admissions main line")
    shot(d, "phone-numbers")


def test_analytics_keeps_its_filters_in_the_url_and_opens_a_conversation(editor, signed_in, conversation):
    d, base = signed_in, editor.base

    # Analytics, with a filter in the URL (an older link's timeRangeDays too): the ended chat counts as one web
    # conversation. (The trend chart, the date range and the CSV: test_dashboard_analytics.py.)
    go(d, base, "analytics?timeRangeDays=7&channel=web")
    text_in(d, '#analytics-summary [data-stat=total] .stat-value', "1")
    assert Select(d.find_element(By.CSS_SELECTOR, "#filter-channel")).first_selected_option.get_attribute("value") == "web"
    assert d.find_element(By.CSS_SELECTOR, "#filter-to").get_attribute("value") == d.execute_script(
        "const t = new Date(); return [t.getFullYear(), t.getMonth() + 1, t.getDate()].map((n) => String(n).padStart(2, '0')).join('-')")
    assert len(d.find_elements(By.CSS_SELECTOR, "#trend-svg g.step")) == 7
    assert len(d.find_elements(By.CSS_SELECTOR, "section.charts canvas")) == 2
    sentiment = d.find_element(By.CSS_SELECTOR, 'section.charts canvas[aria-label^="Conversations by sentiment"]')
    assert "Positive" in sentiment.get_attribute("aria-label")
    assert_accessible(d, "analytics of one web conversation")
    Select(d.find_element(By.CSS_SELECTOR, "#filter-channel")).select_by_value("phone")
    d.find_element(By.CSS_SELECTOR, "#apply-filters").click()
    wait(d).until(lambda drv: "channel=phone" in drv.current_url)
    visible(d, "#conversations .empty")
    assert_accessible(d, "analytics with no conversation")
    d.back()
    visible(d, "#conversations tbody tr").click()
    text_in(d, "#conversation-messages", "Do you offer scholarships?")
    text_in(d, "#conversation-summary", "Chat of")
    shot(d, "analytics-conversation")


def test_admin_reads_the_audit_log_with_its_filters_in_the_url(users, driver):
    d, base = driver, users.base
    owner = users.session()
    a = owner.post(base + "/api/assistants", json=dict(ASSISTANT, name="Audited helper")).json()
    owner.patch(base + f"/api/assistants/{a['id']}", json={"name": "Audited helper, renamed"})

    sign_in(d, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    text_in(d, "#user-role", "ADMIN")
    visible(d, "#nav a[data-nav=audit]").click()
    visible(d, "#audit-table tbody tr")
    # Newest first: this sign-in is the first row (read in a wait: the table may still be drawn again).
    wait(d).until(lambda drv: (lambda first: first.get_attribute("data-action") == "auth.login" and ADMIN_EMAIL in first.text)(
        drv.find_element(By.CSS_SELECTOR, "#audit-table tbody tr")))
    # A filter goes into the URL; the table then holds this assistant's two changes, with old and new names.
    fill(visible(d, "#audit-targetId"), a["id"])
    d.find_element(By.CSS_SELECTOR, "#audit-filters button[type=submit]").click()
    wait(d).until(lambda drv: "targetId=" in drv.current_url)
    wait(d).until(lambda drv: [r.get_attribute("data-action") for r in drv.find_elements(By.CSS_SELECTOR, "#audit-table tbody tr")]
                  == ["assistant.update", "assistant.create"])
    text_in(d, '#audit-table tr[data-action="assistant.update"]', '"Audited helper" → "Audited helper, renamed"')
    assert_accessible(d, "the audit log, filtered")
    assert a["id"] in d.find_element(By.CSS_SELECTOR, "#audit-csv").get_attribute("href")
    no_stray_values(d)
    d.refresh()
    assert visible(d, "#audit-targetId").get_attribute("value") == a["id"]
    visible(d, '#audit-table tr[data-action="assistant.create"]')

    # Only ADMINs have the page in their navigation.
    clickable(d, "#sign-out").click()
    sign_in(d, base, VIEWER)
    text_in(d, "#user-role", "VIEWER")
    assert not d.find_element(By.CSS_SELECTOR, "#nav a[data-nav=audit]").is_displayed()


# Holds the answers to one API path (window.__slowPath, e.g. "/api/tools/ID", query string aside) until
# window.__release(): the page sees a slow server on that path only.
HOLD_ONE_PATH = """
  window.__held = [];
  window.__slowPath = null;
  const orig = window.fetch;
  window.fetch = (url, init) => {
    const answer = orig(url, init);
    if (String(url).split('?')[0] !== window.__slowPath) return answer;
    return new Promise((resolve) => window.__held.push(() => resolve(answer)));
  };
  window.__release = () => { window.__held.splice(0).forEach((go) => go()); };"""


def test_a_slow_answer_does_not_overwrite_the_view_the_user_moved_to(editor, signed_in, knowledge, conversation, tool):
    d = signed_in
    a, t, c = knowledge["id"], tool["id"], conversation
    d.execute_script(HOLD_ONE_PATH)
    overwritten = []
    # Each view, with the API answer it waits for held back; the user goes to Tools meanwhile.
    for route, slow_path in ((f"assistants/{a}", f"/api/assistants/{a}"), (f"tools/{t}", f"/api/tools/{t}"),
                             ("chat", "/api/assistants"), ("phone-numbers", "/api/phone-numbers"),
                             ("gaps", "/api/knowledge-gaps"), ("analytics", "/api/analytics"),
                             (f"analytics/conversations/{c}", f"/api/analytics/{c}"), ("assistants", "/api/assistants")):
        d.execute_script("window.__slowPath = arguments[0]; location.hash = arguments[1];", slow_path, f"#/{route}")
        wait(d).until(lambda drv: drv.execute_script("return window.__held.length") == 1, f"#/{route} asks {slow_path}")
        d.find_element(By.CSS_SELECTOR, '#nav a[data-nav="tools"]').click()
        visible(d, f'#view[data-view=tools] #tool-list tr[data-id="{t}"]')
        assert d.execute_script("return window.__held.length") == 1, f"#/{route}: its answer came before Tools was shown"
        tools_page = d.execute_script("return document.getElementById('view').innerHTML")
        d.execute_script("window.__release()")
        idle(d)
        shown = d.execute_script("return document.getElementById('view').innerHTML")
        headings = [h.text for h in d.find_elements(By.CSS_SELECTOR, "#view h1")]
        if shown != tools_page or headings != ["Tools"] or not d.current_url.endswith("#/tools"):
            overwritten.append((route, d.current_url, headings, d.find_element(By.ID, "view").text[:300]))
    assert not overwritten, f"late answers changed the Tools page: {overwritten}"


def test_viewer_reads_only_and_wrong_password_is_explained(users, driver):
    d, base = driver, users.base
    owner = users.session()
    a = owner.post(base + "/api/assistants", json={"name": "Read-only bot", "model": {"provider": "openai", "model": "gpt-4o"},
                                                   "voice": {"provider": "openai", "voiceId": "alloy"}}).json()
    owner.post(base + f"/api/assistants/{a['id']}/knowledge", json={"title": "Parking", "content": "Park in lot B."})
    owner.post(base + "/api/tools", json={"type": "mcp", "server": {"url": "https://mcp.example.edu"}})
    owner.post(base + "/api/chat", json={"assistantId": a["id"], "message": "Is there a library?"})

    # A wrong password shows the API's message, and the user stays on the form.
    sign_in(d, base, VIEWER, "not-the-password")
    text_in(d, "#login-form .message.error", "Invalid email or password")
    shot(d, "login-error")

    # Remembers where the user was going. (The form already shown is replaced once #/tools gets its 401:
    # wait for that, or the typing goes into the old form.)
    shown = d.find_element(By.CSS_SELECTOR, "#login-form")
    go(d, base, "tools")
    wait(d).until(EC.staleness_of(shown))
    visible(d, "#login-form")
    fill(d.find_element(By.CSS_SELECTOR, "#login-form input[name=email]"), VIEWER)
    fill(d.find_element(By.CSS_SELECTOR, "#login-form input[name=password]"), PASSWORD)
    d.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    text_in(d, "#user-role", "VIEWER")
    visible(d, "#tool-list table")
    assert "#/tools" in d.current_url

    def no_write_controls():
        idle(d)
        for css in ("#new-assistant", "#save-assistant", "#delete-assistant", "#knowledge-form", "#knowledge-import-form",
                    "#tool-form", "#phone-form", ".gap-form", "#view button.danger"):
            assert not d.find_elements(By.CSS_SELECTOR, css), css
        buttons = [b.text for b in d.find_elements(By.CSS_SELECTOR, "#view button")]
        assert not [t for t in buttons if re.search(r"create|save|delete|add|import|release|resolve", t, re.I)], buttons

    no_write_controls()
    assert not d.find_element(By.CSS_SELECTOR, '#nav a[data-nav=chat]').is_displayed()
    go(d, base, "assistants")
    visible(d, f'tr[data-id="{a["id"]}"] a').click()
    text_in(d, "#knowledge-list", "Park in lot B.")
    assert field(d, "name").get_attribute("disabled") is not None
    no_write_controls()
    no_stray_values(d)  # a knowledge entry once showed "false" where a VIEWER has no edit buttons
    shot(d, "viewer-assistant")
    for route, ready in (("phone-numbers", "#phone-list table, #phone-list .empty"), ("gaps", "#gap-list li.gap"), ("analytics", "#analytics-summary")):
        go(d, base, route)
        visible(d, ready)
        no_write_controls()
        assert_accessible(d, f"{route} for a VIEWER")


def test_narrow_layout_and_static_headers(editor, assistant, driver):
    import requests
    d, base = driver, editor.base
    r = requests.get(base + "/", timeout=5)
    assert r.headers["Cache-Control"] == "no-cache" and "Content-Security-Policy" in r.headers
    r = requests.get(base + "/js/app.js?v=1", timeout=5)
    assert "max-age=2592000" in r.headers["Cache-Control"] and "Content-Security-Policy" in r.headers
    r = requests.get(base + "/vendor/chart.js/chart.min.js", timeout=5)
    assert r.status_code == 200 and "javascript" in r.headers["Content-Type"]
    assert requests.get(base + "/js/missing.js", timeout=5).status_code == 404

    d.set_window_size(390, 844)
    sign_in(d, base, editor.email)  # with an assistant, so that the chat page has its form
    visible(d, "#view[data-view=assistants]")
    width = d.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, width
    shot(d, "assistants-mobile")
    go(d, base, "chat")
    visible(d, "#chat-message")
    assert d.execute_script("return document.documentElement.scrollWidth") <= 390
    shot(d, "chat-mobile")


def test_function_tool_edit_keeps_its_secret(users, driver):
    """The secret is write-only: an empty secret field sends a patch that does not mention it."""
    d, base = driver, users.base
    owner = users.session(EDITOR, PASSWORD)
    tool = owner.post(base + "/api/tools", json={
        "type": "function", "provider": "in-house",
        "function": {"name": "book_tour", "description": "Books a campus tour.",
                     "parameters": {"type": "object", "properties": {"day": {"type": "string"}}, "required": ["day"]}},
        "server": {"url": "https://hooks.example.edu/tour", "secret": "s3cret-value"}}).json()
    assert "secret" not in tool.get("server", {})
    sign_in(d, base, EDITOR)
    visible(d, "#view[data-view=assistants]")
    go(d, base, f"tools/{tool['id']}")
    form = visible(d, "#tool-form[data-mode=edit]")
    g = '#tool-form [data-type=function]'
    assert d.find_element(By.CSS_SELECTOR, f"{g} [data-field='function.name']").get_attribute("value") == "book_tour"
    assert '"day"' in d.find_element(By.CSS_SELECTOR, f"{g} [data-field='function.parameters']").get_attribute("value")
    assert d.find_element(By.CSS_SELECTOR, f"{g} [data-field='server.url']").get_attribute("value") == "https://hooks.example.edu/tour"
    secret = d.find_element(By.CSS_SELECTOR, f"{g} [data-field='server.secret']")
    assert secret.get_attribute("type") == "password" and secret.get_attribute("value") == ""
    assert "keep" in secret.get_attribute("placeholder")
    assert_accessible(d, "a function tool's form")
    # Record what the page sends.
    d.execute_script("""
      window.__sent = [];
      const orig = window.fetch;
      window.fetch = (url, init) => { window.__sent.push([String(url), init && init.method, init && init.body]); return orig(url, init); };""")
    fill(d.find_element(By.CSS_SELECTOR, f"{g} [data-field='function.description']"), "Books a campus tour on a given day.")
    form.find_element(By.CSS_SELECTOR, "#save-tool").click()
    text_in(d, "#view .message", "Tool saved")
    sent = [x for x in d.execute_script("return window.__sent") if x[1] == "PATCH"]
    assert sent and json.loads(sent[0][2]) == {"function": {"description": "Books a campus tour on a given day."}}, sent
    stored = owner.get(base + f"/api/tools/{tool['id']}").json()
    assert stored["function"]["description"] == "Books a campus tour on a given day."
    assert stored["function"]["parameters"]["required"] == ["day"] and stored["provider"] == "in-house"

    # A new secret typed in is sent, and only the secret.
    go(d, base, f"tools/{tool['id']}")
    visible(d, "#tool-form[data-mode=edit]")
    d.execute_script("""
      window.__sent = [];
      const orig = window.fetch;
      window.fetch = (url, init) => { window.__sent.push([String(url), init && init.method, init && init.body]); return orig(url, init); };""")
    fill(d.find_element(By.CSS_SELECTOR, f"{g} [data-field='server.secret']"), "new-secret")
    d.find_element(By.CSS_SELECTOR, "#save-tool").click()
    text_in(d, "#view .message", "Tool saved")
    sent = [x for x in d.execute_script("return window.__sent") if x[1] == "PATCH"]
    assert json.loads(sent[0][2]) == {"server": {"secret": "new-secret"}}, sent
    assert "new-secret" not in d.page_source


def test_expired_session_returns_to_the_view(users, driver):
    import requests
    d, base = driver, users.base
    sign_in(d, base, EDITOR)
    text_in(d, "#user-role", "EDITOR")
    go(d, base, "tools")
    visible(d, "#tool-list table, #tool-list .empty")

    # The session ends server-side (expired, revoked elsewhere): the next view asks to sign in again.
    cookie = d.get_cookie("auth-token")
    assert cookie, d.get_cookies()
    r = requests.post(base + "/api/auth/logout", cookies={"auth-token": cookie["value"]}, timeout=5)
    assert r.status_code in (200, 204), r.text
    assert requests.get(base + "/api/auth/me", cookies={"auth-token": cookie["value"]}, timeout=5).status_code == 401
    d.find_element(By.CSS_SELECTOR, '#nav a[data-nav="phone-numbers"]').click()
    visible(d, "#login-form")
    assert not d.find_element(By.CSS_SELECTOR, "#app-header").is_displayed()
    shot(d, "session-expired")

    # Signing in again lands back on the view the user was opening.
    fill(d.find_element(By.CSS_SELECTOR, "#login-form input[name=email]"), EDITOR)
    fill(d.find_element(By.CSS_SELECTOR, "#login-form input[name=password]"), PASSWORD)
    d.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    visible(d, "#view[data-view=phone-numbers] #phone-form")
    assert d.current_url.endswith("#/phone-numbers"), d.current_url
    text_in(d, "#user-role", "EDITOR")
    assert d.get_cookie("auth-token")["value"] != cookie["value"]


def test_admin_sets_retention_and_erases_a_chat_and_a_viewer_only_reads_it(users, driver):
    d, base = driver, users.base
    n = next(_orgs)
    admin, viewer, org = f"admin{n}@example.edu", f"viewer{n}@example.edu", f"Story {n}"
    users.add_user(admin, "ADMIN", org=org)
    users.add_user(viewer, "VIEWER", org=org)
    http = users.session(admin, PASSWORD)
    assistant = http.post(base + "/api/assistants", json=ASSISTANT).json()
    chat = http.post(base + "/api/chat", json={"assistantId": assistant["id"], "message": "Hello!"}).json()["chatId"]

    sign_in(d, base, admin)
    text_in(d, "#user-role", "ADMIN")
    clickable(d, '#nav a[data-nav="settings"]').click()
    text_in(d, "#retention-status", "kept forever")
    assert not d.find_element(By.CSS_SELECTOR, "#retention-days").is_displayed()
    Select(visible(d, "#retention-mode")).select_by_value("days")
    days = visible(d, "#retention-days")
    fill(days, "40000")
    d.find_element(By.CSS_SELECTOR, "#save-retention").click()
    text_in(d, "#retention-form .field.invalid .field-error", "retentionDays")
    fill(days, "30")
    d.find_element(By.CSS_SELECTOR, "#save-retention").click()
    text_in(d, "#view .message.success", "Retention saved")
    text_in(d, "#retention-status", "removed 30 days after they started")
    assert http.get(base + "/api/organization/settings").json()["retentionDays"] == 30

    # The erasure asks first, then says what it removed.
    Select(d.find_element(By.CSS_SELECTOR, "#erasure-kind")).select_by_value("chatId")
    fill(d.find_element(By.CSS_SELECTOR, "#erasure-value"), chat)
    d.find_element(By.CSS_SELECTOR, "#erase").click()
    text_in(d, "#confirm-message", chat)
    assert_accessible(d, "settings with the erasure's confirmation open")
    clickable(d, "#confirm-ok").click()
    text_in(d, "#erasure-result", "Erased 1 conversation and")
    assert http.get(base + f"/api/chat/{chat}").status_code == 404
    no_stray_values(d)
    assert_accessible(d, "settings after an erasure")

    # A VIEWER of the organisation reads the setting and has nothing to change.
    clickable(d, "#sign-out").click()
    visible(d, "#login-form")
    sign_in(d, base, viewer)
    text_in(d, "#user-role", "VIEWER")
    go(d, base, "settings")
    text_in(d, "#retention-status", "removed 30 days after they started")
    idle(d)
    assert not d.find_elements(By.CSS_SELECTOR, "#retention-form, #erasure-form, #view button")
