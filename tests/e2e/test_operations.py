"""Operating a fleet, through the real nginx config (nginx/local.conf.in): GET /api/health for nginx and load
balancers, and the Prometheus metrics at /metrics, which nginx serves to loopback clients only.

Requests go through http.client from a chosen source address (the path is sent exactly as written). The
non-loopback case is a real one: the test finds this machine's own non-loopback IPv4 address, adds a second
`listen` on it to the stack's rendered nginx.conf and reloads nginx, then connects to that address, so
nginx sees the request come from it (a connection to one's own address leaves from that address). Without
such an address the test is skipped, saying so; the loopback-only rule is then still checked by the
config test below and edmo's own check by the Swift tests.
"""
import json
import os
import re
import socket
import subprocess
import time

import pytest

from conftest import POSTGRES, psql, wait_for
from test_nginx import fetch

METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Prometheus text format 0.0.4: comments, and samples `name{label="value",...} number`.
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{({LABEL}(?:,{LABEL})*)?\}})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$")
COMMENT = re.compile(rf"^# (HELP|TYPE) ({NAME}) (.*)$")


def parse_metrics(text):
    """{(name, ((label, value), ...)): float}; fails on any line outside the format, a family sampled before
    its TYPE, or a histogram whose buckets are not cumulative up to +Inf = _count."""
    assert text.endswith("\n"), "the exposition ends with a newline"
    types, samples = {}, {}
    for line in text.splitlines():
        comment = COMMENT.match(line)
        if comment:
            kind, name, rest = comment.groups()
            if kind == "TYPE":
                assert rest in ("counter", "gauge", "histogram"), line
                assert name not in types, f"second TYPE for {name}"
                types[name] = rest
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus 0.0.4 line: {line!r}"
        name, labels, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"{name} sampled before its TYPE"
        pairs = tuple(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels or ""))
        assert (name, pairs) not in samples, f"duplicate series {line!r}"
        samples[(name, pairs)] = float(value)
    for (name, pairs), count in samples.items():
        if name.endswith("_count") and types.get(name[:-6]) == "histogram":
            base = name[:-6]
            buckets = sorted(
                ((float(dict(p)["le"]), v) for (n, p), v in samples.items()
                 if n == base + "_bucket" and tuple(x for x in p if x[0] != "le") == pairs))
            assert buckets and buckets[-1][0] == float("inf") and buckets[-1][1] == count, (name, pairs)
            assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), f"{base} buckets not cumulative"
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(labels.items())), 0.0)


def scrape(stack, source="127.0.0.1"):
    status, headers, body = fetch(stack.port, "GET", "/metrics", source=source)
    assert status == 200, (status, body[:200])
    assert headers["content-type"] == METRICS_TYPE, headers
    return parse_metrics(body.decode())


def own_address():
    """This machine's first global IPv4 address (not loopback), or None."""
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show", "scope", "global"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        m = re.search(r"\binet (\d+\.\d+\.\d+\.\d+)/", line)
        if m and not m.group(1).startswith("127."):
            return m.group(1)
    return None


def test_health_through_nginx(stack):
    status, headers, body = fetch(stack.port, "GET", "/api/health")
    assert status == 200, body
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"status": "ok", "store": "postgres" if stack.store == "postgresql" else "sqlite"}
    assert headers.get("x-request-id") and headers.get("cache-control") == "no-store"
    # No session needed, and only GET.
    assert fetch(stack.port, "POST", "/api/health", {"Content-Type": "application/json"}, "{}")[0] == 405


def test_metrics_from_loopback_count_api_calls(stack):
    before = scrape(stack)
    me = dict(method="GET", route="/api/auth/me", status="200")
    admin = stack.session()
    for _ in range(5):
        assert admin.get(stack.base + "/api/auth/me").status_code == 200
    assert admin.get(stack.base + "/api/assistants/asst_nope_123").status_code == 404
    after = scrape(stack, source="127.0.0.2")  # any loopback address
    assert value(after, "edmo_requests_total", **me) == value(before, "edmo_requests_total", **me) + 5
    assert value(after, "edmo_requests_total", method="POST", route="/api/auth/login", status="200") >= 1
    assert value(after, "edmo_requests_total", method="GET", route="/api/assistants/{id}", status="404") >= 1
    assert not any("asst_nope" in v for (_, pairs) in after for _, v in pairs), "a raw path leaked into a label"
    assert value(after, "edmo_request_duration_seconds_count", method="GET", route="/api/auth/me") >= 5
    # The login wrote its session: a commit was timed.
    assert value(after, "edmo_store_commit_duration_seconds_count") >= 1
    assert value(after, "edmo_workers") == 8  # EDMO_WORKERS of the stack
    assert 1 <= value(after, "edmo_workers_busy") <= 8  # this scrape's worker at least
    store = "postgres" if stack.store == "postgresql" else "sqlite"
    assert value(after, "edmo_store_up", store=store) == 1
    for gauge in ("edmo_provider_operations_pending", "edmo_conversations_open", "edmo_conversations_idle",
                  "edmo_webhook_deliveries_pending", "edmo_webhook_deliveries_due"):
        assert (gauge, ()) in after, gauge
    assert value(after, "edmo_capacity_slots", gate="password_hashing") >= 1
    assert ("edmo_capacity_queued", (("gate", "password_hashing"),)) in after


# Spellings nginx normalises to /metrics ($uri: %XX decoded, // merged, ./ and ../ resolved), so they meet
# `location = /metrics` and its loopback rule; and near misses, which are other paths (the dashboard's
# fallback page, or the app's 404). None may return the metrics to a non-loopback client.
NORMALISED = ["/metrics", "/metrics?x=1", "/api/../metrics", "/api/%2e%2e/metrics", "//metrics", "/%6Detrics",
              "/./metrics", "/x/../metrics"]
NEAR_MISSES = ["/metrics/", "/api/metrics", "/api//metrics", "/api/..%2Fmetrics", "/METRICS", "/metrics.txt"]


def edit_nginx_conf(stack, anchor, addition):
    """Adds the lines `addition` before the one `anchor` line of the stack's rendered nginx.conf (a test-only
    change of that copy), and reloads nginx."""
    with open(stack.nginx_conf) as f:
        conf = f.read()
    assert conf.count(anchor) == 1, anchor
    with open(stack.nginx_conf, "w") as f:
        f.write(conf.replace(anchor, addition + "\n" + anchor))
    subprocess.run(["nginx", "-s", "reload", "-c", stack.nginx_conf, "-p", stack.dir], check=True)


@pytest.mark.store_independent("nginx's access rule; the store is not what is checked")
def test_metrics_refused_to_a_non_loopback_client(stack):
    address = own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    # A second listen on that address, in the stack's own rendered config: nothing else changes.
    edit_nginx_conf(stack, f"        listen 127.0.0.1:{stack.port};", f"        listen {address}:{stack.port};")

    def reachable():
        try:
            socket.create_connection((address, stack.port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(reachable, what=f"nginx listening on {address}")
    time.sleep(0.5)  # old workers finish; new ones have the new config

    def get(path):
        import http.client
        conn = http.client.HTTPConnection(address, stack.port, timeout=10, source_address=(address, 0))
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    # The public API answers from there...
    status, body = get("/api/health")
    assert status == 200, body
    # ...the metrics do not, however spelled.
    for path in NORMALISED:
        status, body = get(path)
        assert status == 403, (path, status, body[:200])
        assert b"edmo_" not in body, path
    for path in NEAR_MISSES:
        status, body = get(path)
        assert b"edmo_requests_total" not in body, (path, status)
    # The access log shows the source address nginx saw: the machine's own, not loopback.
    with open(os.path.join(stack.dir, "access.log")) as f:
        assert any(line.startswith(address + " ") and "GET /metrics " in line and '" 403 ' in line for line in f)
    # Loopback clients still get them.
    assert fetch(stack.port, "GET", "/metrics")[0] == 200


@pytest.mark.store_independent("nginx's routing of the path; the store is not what is checked")
def test_metrics_spellings_from_loopback_reach_only_the_metrics_route(stack):
    # What edmo itself does with them (nginx lets loopback through): only the exact path, or its
    # percent-encoded form, is the metrics route; the rest are the app's 404s.
    expected = {"/metrics": 200, "/metrics?x=1": 200, "/%6Detrics": 200, "/api/../metrics": 404, "//metrics": 404,
                "/api/metrics": 404, "/./metrics": 404}
    for path, status in expected.items():
        got, headers, body = fetch(stack.port, "GET", path)
        assert got == status, (path, got, body[:200])
        if status == 404:
            assert json.loads(body)["error"].startswith("No such endpoint"), path


@pytest.mark.store_independent("nginx's routing of the path; the store is not what is checked")
def test_a_per_host_metrics_location_as_the_readme_shows(stack):
    # README "Operating a fleet": with several hosts, one loopback-only location per host, which names the
    # host in its path and tells edmo the path is /metrics (edmo takes the last REQUEST_URI nginx sends).
    with open(stack.nginx_conf) as f:
        include = re.search(r"include (\S+edmo-fastcgi\.conf);", f.read()).group(1)
    edit_nginx_conf(stack, "        location = /metrics {", f"""\
        location = /metrics/host-1 {{
            allow 127.0.0.0/8;
            allow ::1;
            deny all;
            include {include};
            fastcgi_param REQUEST_URI /metrics;
            fastcgi_pass unix:{stack.socket};
        }}""")
    # Until the reload is done (the old workers gone), the path may be the dashboard's fallback page.
    answers = []

    def served():
        answers[:] = [fetch(stack.port, "GET", "/metrics/host-1") for _ in range(10)]
        return all(headers["content-type"] == METRICS_TYPE for _, headers, _ in answers)
    wait_for(served, what="the reloaded nginx")
    for status, _, body in answers:
        assert status == 200 and ("edmo_workers", ()) in parse_metrics(body.decode())


@pytest.mark.store_independent("reads the config files")
def test_configs_serve_metrics_to_loopback_only():
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    for name in ("local.conf.in", "edmo.conf"):
        with open(os.path.join(repo, "nginx", name)) as f:
            conf = f.read()
        block = re.search(r"location = /metrics \{(.*?)\}", conf, re.S)
        assert block, name
        rules = [line.strip() for line in block.group(1).splitlines()
                 if line.strip().startswith(("allow", "deny"))]
        assert rules == ["allow 127.0.0.0/8;", "allow ::1;", "deny all;"], (name, rules)
        # No other location hands the app a path outside /api/ (the dashboard's are static files).
        assert conf.count("fastcgi_pass edmo;") == 2, name


def test_health_is_503_once_the_store_is_gone(fresh_stack):
    s = fresh_stack()
    assert fetch(s.port, "GET", "/api/health")[0] == 200
    if s.store == "sqlite":
        os.unlink(s.env["EDMO_DATABASE"])
    else:
        psql(POSTGRES, f"DROP DATABASE {s.pg_database} WITH (FORCE)")
    status, headers, body = fetch(s.port, "GET", "/api/health")
    assert status == 503, body
    assert headers.get("retry-after") == "5"
    assert json.loads(body) == {"error": "The database does not answer; this host is not ready"}
    metrics = scrape(s)
    store = "postgres" if s.store == "postgresql" else "sqlite"
    assert value(metrics, "edmo_store_up", store=store) == 0
    assert ("edmo_conversations_open", ()) not in metrics
    assert "health: the %s store does not answer" % store in s.log()
