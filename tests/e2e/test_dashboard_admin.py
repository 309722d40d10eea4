"""An admin's pages in a real browser (Debian's chromium + chromedriver) against the real stack: Users (invite with
a password shown once, change role, disable and enable, reset password, paging), Analytics keys (create, shown
once; revoke) and everyone's Account page (own password change). An EDITOR or VIEWER sees none of the admin pages,
gets a "not allowed" state by URL, and 403 from their API.

Each story has an organisation of its own. Every page and state is checked with axe-core (a11y.py: 0 violations)
and the forms are driven from the keyboard; screenshots go to docs/screenshots (SQLite pass), as in test_dashboard.py.
"""
import itertools
import os
import re
import tempfile

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from a11y import assert_accessible
from test_dashboard import SHOTS, clickable, fill, go, idle, no_stray_values, sign_in, text_in, visible, wait

PASSWORD = "user-password-1"
# API answers the UI handles on purpose (a wrong current password, a 401 before sign-in); anything else
# SEVERE in the console is a bug.
EXPECTED_API_ERRORS = re.compile(r"/api/\S* - Failed to load resource: the server responded with a status of (400|401)")
GENERATED = re.compile(r"^[a-km-zA-HJ-NP-Z2-9]{5}(-[a-km-zA-HJ-NP-Z2-9]{5}){3}$")
_orgs = itertools.count(1)


@pytest.fixture
def driver(stack, request):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    failed_before = request.session.testsfailed
    yield d
    if request.session.testsfailed > failed_before:
        d.save_screenshot(os.path.join(tempfile.gettempdir(), f"dashboard-admin-failure-{request.node.name}.png"))
        print("page at failure:", d.current_url, d.find_element(By.TAG_NAME, "body").text[:2000])
    try:
        severe = [e["message"] for e in d.get_log("browser")
                  if e["level"] == "SEVERE" and not EXPECTED_API_ERRORS.search(e["message"])]
        assert not severe, f"browser console errors: {severe}"
    finally:
        d.quit()


def shot(d, name):
    idle(d)
    os.makedirs(SHOTS, exist_ok=True)
    d.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def focused(d):
    return d.switch_to.active_element


def focus_is_visible(d):
    """The focused element draws a focus ring (the app's :focus-visible outline)."""
    return d.execute_script(
        "const s = getComputedStyle(document.activeElement); return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0")


def tab_to(d, css, limit=40):
    """Presses Tab until the element matching `css` has the focus; each stop must show a focus ring."""
    target = d.find_element(By.CSS_SELECTOR, css)
    for _ in range(limit):
        focused(d).send_keys(Keys.TAB)
        if focused(d) == target:
            assert focus_is_visible(d), css
            return target
    raise AssertionError(f"Tab never reached {css}")


def login_status(stack, email, password):
    return requests.post(stack.base + "/api/auth/login", json={"email": email, "password": password}, timeout=10).status_code


class Org:
    """A new organisation with its ADMIN (and an API session of theirs)."""

    def __init__(self, stack):
        n = next(_orgs)
        self.stack, self.base, self.name = stack, stack.base, f"Admin story {n}"
        self.admin = f"boss{n}@example.edu"
        stack.add_user(self.admin, "ADMIN", org=self.name)
        self.http = stack.session(self.admin, PASSWORD)

    def user(self, email):
        users = self.http.get(self.base + "/api/users", params={"limit": 1000}).json()
        return next(u for u in users if u["email"] == email)


@pytest.fixture
def org(stack):
    return Org(stack)


def row(d, email):
    return d.find_element(By.CSS_SELECTOR, f'#user-table tr[data-email="{email}"]')


def confirm(d, text):
    text_in(d, "#confirm-message", text)
    clickable(d, "#confirm-ok").click()


def test_admin_invites_changes_role_disables_and_resets_a_user(org, driver):
    d, base, stack = driver, org.base, org.stack
    sign_in(d, base, org.admin)
    text_in(d, "#user-role", "ADMIN")
    assert visible(d, "#nav a[data-nav=users]") and visible(d, "#nav a[data-nav=analytics-keys]")
    clickable(d, "#nav a[data-nav=users]").click()
    visible(d, f'#user-table tr[data-email="{org.admin}"]')
    assert_accessible(d, "users")

    # Invite from the keyboard alone: Tab through the fields, choose the role with the arrow keys, Enter.
    email = f"new.{org.admin}"
    d.find_element(By.CSS_SELECTOR, "#invite-title").click()
    tab_to(d, "#invite-email").send_keys(email)
    tab_to(d, "#invite-name").send_keys("Nora New")
    role = tab_to(d, "#invite-role")
    role.send_keys(Keys.ARROW_DOWN)  # VIEWER -> EDITOR
    assert Select(role).first_selected_option.get_attribute("value") == "EDITOR"
    tab_to(d, "#invite").send_keys(Keys.ENTER)
    visible(d, "#password-once")
    text_in(d, "#password-once", "It will not be shown again")
    password = d.find_element(By.CSS_SELECTOR, "#password-once-value").get_attribute("value")
    assert GENERATED.match(password), password
    assert focused(d) == d.find_element(By.CSS_SELECTOR, "#password-once-title")
    clickable(d, "#password-once-copy").click()
    text_in(d, "#password-once-copied", "Cop")  # "Copied to the clipboard." or, without permission, how to copy it
    visible(d, f'#user-table tr[data-email="{email}"]')
    assert_accessible(d, "users, a generated password shown")
    shot(d, "users-invited")
    assert login_status(stack, email, password) == 200
    assert org.user(email)["role"] == "EDITOR"
    # Shown once: dismissed, and after a reload, it is nowhere on the page.
    clickable(d, "#password-once-done").click()
    assert not d.find_elements(By.CSS_SELECTOR, "#password-once")
    d.refresh()
    visible(d, f'#user-table tr[data-email="{email}"]')
    assert password not in d.page_source

    # Change role.
    Select(row(d, email).find_element(By.CSS_SELECTOR, "select")).select_by_value("VIEWER")
    row(d, email).find_element(By.CSS_SELECTOR, ".role-form button[type=submit]").click()
    text_in(d, "#view .message.success", f"{email} is now VIEWER")
    assert org.user(email)["role"] == "VIEWER"

    # Disable (asked first): the user can no longer sign in, and a live session of theirs ends; then enable.
    theirs = stack.session(email, password)
    row(d, email).find_element(By.CSS_SELECTOR, "button.disable").click()
    assert_accessible(d, "users, the confirmation dialog")
    confirm(d, f"Disable {email}?")
    visible(d, f'#user-table tr[data-email="{email}"][data-status=disabled]')
    # The list was redrawn: the focus is back on this row, on the button that undoes it.
    wait(d).until(lambda drv: focused(drv) == row(drv, email).find_element(By.CSS_SELECTOR, "button.enable"))
    assert login_status(stack, email, password) == 403
    assert theirs.get(base + "/api/auth/me").status_code == 401
    row(d, email).find_element(By.CSS_SELECTOR, "button.enable").click()
    visible(d, f'#user-table tr[data-email="{email}"][data-status=active]')
    assert login_status(stack, email, password) == 200

    # Reset: a new password, shown once; the old one stops working.
    row(d, email).find_element(By.CSS_SELECTOR, "button.reset").click()
    confirm(d, f"Reset the password of {email}?")
    text_in(d, "#password-once-title", f"New password for {email}")
    fresh = d.find_element(By.CSS_SELECTOR, "#password-once-value").get_attribute("value")
    assert GENERATED.match(fresh) and fresh != password
    shot(d, "users-reset")
    assert login_status(stack, email, password) == 401
    assert login_status(stack, email, fresh) == 200
    # The admin's own row offers no disable or reset (Account is where one's own password changes).
    assert not row(d, org.admin).find_elements(By.CSS_SELECTOR, "button.disable, button.reset")
    no_stray_values(d)
    clickable(d, "#password-once-done").click()
    shot(d, "users")


def test_users_are_paged(org, driver):
    d, base = driver, org.base
    for i in range(20):  # with the admin, 21: one page of 20 and one of 1
        r = org.http.post(base + "/api/users", json={"email": f"p{i:02d}.{org.admin}", "role": "VIEWER"})
        assert r.status_code == 201, r.text
    sign_in(d, base, org.admin)
    text_in(d, "#user-role", "ADMIN")
    go(d, base, "users")
    text_in(d, "#user-list .pager", "1–20 of 21")
    assert len(d.find_elements(By.CSS_SELECTOR, "#user-table tbody tr")) == 20
    clickable(d, "#user-list .pager button:last-child").click()
    wait(d).until(lambda drv: "offset=20" in drv.current_url)
    text_in(d, "#user-list .pager", "21–21 of 21")
    # Newest first: the admin, made first, is alone on the last page.
    visible(d, f'#user-table tr[data-email="{org.admin}"]')


def test_admin_creates_and_revokes_an_analytics_key(org, driver):
    d, base = driver, org.base
    sign_in(d, base, org.admin)
    text_in(d, "#user-role", "ADMIN")
    clickable(d, "#nav a[data-nav=analytics-keys]").click()
    visible(d, "#key-list .empty")
    assert_accessible(d, "analytics keys, none yet")
    fill(visible(d, "#key-name"), "Board dashboard")
    d.find_element(By.CSS_SELECTOR, "#key-name").send_keys(Keys.ENTER)
    visible(d, "#key-once")
    text_in(d, "#key-once", "It will not be shown again")
    key = d.find_element(By.CSS_SELECTOR, "#key-once-value").get_attribute("value")
    assert re.fullmatch(r"edmo_ak_[0-9a-f]{48}", key), key
    clickable(d, "#key-once-copy").click()
    text_in(d, "#key-once-copied", "Cop")
    text_in(d, "#key-table", "Board dashboard")
    assert key[:12] in d.find_element(By.CSS_SELECTOR, "#key-table").text and key not in d.find_element(By.CSS_SELECTOR, "#key-table").text
    assert_accessible(d, "analytics keys, a new key shown")
    shot(d, "analytics-key-created")
    analytics = lambda: requests.get(base + "/api/analytics", headers={"X-API-Key": key}, timeout=10).status_code  # noqa: E731
    assert analytics() == 200

    clickable(d, "#key-once-done").click()
    d.find_element(By.CSS_SELECTOR, "#key-table button.revoke").click()
    confirm(d, 'Revoke the key "Board dashboard"')
    text_in(d, "#view .message.success", "Key revoked")
    visible(d, "#key-table tr[data-status=revoked]")
    assert not d.find_elements(By.CSS_SELECTOR, "#key-table button.revoke")
    assert analytics() == 403
    no_stray_values(d)
    assert_accessible(d, "analytics keys, one revoked")
    shot(d, "analytics-keys")


def test_a_user_changes_their_own_password_from_the_keyboard(org, driver):
    d, base, stack = driver, org.base, org.stack
    email = f"editor.{org.admin}"
    stack.add_user(email, "EDITOR", org=org.name)
    elsewhere = stack.session(email, PASSWORD)
    sign_in(d, base, email)
    text_in(d, "#user-role", "EDITOR")
    clickable(d, "#account-link").click()
    visible(d, "#password-form")
    text_in(d, "#account-details", email)
    assert_accessible(d, "account")
    shot(d, "account")

    # A wrong current password: shown at that field; nothing changes.
    d.find_element(By.CSS_SELECTOR, "#password-title").click()
    tab_to(d, "#current-password").send_keys("not-my-password")
    tab_to(d, "#new-password").send_keys("a-new-passphrase-9")
    tab_to(d, "#confirm-password").send_keys("a-new-passphrase-9")
    tab_to(d, "#change-password").send_keys(Keys.ENTER)
    text_in(d, "#password-form .field.invalid .field-error", "not your current password")
    assert_accessible(d, "account, a wrong current password")
    assert login_status(stack, email, PASSWORD) == 200

    # Two new passwords that differ are caught before anything is sent.
    fill(d.find_element(By.CSS_SELECTOR, "#current-password"), PASSWORD)
    fill(d.find_element(By.CSS_SELECTOR, "#confirm-password"), "something-else-1")
    d.find_element(By.CSS_SELECTOR, "#confirm-password").send_keys(Keys.ENTER)
    text_in(d, "#password-form .field.invalid .field-error", "the two new passwords differ")

    fill(d.find_element(By.CSS_SELECTOR, "#confirm-password"), "a-new-passphrase-9")
    d.find_element(By.CSS_SELECTOR, "#confirm-password").send_keys(Keys.ENTER)
    text_in(d, "#view .message.success", "Your password is changed")
    assert not d.find_elements(By.CSS_SELECTOR, "#password-form .field.invalid")
    assert_accessible(d, "account, password changed")
    # The other session has ended, this one stays; the old password no longer signs in.
    assert elsewhere.get(base + "/api/auth/me").status_code == 401
    clickable(d, "#nav a[data-nav=assistants]").click()
    visible(d, "#view[data-view=assistants]")
    assert d.find_element(By.CSS_SELECTOR, "#app-header").is_displayed()
    assert login_status(stack, email, PASSWORD) == 401
    assert login_status(stack, email, "a-new-passphrase-9") == 200


@pytest.mark.parametrize("role", ["EDITOR", "VIEWER"])
def test_editors_and_viewers_see_none_of_the_admin_pages(org, driver, role):
    d, base, stack = driver, org.base, org.stack
    email = f"{role.lower()}.{org.admin}"
    stack.add_user(email, role, org=org.name)
    sign_in(d, base, email)
    text_in(d, "#user-role", role)
    idle(d)
    for nav in ("users", "analytics-keys"):
        assert not d.find_element(By.CSS_SELECTOR, f"#nav a[data-nav={nav}]").is_displayed(), nav
    assert d.find_element(By.CSS_SELECTOR, "#account-link").is_displayed()
    for route, title in (("users", "Users"), ("analytics-keys", "Analytics keys")):
        go(d, base, route)
        text_in(d, "#not-allowed", "Not allowed")
        text_in(d, "#view h1", title)
        assert not d.find_elements(By.CSS_SELECTOR, "#view form, #view table, #view button")
        assert_accessible(d, f"{route} as {role}")
        if role == "VIEWER" and route == "users":
            shot(d, "users-not-allowed")
    http = stack.session(email, PASSWORD)
    admin_id = org.user(org.admin)["id"]
    for method, path in (("GET", "/api/users"), ("POST", "/api/users"), (("POST", f"/api/users/{admin_id}/reset-password")),
                         ("PATCH", f"/api/users/{admin_id}"), ("GET", "/api/analytics-keys"), ("POST", "/api/analytics-keys")):
        body = {"email": "x@example.edu", "role": "ADMIN"} if path == "/api/users" else {"disabled": True} if method == "PATCH" else None
        r = http.request(method, base + path, json=body)
        assert r.status_code == 403, (method, path, r.text)
    assert org.user(org.admin)["disabled"] is False
