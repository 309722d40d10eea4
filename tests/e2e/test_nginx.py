"""The local nginx config (nginx/local.conf.in, as make run and every test use it): gzip of the dashboard's
assets and larger API answers, and the login rate limit on every spelling of the login path.

Requests go through http.client, which sends the path exactly as written and adds no Accept-Encoding, so what
is on the wire is what is checked (requests would decompress and normalise).
"""
import gzip
import http.client
import ssl
import json
import os

import pytest

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack

CHART_JS = "/usr/share/javascript/chart.js/chart.min.js"
NGINX_429 = {"error": "Too many requests"}


def fetch(port, method, path, headers=None, body=None, source="127.0.0.1", tls=False):
    """(status, headers as a lowercase dict, raw body bytes), the path sent exactly as written."""
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, source_address=(source, 0),
                                           context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


@pytest.mark.store_independent("static files nginx serves itself; edmo is never asked")
@pytest.mark.parametrize("path, local", [
    ("/vendor/chart.js/chart.min.js", CHART_JS),  # what index.html loads
    ("/js/app.js?v=1", "web/js/app.js"),
    ("/js/assistants.js", "web/js/assistants.js"),
    ("/app.css?v=1", "web/app.css"),
])
def test_dashboard_assets_are_gzipped_only_when_asked(stack, path, local):
    # The stack serves its own copy of web/ (taken when it started): compare with that copy.
    with open(local if local.startswith("/") else os.path.join(stack.dir, local), "rb") as f:
        expected = f.read()
    assert len(expected) > 1024

    status, headers, body = fetch(stack.port, "GET", path, {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers.get("content-encoding") == "gzip", headers
    assert "Accept-Encoding" in headers.get("vary", "")
    assert len(body) < len(expected)
    assert gzip.decompress(body) == expected

    status, headers, body = fetch(stack.port, "GET", path)
    assert status == 200
    assert "content-encoding" not in headers, headers
    assert body == expected


def test_large_api_answers_are_gzipped_small_ones_are_not(stack):
    admin = stack.session()
    for i in range(20):
        r = admin.post(stack.base + "/api/assistants", json={
            "name": f"Gzip bot {i}", "model": {"provider": "openai", "model": "gpt-4o"},
            "voice": {"provider": "openai", "voiceId": "alloy"}})
        assert r.status_code == 201, r.text
    # requests asks for gzip and decompresses transparently: nothing changes for clients like it.
    r = admin.get(stack.base + "/api/assistants?limit=20")
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    assert len(r.json()) == 20 and r.headers["X-Total-Count"]

    cookie = "auth-token=" + admin.cookies["auth-token"]
    status, headers, body = fetch(stack.port, "GET", "/api/assistants?limit=20", {"Cookie": cookie, "Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip"
    assert headers["content-type"].startswith("application/json")
    assert len(json.loads(gzip.decompress(body))) == 20
    status, headers, body = fetch(stack.port, "GET", "/api/assistants?limit=20", {"Cookie": cookie})
    assert status == 200 and "content-encoding" not in headers and len(json.loads(body)) == 20
    # Under gzip_min_length (1024 bytes): sent as is.
    status, headers, body = fetch(stack.port, "GET", "/api/auth/me", {"Cookie": cookie, "Accept-Encoding": "gzip"})
    assert status == 200 and "content-encoding" not in headers and json.loads(body)["user"]["email"] == ADMIN_EMAIL


# Every spelling nginx hands to the app as (a variant of) the login path. Each is tried from its own loopback
# address: nginx's limit is per client address, so each spelling has a fresh allowance of 1 + burst.
LOGIN_SPELLINGS = [
    "/api/auth/login",
    "/api/auth/login/",
    "/api/auth//login",
    "//api/auth/login",
    "/api//auth/login/",
    "/api/auth/%6Cogin",
    "/api/auth%2Flogin",
    "/api/auth/login%2F",
    "/api/auth/./login",
    "/api/auth/%2e/login",
    "/api/x/../auth/login",
    "/api/auth/login?next=/",
    "/api/auth/login.json",
]


@pytest.fixture(scope="module")
def limited_stack():
    # rate=1r/m, burst=2, nodelay: three login requests pass, the fourth within the minute is nginx's 429.
    s = Stack(nginx_env={"EDMO_NGINX_LOGIN_RATE": "1r/m", "EDMO_NGINX_LOGIN_BURST": "2"}).start()
    yield s
    s.stop()


@pytest.mark.parametrize("n, path", list(enumerate(LOGIN_SPELLINGS)))
def test_login_rate_limit_covers_every_spelling(limited_stack, n, path):
    source = f"127.0.0.{20 + n}"
    body = json.dumps({"email": f"nobody{n}@example.edu", "password": "wrong-password"})
    headers = {"Content-Type": "application/json"}
    answers = [fetch(limited_stack.port, "POST", path, headers, body, source) for _ in range(4)]
    for status, _, payload in answers[:3]:
        assert status != 429, (path, status, payload)  # passed on to the app (whatever it answers)
    status, headers_4, payload = answers[3]
    assert status == 429, (path, status, payload)
    assert headers_4["content-type"].startswith("application/json")
    assert json.loads(payload) == NGINX_429, payload  # nginx's answer, not the app's own lockout


def test_login_rate_limit_leaves_other_api_paths_alone(limited_stack):
    port, source = limited_stack.port, "127.0.0.200"
    body = json.dumps({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    codes = [fetch(port, "POST", "/api/auth/login", {"Content-Type": "application/json"}, body, source)[0]
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # The same address, now limited on login, is not limited anywhere else under /api/.
    for path in ("/api/auth/me", "/api/authx/login", "/api/auth", "/api/assistants"):
        for _ in range(6):
            assert fetch(port, "GET", path, source=source)[0] != 429, path
    # ...nor on the dashboard.
    assert fetch(port, "GET", "/", source=source)[0] == 200
