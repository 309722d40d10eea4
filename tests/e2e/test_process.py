"""Process model: CGI mode, systemd socket activation, spawn-fcgi, SIGTERM draining, load without starvation."""
import concurrent.futures
import os
import subprocess
import time

import pytest
import requests

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, EDMO_BIN, Stack


def login_flow(stack):
    s = stack.session()
    assert s.get(stack.base + "/api/auth/me").json()["user"]["email"] == ADMIN_EMAIL
    assert s.post(stack.base + "/api/auth/logout").status_code == 200
    assert s.get(stack.base + "/api/auth/me").status_code == 401


def test_cgi_mode_answers_one_request_and_exits():
    s = Stack()
    try:
        s.add_user(ADMIN_EMAIL, "ADMIN", ADMIN_PASSWORD)
        body = '{"email":"%s","password":"%s"}' % (ADMIN_EMAIL, ADMIN_PASSWORD)
        env = dict(s.env, GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="POST", REQUEST_URI="/api/auth/login",
                   CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(body)), REMOTE_ADDR="127.0.0.1")
        r = subprocess.run([EDMO_BIN], input=body.encode(), env=env, capture_output=True, timeout=30)
        assert r.returncode == 0
        head, _, payload = r.stdout.decode().partition("\r\n\r\n")
        assert head.startswith("Status: 200 OK")
        assert "Set-Cookie: auth-token=" in head
        assert '"message":"Login successful"' in payload
    finally:
        s.stop()


def test_systemd_socket_activation(fresh_stack):
    stack = fresh_stack("systemd")
    login_flow(stack)
    code, seconds = stack.terminate()
    assert code == 0


def test_spawn_fcgi_fd0(fresh_stack):
    stack = fresh_stack("spawn")
    login_flow(stack)
    code, _ = stack.terminate()
    assert code == 0


def test_tcp_listen_serves_only_the_web_servers_named(fresh_stack):
    """`edmo serve --listen HOST:PORT`, as each of several hosts serves nginx; FCGI_WEB_SERVER_ADDRS (read by
    libfcgi) closes a connection from any other address, since FastCGI has no authentication of its own."""
    stack = fresh_stack("tcp", env={"FCGI_WEB_SERVER_ADDRS": "127.0.0.1"})
    login_flow(stack)
    stranger = fresh_stack("tcp", env={"FCGI_WEB_SERVER_ADDRS": "10.0.0.5"})
    r = requests.get(stranger.base + "/api/auth/me")
    assert r.status_code == 502 and r.json() == {"error": "API server unavailable"}
    assert "access:" not in stranger.log()


def test_sigterm_finishes_in_flight_requests_then_exits_zero(fresh_stack):
    stack = fresh_stack()
    body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        # Logins take an argon2id verify each (about 75 ms, two at a time): several are in flight at once.
        futures = [pool.submit(requests.post, stack.base + "/api/auth/login", json=body, timeout=30) for _ in range(8)]
        time.sleep(0.15)
        code, seconds = stack.terminate()
        statuses = [f.result().status_code for f in futures]
    assert code == 0
    assert seconds < 5
    # Requests already accepted finished with 200, or 503 when the hashing queue was full (nothing was done);
    # any not yet accepted got nginx's 502, never a hang.
    assert statuses.count(200) >= 1
    assert set(statuses) <= {200, 502, 503}
    assert "finishing in-flight requests" in stack.log()


def test_concurrent_load_does_not_starve_workers(stack):
    """More concurrent clients (128) than worker threads (8): every request is answered, and a request
    right after the burst is answered at once (no worker left pinned to an idle upstream connection)."""
    token = stack.session().cookies["auth-token"]

    def burst(_):
        with requests.Session() as s:
            return [s.get(stack.base + "/api/auth/me", cookies={"auth-token": token}, timeout=30).status_code
                    for _ in range(10)]

    with concurrent.futures.ThreadPoolExecutor(128) as pool:
        results = [code for codes in pool.map(burst, range(128)) for code in codes]
    assert results.count(200) == len(results) == 1280
    r = requests.get(stack.base + "/api/auth/me", cookies={"auth-token": token}, timeout=3)
    assert r.status_code == 200


@pytest.mark.store_independent("the settings are refused before any store is opened")
def test_missing_setting_stops_the_program_naming_it():
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDMO_")}
    r = subprocess.run([EDMO_BIN, "migrate"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "EDMO_DATABASE" in r.stderr
    env["EDMO_DATABASE"] = "/tmp/edmo-e2e-x.sqlite"
    env["EDMO_SECRET_KEY"] = "tooshort"
    r = subprocess.run([EDMO_BIN, "serve", "--socket", "/tmp/x.sock"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "EDMO_SECRET_KEY" in r.stderr
