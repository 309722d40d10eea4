"""The dashboard in a real browser (headless Debian chromium + chromedriver) against the real stack.

Walks the app as a new user would: an EDITOR builds and tests an assistant, a VIEWER only reads.
Every page is saved to docs/screenshots/NAME.png. Any SEVERE browser console entry fails the test,
except the API's own 4xx answers that the UI handles and shows (wrong password, 401 before sign-in,
a validation error): Chrome logs those as "Failed to load resource".
"""
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
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import REPO

SHOTS = os.path.join(REPO, "docs", "screenshots")
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
    return WebDriverWait(d, timeout)


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
    idle(d)
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


def test_editor_builds_an_assistant(users, driver):
    d, base = driver, users.base

    # Sign-in page first: an unknown session lands there.
    d.get(base + "/")
    visible(d, "#login-form")
    assert d.find_element(By.CSS_SELECTOR, "label[for]").text
    shot(d, "login")
    sign_in(d, base, EDITOR)
    text_in(d, "#user-name", EDITOR)
    text_in(d, "#user-role", "EDITOR")
    text_in(d, "#user-org", "default")
    visible(d, "#view[data-view=assistants] .empty")
    shot(d, "assistants-empty")

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

    # The list shows it, and the search filters it.
    go(d, base, "assistants")
    visible(d, "#view[data-view=assistants] table")
    fill(d.find_element(By.CSS_SELECTOR, "#assistant-search"), "nothing like this")
    visible(d, "#view .empty")
    fill(d.find_element(By.CSS_SELECTOR, "#assistant-search"), "admissions")
    visible(d, f'tr[data-id="{assistant_id}"]')
    shot(d, "assistants")

    # Chat three turns: one greeting, one known answer, one unknown question (a gap).
    go(d, base, f"chat?assistantId={assistant_id}")
    box = visible(d, "#chat-message")
    assert Select(d.find_element(By.CSS_SELECTOR, "#chat-assistant")).first_selected_option.get_attribute("value") == assistant_id
    chat_ids = []
    for turn, question in enumerate(["Hello!", "When is the application deadline?", "Do you offer scholarships?"], 1):
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

    # The unknown question is a pending gap: answer it.
    go(d, base, "gaps")
    gap = visible(d, "#gap-list li.gap")
    assert "scholarships" in gap.text
    shot(d, "gaps")
    gap.find_element(By.CSS_SELECTOR, "textarea").send_keys("Yes, merit scholarships of up to 50% are available.")
    gap.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    text_in(d, "#view .message", "Resolved")
    visible(d, "#gap-list .empty")

    # A tool (apiRequest), after the form refuses a function tool without a name.
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

    # Edit it: the form of its type, prefilled; the label is cleared, method and URL change.
    tool_row = visible(d, "#tool-list tbody tr")
    tool_id = tool_row.get_attribute("data-id")
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

    # A Twilio number, then attach it to the assistant from the list.
    go(d, base, "phone-numbers")
    visible(d, "#phone-list .empty")
    Select(d.find_element(By.CSS_SELECTOR, "#phone-provider")).select_by_value("edmo")
    fill(d.find_element(By.CSS_SELECTOR, "#phone-form [data-field=numberDesiredAreaCode]"), "786")
    d.find_element(By.CSS_SELECTOR, "#create-phone").click()
    visible(d, "#view > .message.error")  # local mode: the API says a voice platform is needed
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

    # Analytics, with a filter in the URL: the ended chat counts as one web conversation.
    go(d, base, "analytics?timeRangeDays=7&channel=web")
    text_in(d, '#analytics-summary [data-stat=total] .stat-value', "1")
    assert Select(d.find_element(By.CSS_SELECTOR, "#filter-channel")).first_selected_option.get_attribute("value") == "web"
    assert Select(d.find_element(By.CSS_SELECTOR, "#filter-timeRangeDays")).first_selected_option.get_attribute("value") == "7"
    assert len(d.find_elements(By.CSS_SELECTOR, "section.charts canvas")) == 3
    sentiment = d.find_element(By.CSS_SELECTOR, 'section.charts canvas[aria-label^="Conversations by sentiment"]')
    assert "Positive" in sentiment.get_attribute("aria-label")
    shot(d, "analytics")
    Select(d.find_element(By.CSS_SELECTOR, "#filter-channel")).select_by_value("phone")
    wait(d).until(lambda drv: "channel=phone" in drv.current_url)
    visible(d, "#conversations .empty")
    d.back()
    visible(d, "#conversations tbody tr").click()
    text_in(d, "#conversation-messages", "Do you offer scholarships?")
    text_in(d, "#conversation-summary", "Chat of")
    shot(d, "analytics-conversation")

    # Sign out: back to the sign-in form, and the API session is gone.
    go(d, base, "assistants")
    clickable(d, "#sign-out").click()
    visible(d, "#login-form")
    go(d, base, "tools")
    visible(d, "#login-form")


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

    # Remembers where the user was going.
    go(d, base, "tools")
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


def test_narrow_layout_and_static_headers(users, driver):
    import requests
    d, base = driver, users.base
    r = requests.get(base + "/", timeout=5)
    assert r.headers["Cache-Control"] == "no-cache" and "Content-Security-Policy" in r.headers
    r = requests.get(base + "/js/app.js?v=1", timeout=5)
    assert "max-age=2592000" in r.headers["Cache-Control"] and "Content-Security-Policy" in r.headers
    r = requests.get(base + "/vendor/chart.js/chart.min.js", timeout=5)
    assert r.status_code == 200 and "javascript" in r.headers["Content-Type"]
    assert requests.get(base + "/js/missing.js", timeout=5).status_code == 404

    d.set_window_size(390, 844)
    sign_in(d, base, EDITOR)
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
