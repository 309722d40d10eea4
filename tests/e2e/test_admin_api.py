"""Issue 15's admin operations through nginx and the real binary: an invitation with a generated first password,
an ADMIN's password reset, everyone's own password change (throttled like a login), and the 403 that EDITORs and
VIEWERs get from every admin operation. The generated passwords are answered once and written nowhere else:
not in edmo.log, nginx's logs, the audit log or the database in the clear."""
import itertools
import os
import re

import pytest
import requests

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD

PASSWORD = "user-password-1"
GENERATED = re.compile(r"^[a-km-zA-HJ-NP-Z2-9]{5}(-[a-km-zA-HJ-NP-Z2-9]{5}){3}$")
_n = itertools.count(1)


def login(stack, email, password):
    return requests.post(stack.base + "/api/auth/login", json={"email": email, "password": password}, timeout=10)


def user_id(admin, stack, email):
    users = admin.get(stack.base + "/api/users", params={"limit": 1000}).json()
    return next(u["id"] for u in users if u["email"] == email)


def written_anywhere(stack, secret):
    """Whether `secret` is in edmo.log, one of nginx's logs (the stack's folder) or the stored rows."""
    for root, _, files in os.walk(stack.dir):
        for name in files:
            if name.endswith(".log"):
                with open(os.path.join(root, name), "rb") as f:
                    if secret.encode() in f.read():
                        return os.path.join(root, name)
    return "the database" if secret.encode() in stack.stored_bytes() else None


def audit(admin, stack, action):
    r = admin.get(stack.base + "/api/audit-log", params={"action": action})
    assert r.status_code == 200, r.text
    return r.json()


def test_an_invitation_answers_a_generated_password_once(stack):
    admin, base = stack.session(), stack.base
    email = f"invited{next(_n)}@example.edu"
    r = admin.post(base + "/api/users", json={"email": email, "role": "EDITOR", "name": "Ines"})
    assert r.status_code == 201, r.text
    created = r.json()
    password = created["initialPassword"]
    assert GENERATED.match(password), password
    assert created["email"] == email and created["role"] == "EDITOR" and "password" not in created
    assert login(stack, email, password).status_code == 200
    for path in (f"/api/users/{created['id']}", "/api/users", "/api/audit-log"):
        body = admin.get(base + path).text
        assert password not in body and "initialPassword" not in body, path
    assert audit(admin, stack, "user.create")[0]["changes"]["password"] == {"new": "[redacted]"}
    assert written_anywhere(stack, password) is None
    # With a password, as before; and a missing role is still a 400 naming it.
    given = admin.post(base + "/api/users", json={"email": f"given{next(_n)}@example.edu", "role": "VIEWER", "password": "chosen-pass-1"})
    assert given.status_code == 201 and "initialPassword" not in given.json()
    missing = admin.post(base + "/api/users", json={"email": f"x{next(_n)}@example.edu"})
    assert missing.status_code == 400 and "role" in missing.json()["error"]


def test_a_reset_answers_a_new_password_once_and_ends_the_users_sessions(stack):
    admin, base = stack.session(), stack.base
    email = f"reset{next(_n)}@example.edu"
    stack.add_user(email, "VIEWER")
    theirs = stack.session(email, PASSWORD)
    uid = user_id(admin, stack, email)
    r = admin.post(base + f"/api/users/{uid}/reset-password")
    assert r.status_code == 200, r.text
    password = r.json()["initialPassword"]
    assert GENERATED.match(password) and r.json()["id"] == uid and r.headers.get("ETag")
    assert theirs.get(base + "/api/auth/me").status_code == 401
    assert login(stack, email, PASSWORD).status_code == 401
    assert login(stack, email, password).status_code == 200
    assert admin.get(base + "/api/auth/me").status_code == 200
    entry = audit(admin, stack, "user.reset_password")[0]
    assert entry["targetId"] == uid and entry["changes"] == {"password": {"old": "[redacted]", "new": "[redacted]"}}
    assert written_anywhere(stack, password) is None

    me = user_id(admin, stack, ADMIN_EMAIL)
    own = admin.post(base + f"/api/users/{me}/reset-password")
    assert own.status_code == 409 and "POST /api/auth/password" in own.json()["error"]
    assert admin.post(base + "/api/users/usr_nobody/reset-password").status_code == 404
    assert requests.post(base + f"/api/users/{uid}/reset-password", timeout=10).status_code == 401
    assert admin.get(base + f"/api/users/{uid}/reset-password").status_code == 405


def test_everyone_changes_their_own_password_and_their_other_sessions_end(stack):
    base = stack.base
    for role in ("VIEWER", "EDITOR", "ADMIN"):
        email = f"own{next(_n)}@example.edu"
        stack.add_user(email, role)
        here, elsewhere = stack.session(email, PASSWORD), stack.session(email, PASSWORD)
        r = here.post(base + "/api/auth/password", json={"currentPassword": PASSWORD, "newPassword": "a-new-passphrase-9"})
        assert r.status_code == 200 and r.json() == {"success": True}, r.text
        assert here.get(base + "/api/auth/me").status_code == 200
        assert elsewhere.get(base + "/api/auth/me").status_code == 401
        assert login(stack, email, PASSWORD).status_code == 401
        assert login(stack, email, "a-new-passphrase-9").status_code == 200
    admin = stack.session()
    entry = audit(admin, stack, "auth.password_change")[0]
    assert entry["actorLabel"] == email and entry["changes"] == {"password": {"old": "[redacted]", "new": "[redacted]"}}
    assert written_anywhere(stack, "a-new-passphrase-9") is None


def test_bad_input_and_callers_without_a_session_change_nothing(stack):
    base = stack.base
    email = f"bad{next(_n)}@example.edu"
    stack.add_user(email, "EDITOR")
    s = stack.session(email, PASSWORD)
    for body, field in (({"currentPassword": PASSWORD, "newPassword": "short"}, "newPassword"),
                        ({"currentPassword": PASSWORD, "newPassword": PASSWORD}, "newPassword"),
                        ({"newPassword": "a-new-passphrase-9"}, "currentPassword"),
                        ({"currentPassword": PASSWORD, "newPassword": 12345678}, "newPassword")):
        r = s.post(base + "/api/auth/password", json=body)
        assert r.status_code == 400 and field in r.json()["error"], (body, r.text)
    good = {"currentPassword": PASSWORD, "newPassword": "a-new-passphrase-9"}
    assert requests.post(base + "/api/auth/password", json=good, timeout=10).status_code == 401
    # An analytics key reads analytics; it is nobody's account.
    key = stack.session().post(base + "/api/analytics-keys", json={"name": "not a user"}).json()["key"]
    assert requests.get(base + "/api/analytics", headers={"X-API-Key": key}, timeout=10).status_code == 200
    assert requests.post(base + "/api/auth/password", json=good, headers={"X-API-Key": key}, timeout=10).status_code == 401
    assert login(stack, email, PASSWORD).status_code == 200


def test_a_wrong_current_password_counts_against_the_login_throttle(fresh_stack):
    stack = fresh_stack(env={"EDMO_LOGIN_MAX_FAILURES": "3"})
    base, email = stack.base, "guessed@example.edu"
    stack.add_user(email, "VIEWER")
    s = stack.session(email, PASSWORD)
    for attempt in range(3):
        r = s.post(base + "/api/auth/password", json={"currentPassword": f"guess-{attempt}-xyz", "newPassword": "a-new-passphrase-9"})
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "Invalid value for field: currentPassword (it is not your current password)"
    locked = s.post(base + "/api/auth/password", json={"currentPassword": PASSWORD, "newPassword": "a-new-passphrase-9"})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0, locked.text
    # The same counters as a login: signing in from this address is locked too; the session itself stays.
    assert login(stack, email, PASSWORD).status_code == 429
    assert s.get(base + "/api/auth/me").status_code == 200
    admin = stack.session()
    failed = audit(admin, stack, "auth.password_change_failed")
    assert len(failed) == 3 and all(e["actorLabel"] == email for e in failed)
    assert not any("guess-" in str(e) for e in admin.get(base + "/api/audit-log").json())


ADMIN_OPERATIONS = [
    ("GET", "/api/users", None), ("POST", "/api/users", {"email": "sneaky@example.edu", "role": "ADMIN"}),
    ("GET", "/api/users/{id}", None), ("PATCH", "/api/users/{id}", {"role": "ADMIN"}),
    ("DELETE", "/api/users/{id}", None), ("POST", "/api/users/{id}/reset-password", None),
    ("GET", "/api/analytics-keys", None), ("POST", "/api/analytics-keys", {"name": "sneaky"}),
    ("DELETE", "/api/analytics-keys/{key}", None), ("GET", "/api/audit-log", None),
    ("PATCH", "/api/organization/settings", {"retentionDays": 1}), ("POST", "/api/erasures", {"chatId": "chat_x"}),
]


@pytest.mark.parametrize("role", ["EDITOR", "VIEWER"])
def test_editors_and_viewers_get_403_from_every_admin_operation(stack, role):
    admin, base = stack.session(), stack.base
    email = f"{role.lower()}{next(_n)}@example.edu"
    stack.add_user(email, role)
    s = stack.session(email, PASSWORD)
    uid = user_id(admin, stack, email)
    key = admin.post(base + "/api/analytics-keys", json={"name": "kept"}).json()
    before = (admin.get(base + f"/api/users/{uid}").json(), admin.get(base + "/api/analytics-keys").json())
    for method, path, body in ADMIN_OPERATIONS:
        url = base + path.replace("{id}", uid).replace("{key}", key["id"])
        r = s.request(method, url, json=body)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert r.json() == {"error": "You do not have permission to do this"}
        assert requests.request(method, url, json=body, timeout=10).status_code == 401, (method, path)
    assert (admin.get(base + f"/api/users/{uid}").json(), admin.get(base + "/api/analytics-keys").json()) == before
    assert not any(u["email"] == "sneaky@example.edu" for u in admin.get(base + "/api/users", params={"limit": 1000}).json())
    assert login(stack, email, PASSWORD).status_code == 200
    # Their own account is theirs to change.
    assert s.post(base + "/api/auth/password", json={"currentPassword": PASSWORD, "newPassword": "their-own-choice-7"}).status_code == 200
