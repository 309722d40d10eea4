"""The analytics page in a real browser: the trend chart against seeded provider calls, the date range and the
search kept in the URL, the CSV download of exactly the page's filters, and keyboard-only use with visible focus.

Reuses test_dashboard.py's browser and stories (an EDITOR alone in an organisation of their own); this module's
stack takes provider webhooks, which is how the calls are seeded (as test_timeseries.py and test_export.py do).
Every page and state is checked with axe-core (a11y.py).
"""
import csv
import io
import json
import os
import tempfile
from datetime import datetime, time, timedelta, timezone

import pytest
import requests
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from a11y import assert_accessible
from conftest import Stack
from test_analytics import WEBHOOK_SECRET, report
from test_dashboard import ASSISTANT, PASSWORD, driver, editor, go, idle, shot, signed_in, text_in, users, visible, wait  # noqa: F401

# Calls per UTC day before today: (outcome, summary). Outcomes: the webhook's rules (see README).
SEED = {
    1: [("successful", "Asked about housing for first-year students."), ("successful", "Asked about tuition."),
        ("escalated", "Wanted a person about HOUSING costs.")],
    2: [("failed", "Call dropped while asking about parking.")],
    4: [("successful", "Asked about tuition."), ("failed", "Asked about housing, then hung up."),
        ("escalated", "Asked for the bursar."), ("escalated", "Asked for admissions.")],
    9: [("successful", "Asked about housing deposits.")],
}
OUTCOMES = ("successful", "escalated", "failed")


@pytest.fixture(scope="module")
def stack():
    """test_dashboard.py's stack, with provider webhooks."""
    s = Stack(env={"EDMO_WEBHOOK_SECRET": WEBHOOK_SECRET})
    try:
        yield s.start()
    finally:
        s.stop()


def day(n):
    """The UTC date n days before today, as YYYY-MM-DD."""
    return (datetime.now(timezone.utc).date() - timedelta(days=n)).isoformat()


@pytest.fixture
def calls(editor):
    """SEED as provider calls of the editor's assistant, each at 10:MM UTC of its day (the same date from UTC-10 to
    UTC+13: the chart's days are these whether the server counts UTC days or the browser's); their ids, newest first."""
    assistant = editor.api("POST", "/assistants", ASSISTANT)["id"]
    now = datetime.now(timezone.utc)
    made = []
    for n, todo in SEED.items():
        for i, (outcome, summary) in enumerate(todo):
            at = datetime.combine(now.date() - timedelta(days=n), time(10, 10 * i), timezone.utc)
            call_id = f"{editor.org.replace(' ', '-').lower()}-call-{n}-{i}"
            body = report(call_id, assistant, int((now - at).total_seconds() // 60), 60 + 10 * i,
                          reason="assistant-forwarded-call" if outcome == "escalated" else "customer-ended-call",
                          sentiment={"successful": "positive", "escalated": "neutral", "failed": "negative"}[outcome])
            body["message"]["analysis"]["summary"] = summary
            if outcome == "failed":
                body["message"]["analysis"]["successEvaluation"] = "false"
            answer = requests.post(editor.base + "/api/webhooks/provider", data=json.dumps(body), timeout=30,
                                   headers={"Content-Type": "application/json", "X-Vapi-Secret": WEBHOOK_SECRET})
            assert answer.status_code == 200 and answer.json()["stored"] is True, answer.text
            made.append((n, i, call_id, summary))
    # Newest first: the later day, then the later minute.
    return [c for n, i, c, s in sorted(made, key=lambda m: (m[0], -m[1]))]


def whole_page_shot(d, name):
    """shot() of the whole page: the window made as tall as the page for it."""
    width, height = d.get_window_size()["width"], d.get_window_size()["height"]
    inner = d.execute_script("return window.innerHeight")
    d.set_window_size(width, height - inner + d.execute_script("return document.documentElement.scrollHeight"))
    d.execute_script("window.scrollTo(0, 0)")
    shot(d, name)
    d.set_window_size(width, height)


def chart(d):
    """{date: {outcome: count}} as the SVG draws it, and the same as the table of numbers says."""
    drawn = {}
    for g in d.find_elements(By.CSS_SELECTOR, "#trend-svg g.step"):
        drawn[g.get_attribute("data-start")] = {r.get_attribute("data-outcome"): int(r.get_attribute("data-count"))
                                                for r in g.find_elements(By.CSS_SELECTOR, "rect.bar")}
    tabled = {}
    for tr in d.find_elements(By.CSS_SELECTOR, "#trend-table tbody tr"):
        cells = [int(td.get_attribute("textContent")) for td in tr.find_elements(By.TAG_NAME, "td")]
        tabled[tr.get_attribute("data-start")] = dict(zip(OUTCOMES, cells[:3]), total=cells[3])
    return drawn, tabled


def listed(d):
    return [tr.get_attribute("data-id") for tr in d.find_elements(By.CSS_SELECTOR, "#conversation-table tbody tr")]


def expected(first, last, q=None):
    """The seeded ids between `first` and `last` days ago (both included), newest first, whose summary has q."""
    return [f"{n}-{i}" for n in sorted(SEED) for i in reversed(range(len(SEED[n])))
            if last <= n <= first and (q is None or q.lower() in SEED[n][i][1].lower())]


def ids(org_calls):
    return [c.rsplit("-call-", 1)[1] for c in org_calls]


def test_trend_chart_counts_the_seeded_calls_by_day_and_outcome(editor, signed_in, calls):
    d, base = signed_in, editor.base
    go(d, base, f"analytics?from={day(13)}&to={day(0)}")
    visible(d, "#trend-svg")
    text_in(d, "#analytics-summary [data-stat=total] .stat-value", "9")  # day 9 is in the window too
    drawn, tabled = chart(d)
    want = {day(n): {o: 0 for o in OUTCOMES} for n in range(14)}
    for n, todo in SEED.items():
        for outcome, _ in todo:
            want[day(n)][outcome] += 1
    assert drawn == want
    assert tabled == {k: dict(v, total=sum(v.values())) for k, v in want.items()}
    assert list(drawn) == sorted(drawn)  # oldest on the left, every day present
    # The summary: the window's totals with the API's formulas (halves up).
    stats = {e.get_attribute("data-stat"): e.find_element(By.CSS_SELECTOR, ".stat-value").text
             for e in d.find_elements(By.CSS_SELECTOR, "#analytics-summary .stat")}
    assert stats["success"] == "44%" and stats["escalation"] == "33%" and stats["failed"] == "2", stats
    # Accessible: an image named by its caption and a sentence with the totals; the numbers as a table.
    svg = d.find_element(By.ID, "trend-svg")
    assert svg.get_attribute("role") == "img" and svg.get_attribute("aria-labelledby") == "trend-title trend-summary"
    sentence = d.find_element(By.ID, "trend-summary").text
    assert "9 in total, 4 successful, 3 escalated, 2 failed" in sentence, sentence
    assert "with 4." in sentence  # the busiest day, 4 days ago
    assert ids(listed(d)) == expected(13, 0)
    assert_accessible(d, "analytics with the trend chart")
    whole_page_shot(d, "analytics")
    d.find_element(By.CSS_SELECTOR, "#trend-numbers summary").click()
    visible(d, "#trend-table")
    assert_accessible(d, "analytics with the table of numbers open")

    # Another window: weeks, for a range of a year.
    go(d, base, f"analytics?from={day(364)}&to={day(0)}")
    text_in(d, "#trend-title", "per week")
    assert len(d.find_elements(By.CSS_SELECTOR, "#trend-svg g.step")) in (53, 54)
    assert sum(int(g.get_attribute("data-conversations")) for g in d.find_elements(By.CSS_SELECTOR, "#trend-svg g.step")) == 9

    # On a phone: nothing wider than the screen.
    d.set_window_size(390, 844)
    go(d, base, f"analytics?from={day(13)}&to={day(0)}&q=housing")
    wait(d).until(lambda drv: ids(listed(drv)) == expected(13, 0, "housing"))
    visible(d, "#trend-svg")
    assert d.execute_script("return document.documentElement.scrollWidth") <= 390
    assert_accessible(d, "analytics on a phone")


def test_date_range_and_search_live_in_the_url(editor, signed_in, calls):
    d, base = signed_in, editor.base
    go(d, base, "analytics")
    # Without dates: the last 30 days, ending today (the browser's day).
    visible(d, "#trend-svg")
    local_today = d.execute_script("const t = new Date(); return [t.getFullYear(), t.getMonth() + 1, t.getDate()]"
                                   ".map((n) => String(n).padStart(2, '0')).join('-')")
    assert d.find_element(By.ID, "filter-to").get_attribute("value") == local_today
    assert len(d.find_elements(By.CSS_SELECTOR, "#trend-svg g.step")) == 30

    # A week's range through the form: into the URL, and the chart, summary and list follow.
    set_date(d, "#filter-from", day(6))
    set_date(d, "#filter-to", day(1))
    d.find_element(By.ID, "apply-filters").click()
    wait(d).until(lambda drv: f"from={day(6)}" in drv.current_url and f"to={day(1)}" in drv.current_url)
    text_in(d, "#analytics-summary [data-stat=total] .stat-value", "8")
    wait(d).until(lambda drv: ids(listed(drv)) == expected(6, 1))
    assert len(d.find_elements(By.CSS_SELECTOR, "#trend-svg g.step")) == 6

    # A reload keeps it.
    d.refresh()
    visible(d, "#trend-svg")
    assert d.find_element(By.ID, "filter-from").get_attribute("value") == day(6)
    assert d.find_element(By.ID, "filter-to").get_attribute("value") == day(1)
    text_in(d, "#analytics-summary [data-stat=total] .stat-value", "8")
    assert len(d.find_elements(By.CSS_SELECTOR, "#trend-svg g.step")) == 6

    # The search narrows the list (not the counts: the chart is of every call in the window).
    search = d.find_element(By.ID, "filter-q")
    search.send_keys("housing")
    search.send_keys(Keys.ENTER)
    wait(d).until(lambda drv: "q=housing" in drv.current_url)
    wait(d).until(lambda drv: ids(listed(drv)) == expected(6, 1, "housing"))
    assert ids(listed(d)) == ["1-2", "1-0", "4-1"]  # "HOUSING" too: any case
    text_in(d, "#conv-title", "housing")
    text_in(d, "#analytics-summary [data-stat=total] .stat-value", "8")
    assert_accessible(d, "analytics searched")
    whole_page_shot(d, "analytics-search")

    # Back and forward walk the ranges and searches.
    d.back()
    wait(d).until(lambda drv: "q=" not in drv.current_url)
    wait(d).until(lambda drv: ids(listed(drv)) == expected(6, 1))
    assert d.find_element(By.ID, "filter-q").get_attribute("value") == ""
    d.forward()
    wait(d).until(lambda drv: ids(listed(drv)) == expected(6, 1, "housing"))
    assert d.find_element(By.ID, "filter-q").get_attribute("value") == "housing"

    # One more filter, then an end before the start (refused before any request).
    Select(d.find_element(By.ID, "filter-resolution")).select_by_value("failed")
    d.find_element(By.ID, "apply-filters").click()
    wait(d).until(lambda drv: "resolution=failed" in drv.current_url)
    wait(d).until(lambda drv: ids(listed(drv)) == ["4-1"])
    set_date(d, "#filter-to", day(8))
    d.find_element(By.ID, "apply-filters").click()
    text_in(d, "#analytics-filters .field.invalid .field-error", "end date is before the start date")
    assert "resolution=failed" in d.current_url and f"to={day(1)}" in d.current_url
    assert_accessible(d, "analytics with a field error")


def test_download_csv_has_the_page_filters(editor, signed_in, calls):
    d, base = signed_in, editor.base
    downloads = tempfile.mkdtemp(prefix="edmo-downloads-")
    d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    go(d, base, f"analytics?from={day(6)}&to={day(0)}&q=housing")
    wait(d).until(lambda drv: ids(listed(drv)) == expected(6, 0, "housing"))
    link = d.find_element(By.ID, "download-csv")
    href = link.get_attribute("href")
    for part in (f"from={day(6)}", f"to={day(0)}", "q=housing", "tz="):
        assert part in href, href
    link.click()
    path = os.path.join(downloads, "conversations.csv")
    wait(d, 30).until(lambda drv: os.path.exists(path) and not [f for f in os.listdir(downloads) if f.endswith(".crdownload")])
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["id", "timestamp", "type", "channel"] and "summary" in rows[0]
    assert [ids([r[0]])[0] for r in rows[1:]] == expected(6, 0, "housing") == ["1-2", "1-0", "4-1"]
    first = dict(zip(rows[0], rows[1]))
    assert first["summary"] == "Wanted a person about HOUSING costs." and first["resolution"] == "escalated"
    assert first["timestamp"].startswith(day(1)) and first["channel"] == "phone"
    assert text.startswith("id,timestamp,type,channel,") and "\r\n" in text
    # The same file as the API gives for these filters.
    assert text == editor.http.get(href, timeout=30).text


def set_date(d, css, iso):
    """Sets a date input as a user would, typing its parts in the order this browser shows them."""
    box = d.find_element(By.CSS_SELECTOR, css)
    box.click()
    type_date(d, iso)


def type_date(d, iso):
    """Types `iso` into the focused date input: its parts in the browser's order (month/day/year in en-US)."""
    order = d.execute_script("return new Intl.DateTimeFormat(navigator.language).formatToParts(new Date(2024, 2, 15))"
                             ".filter((p) => p.type !== 'literal').map((p) => p.type)")
    y, m, dd = iso.split("-")
    parts = {"year": y, "month": m, "day": dd}
    actions = ActionChains(d)
    # To the first part: the arrow keys move between the parts.
    for _ in range(3):
        actions.send_keys(Keys.ARROW_LEFT)
    for part in order:
        actions.send_keys(parts[part])  # two digits of a month or day move on to the next part by themselves
    actions.perform()


FOCUS = """
    const el = document.activeElement, s = getComputedStyle(el);
    const drawn = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || (s.boxShadow && s.boxShadow !== 'none');
    return [el.getAttribute('name') || el.id || el.getAttribute('data-nav') || el.tagName, drawn && el.matches(':focus-visible')];"""


def focused(d):
    """The focused element's name, once its focus is drawn (an outline or a box shadow), else the name and False.
    (Tabbing into a date input, Chrome matches :focus a moment after the key; hence the wait.)"""
    try:
        return wait(d, 3).until(lambda drv: (lambda r: r if r[1] or r[0] == "BODY" else False)(drv.execute_script(FOCUS)))
    except TimeoutException:
        return d.execute_script(FOCUS)


def tab_to(d, css, limit=60):
    """Presses Tab until `css` has the focus; every element of the page on the way shows its focus. (Tab also
    walks the parts of a date input, and Chrome does not always match :focus on the input for them.)"""
    seen = [d.execute_script(FOCUS)[0]]
    for _ in range(limit):
        if d.execute_script("return document.activeElement.matches(arguments[0])", css):
            return seen[1:]
        ActionChains(d).send_keys(Keys.TAB).perform()
        name, drawn = focused(d)
        seen.append(name)
        if name == "BODY":
            continue  # past the last control, the focus goes to the browser's own controls, then to the top
        if seen[-2:] == [name, name] and d.execute_script("return document.activeElement.type") == "date":
            continue  # the date input's own parts (day, month, year, its calendar button): its focus was seen drawn
        if not drawn:
            d.save_screenshot(os.path.join(tempfile.gettempdir(), "focus-not-visible.png"))
        assert drawn, f"focus on {name} is not visible (after {seen[1:]})"
    raise AssertionError(f"Tab never reached {css}: {seen}")


def test_keyboard_alone_signs_in_and_sets_the_date_range(editor, driver, calls):
    d, base = driver, editor.base
    go(d, base, "login")
    visible(d, "#login-form")
    assert_accessible(d, "the sign-in page")
    keys = lambda *k: ActionChains(d).send_keys(*k).perform()
    # The email box has the focus: type, Tab, type, Enter.
    wait(d).until(lambda drv: drv.execute_script("return document.activeElement.name") == "email")
    keys(editor.email)
    keys(Keys.TAB)
    assert focused(d) == ["password", True]
    keys(PASSWORD, Keys.ENTER)
    text_in(d, "#user-role", "EDITOR")
    visible(d, "#view[data-view=assistants]")

    # To Analytics by the navigation, then the filters, without a mouse.
    tab_to(d, '#nav a[data-nav="analytics"]')
    keys(Keys.ENTER)
    visible(d, "#trend-svg")
    idle(d)
    tab_to(d, "#filter-from")
    type_date(d, day(6))
    tab_to(d, "#filter-to")
    type_date(d, day(1))
    assert d.find_element(By.ID, "filter-from").get_attribute("value") == day(6)
    assert d.find_element(By.ID, "filter-to").get_attribute("value") == day(1)
    tab_to(d, "#filter-q")
    keys("tuition", Keys.ENTER)
    wait(d).until(lambda drv: f"from={day(6)}" in drv.current_url and "q=tuition" in drv.current_url)
    wait(d).until(lambda drv: ids(listed(drv)) == expected(6, 1, "tuition") == ["1-1", "4-0"])
    # The table of numbers opens from the keyboard too; the list's first conversation opens with Enter.
    tab_to(d, "#trend-numbers summary")
    keys(Keys.ENTER)
    visible(d, "#trend-table")
    tab_to(d, "#conversation-table tbody tr:first-child a")
    keys(Keys.ENTER)
    visible(d, "#conversation-summary")
    text_in(d, "#conversation-summary", "Asked about tuition.")
    assert_accessible(d, "a conversation")


def test_keyboard_alone_creates_an_assistant(editor, signed_in):
    d = signed_in
    keys = lambda *k: ActionChains(d).send_keys(*k).perform()
    tab_to(d, "#new-assistant")
    keys(Keys.ENTER)
    visible(d, "#assistant-form")
    # A text box, a select (arrow keys), a check box (Space), then the button (Enter); a field error first.
    tab_to(d, '#assistant-form [data-field="name"]')
    keys("Keyboard helper")
    tab_to(d, '#assistant-form [data-field="model.temperature"]')
    keys("5", Keys.ENTER)
    text_in(d, "#assistant-form .field.invalid .field-error", "model.temperature")
    assert d.execute_script("return document.activeElement.dataset.field") == "model.temperature"  # focus moved there
    keys(Keys.BACKSPACE, "0.5")
    tab_to(d, '#assistant-form [data-field="backgroundSound"]')
    before = d.execute_script("return document.activeElement.value")
    keys(Keys.ARROW_DOWN)
    sound = d.execute_script("return document.activeElement.value")
    assert sound != before
    tab_to(d, '#assistant-form [data-field="recordingEnabled"]')
    keys(Keys.SPACE)
    tab_to(d, "#save-assistant")
    keys(Keys.ENTER)
    text_in(d, "#assistant-form .message", "Assistant created")
    assert_accessible(d, "an assistant just created")
    made = [a for a in editor.api("GET", "/assistants") if a["name"] == "Keyboard helper"]
    assert len(made) == 1 and made[0]["model"]["temperature"] == 0.5, made
    assert made[0]["backgroundSound"] == sound and made[0]["recordingEnabled"] is True, made
