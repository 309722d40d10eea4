"""Keep-alive FastCGI (issue 14): nginx keeps its connections to edmo, and no number of idle kept connections
can hold a worker. These tests speak FastCGI to edmo's socket directly, as nginx does, so they control exactly
how many connections are kept and when."""
import concurrent.futures
import socket
import struct
import time

import requests

from test_operations import scrape, value

BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
KEEP_CONN = 1


def record(kind, content=b"", request_id=1):
    return struct.pack(">BBHHBx", 1, kind, request_id, len(content), 0) + content


def pair(name, value):
    name, value = name.encode(), value.encode()
    return bytes([len(name)]) + bytes([len(value)]) + name + value


def fastcgi_request(conn, path, keep=True, body=b"", late_end=0.0):
    """Sends one request on `conn` and reads records up to its END_REQUEST; answers (status line, body).
    `late_end`: seconds to wait before the input's end record, as nginx's can come in a later packet."""
    params = b"".join(pair(k, v) for k, v in {
        "REQUEST_METHOD": "POST" if body else "GET", "REQUEST_URI": path, "DOCUMENT_URI": path.split("?")[0],
        "QUERY_STRING": "", "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
        "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1"}.items())
    begin = struct.pack(">HB5x", 1, KEEP_CONN if keep else 0)
    out = record(BEGIN, begin) + record(PARAMS, params) + record(PARAMS)
    if body:
        out += record(STDIN, body)
    if late_end:
        conn.sendall(out)
        time.sleep(late_end)
        conn.sendall(record(STDIN))
    else:
        conn.sendall(out + record(STDIN))
    stdout = b""
    while True:
        header = read_exactly(conn, 8)
        _, kind, _, length, padding = struct.unpack(">BBHHBx", header)
        content = read_exactly(conn, length + padding)[:length]
        if kind == STDOUT:
            stdout += content
        if kind == END:
            head, _, payload = stdout.partition(b"\r\n\r\n")
            return head.split(b"\r\n")[0].decode(), payload


def read_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        assert chunk, "edmo closed the connection in the middle of a response"
        data += chunk
    return data


def connect(stack):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    conn.connect(stack.socket)
    return conn


def test_idle_kept_connections_never_hold_a_worker(stack):
    """Eight times as many kept, idle connections as edmo has workers (8): a new connection is still served at
    once, through nginx and directly, and every kept connection serves its next request."""
    kept = [connect(stack) for _ in range(64)]
    try:
        for conn in kept:
            assert fastcgi_request(conn, "/api/health")[0] == "Status: 200 OK"
        # Every kept connection is now idle and open. Before the connection loop, each pinned a worker thread
        # and this request waited in the backlog until they were closed (the timeout turns a hang into a failure).
        assert requests.get(stack.base + "/api/health", timeout=5).status_code == 200
        fresh = connect(stack)
        assert fastcgi_request(fresh, "/api/health", keep=False)[0] == "Status: 200 OK"
        # Not kept: edmo closed it after the answer.
        assert fresh.recv(1) == b""
        fresh.close()
        for conn in kept:
            assert fastcgi_request(conn, "/api/health")[0] == "Status: 200 OK"
    finally:
        for conn in kept:
            conn.close()


def test_one_kept_connection_serves_many_requests_in_order(stack):
    conn = connect(stack)
    try:
        statuses = [fastcgi_request(conn, "/api/health")[0] for _ in range(50)]
        assert statuses == ["Status: 200 OK"] * 50
        # A 401 and a bad body on the same connection do not break it.
        assert fastcgi_request(conn, "/api/auth/me")[0].startswith("Status: 401")
        status, payload = fastcgi_request(conn, "/api/auth/login", body=b"{not json")
        assert status.startswith("Status: 400") and b'"error"' in payload
        assert fastcgi_request(conn, "/api/health")[0] == "Status: 200 OK"
    finally:
        conn.close()


def test_an_input_end_record_that_comes_late_does_not_break_the_next_request(stack):
    """The body is read as soon as it is there; the end record of the input may come after it. Left unread, it
    started the next request on the kept connection, and libfcgi then closed that connection without an answer
    (nginx: "upstream prematurely closed connection while reading response header")."""
    conn = connect(stack)
    try:
        for late in (0.2, 0.0, 0.2):
            status, payload = fastcgi_request(conn, "/api/auth/login", body=b"{not json", late_end=late)
            assert status.startswith("Status: 400") and b'"error"' in payload
            assert fastcgi_request(conn, "/api/health")[0] == "Status: 200 OK"
        assert fastcgi_request(conn, "/api/health", late_end=0.2)[0] == "Status: 200 OK"
        assert fastcgi_request(conn, "/api/health")[0] == "Status: 200 OK"
    finally:
        conn.close()


def test_load_through_nginx_with_kept_connections(stack):
    """nginx keeps its connections (fastcgi_keep_conn, upstream keepalive): 256 concurrent clients, far more
    than workers, all answered; then nginx's idle kept connections hold no worker either."""
    token = stack.session().cookies["auth-token"]

    def burst(_):
        with requests.Session() as s:
            return [s.get(stack.base + "/api/auth/me", cookies={"auth-token": token}, timeout=30).status_code
                    for _ in range(5)]

    with concurrent.futures.ThreadPoolExecutor(256) as pool:
        results = [code for codes in pool.map(burst, range(256)) for code in codes]
    assert results.count(200) == len(results) == 1280
    assert requests.get(stack.base + "/api/auth/me", cookies={"auth-token": token}, timeout=5).status_code == 200
    # nginx kept its connections: idle ones are still open besides the scrape's own (without keep-alive, the
    # scrape's would be the only one), and they hold no worker.
    after = scrape(stack)
    assert value(after, "edmo_fastcgi_connections") > 1
    assert value(after, "edmo_workers_busy") == 1


def test_kept_connections_are_counted_and_closed_on_sigterm(fresh_stack):
    stack = fresh_stack()
    kept = [connect(stack) for _ in range(20)]
    for conn in kept:
        assert fastcgi_request(conn, "/api/health")[0] == "Status: 200 OK"
    assert value(scrape(stack), "edmo_fastcgi_connections") >= 20
    code, _ = stack.terminate()
    assert code == 0
    # Each idle kept connection was closed by edmo (end of file), not left hanging.
    for conn in kept:
        assert conn.recv(1) == b""
        conn.close()
