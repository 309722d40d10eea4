"""Hostile input through nginx: every malformed request gets a 4xx with the error envelope, never a 5xx or
a hang, and the server stays up."""
import socket

import pytest
import requests


def send_raw(stack, raw: bytes, timeout=10):
    with socket.create_connection(("127.0.0.1", stack.port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


@pytest.fixture(scope="module")
def admin(stack):
    return stack.session()


BODIES = {
    "deeply nested arrays": b"[" * 100_000 + b"]" * 100_000,
    "deeply nested objects": b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    "invalid UTF-8": b'{"name": "\xff\xfe\xfd", "model": {"provider": "openai", "model": "m"}, "voice": {}}',
    "lone surrogate escape": b'{"name": "\\ud800", "model": {"provider": "openai", "model": "m"}, "voice": {}}',
    "duplicate keys": b'{"model": {"provider": "openai", "model": "m"}, "model": 5, "voice": {}}',
    "huge number": b'{"model": {"provider": "openai", "model": "m", "maxTokens": 1e400}, "voice": {}}',
    "NaN": b'{"model": {"provider": "openai", "model": "m", "temperature": NaN}, "voice": {}}',
    "not JSON at all": b"\x00\x01\x02\x03",
    "empty object": b"{}",
    "JSON string": b'"hello"',
    "trailing garbage": b'{"model": {"provider": "openai", "model": "m"}, "voice": {}} xyz',
}


@pytest.mark.parametrize("name", list(BODIES))
def test_malformed_bodies_are_4xx(stack, admin, name):
    for path in ("/api/assistants", "/api/tools", "/api/chat", "/api/users", "/api/auth/login"):
        r = admin.post(stack.base + path, data=BODIES[name], headers={"Content-Type": "application/json"}, timeout=30)
        assert 400 <= r.status_code < 500, (name, path, r.status_code, r.text[:200])
        assert "error" in r.json()
    assert admin.get(stack.base + "/api/auth/me", timeout=5).status_code == 200


def test_oversize_and_odd_requests(stack, admin):
    base = stack.base
    assert admin.post(base + "/api/assistants", data=b"{" + b" " * (3 << 20) + b"}", headers={"Content-Type": "application/json"}).status_code == 413
    assert admin.post(base + "/api/assistants", data=b"{}", headers={"Content-Type": "text/xml"}).status_code == 415
    assert admin.get(base + "/api/assistants?limit=" + "9" * 5000).status_code in (400, 414)
    assert admin.get(base + "/api/assistants/" + "x" * 3000).status_code in (404, 414)
    r = admin.get(base + "/api/assistants", headers={"X-Long": "a" * 7000})
    assert r.status_code in (200, 400, 431)
    r = requests.get(base + "/api/auth/me", headers={"Cookie": "auth-token=" + "z" * 4000})
    assert r.status_code in (401, 400)
    assert admin.get(base + "/api/assistants/%00%ff%fe").status_code in (400, 404)  # nginx refuses %00 itself
    assert admin.get(base + "/api/users?offset=-5&limit=abc").status_code == 400


def test_raw_protocol_abuse_never_kills_the_server(stack, admin):
    # A truncated body: nginx waits, then gives up; the app never sees half a request.
    raw = (b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: 100\r\nConnection: close\r\n\r\n{\"email\":")
    try:
        send_raw(stack, raw, timeout=3)
    except socket.timeout:
        pass
    bad = send_raw(stack, b"GARBAGE / HTTP/1.1\r\n\r\n")
    assert bad.startswith(b"HTTP/1.1 4")
    assert admin.get(stack.base + "/api/auth/me", timeout=5).status_code == 200
    assert "error: request" not in stack.log()  # no 5xx was logged
