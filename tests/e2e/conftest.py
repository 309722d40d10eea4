"""End-to-end harness: the real `edmo` binary behind a real nginx (the project's config), on loopback.

Each Stack gets its own temp directory (socket, nginx prefix, and the SQLite database) and a free port.

The store: a SQLite file in that directory, or, when EDMO_E2E_POSTGRES names a PostgreSQL server
(postgres://edmo@127.0.0.1:PORT/edmo, as `tests/pg/cluster start` prints it), a database of its own on that
server, made when the Stack is made and dropped when it stops. Tests reach the stored rows through
`Stack.sql`, the same on both. `make e2e` runs the suite once on each.

Markers (see pytest_collection_modifyitems), both skipped on the PostgreSQL pass with their reason:
`store_independent(reason)` for tests that never reach the store (or always run on SQLite whatever the
pass), and `sqlite_only(reason)` for a test about the SQLite file itself with no PostgreSQL form (none
today: the full disk, the integrity check and the scan for a secret in the clear each have one).
`postgres_only(reason)` is the converse, skipped on the SQLite pass with its reason: several hosts on one
database (a `Fleet`, test_hosts.py), which SQLite, one file on one host, does not offer. `make e2e` runs both
passes, so each test runs there exactly once.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse

import pytest
import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EDMO_BIN = os.environ.get("EDMO_BIN", os.path.join(REPO, ".build", "debug", "edmo"))
ADMIN_EMAIL = "admin@example.edu"
ADMIN_PASSWORD = "admin-password-1"
# The PostgreSQL server of this pass ("" on the SQLite pass).
POSTGRES = os.environ.get("EDMO_E2E_POSTGRES", "")
STORE = "postgresql" if POSTGRES else "sqlite"
# EDMO_E2E_KEEP=1: a stopped stack leaves its folder (edmo.log, nginx's logs) for a look after a failure.
KEEP = os.environ.get("EDMO_E2E_KEEP") == "1"


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only(reason): about the SQLite file itself; skipped on the PostgreSQL pass")
    config.addinivalue_line("markers", "store_independent(reason): never reaches the store (or always runs on SQLite); "
                                       "run on the SQLite pass only")
    config.addinivalue_line("markers", "postgres_only(reason): needs a database server (several hosts on one "
                                       "database); skipped on the SQLite pass")


def pytest_report_header(config):
    return f"edmo store: {STORE}" + (f" (server {POSTGRES}, one database per stack)" if POSTGRES else " (a file per stack)")


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(pytest_report_header(None))  # also under -q, which hides the header


def pytest_collection_modifyitems(config, items):
    for item in items:
        for name in (("sqlite_only", "store_independent") if POSTGRES else ("postgres_only",)):
            marker = item.get_closest_marker(name)
            if marker:
                reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
                item.add_marker(pytest.mark.skip(reason=f"{name}: {reason}"))


def psql(url, query, *, rows=False):
    """Runs one statement on the PostgreSQL database at `url` with psql; with rows=True, the lines it prints."""
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", query],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"psql failed ({r.returncode}) on {query!r}: {r.stderr.strip()}")
    return r.stdout.splitlines() if rows else None


def database_url(server, name):
    """`server` (a postgres:// URL) with its database replaced by `name`; user, host, port and options kept."""
    parts = urllib.parse.urlsplit(server)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def sql_literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "'\\x%s'::bytea" % bytes(value).hex()
    return "'" + str(value).replace("'", "''") + "'"


def inline_params(query, params):
    """`query` with each `?` placeholder (outside quotes and comments) replaced by its parameter as a literal."""
    params, out, i, n = list(params), [], 0, len(query)
    used = 0
    while i < n:
        c = query[i]
        if c in "'\"":
            j = i + 1
            while j < n:
                if query[j] == c:
                    if j + 1 < n and query[j + 1] == c:  # a doubled quote inside
                        j += 2
                        continue
                    break
                j += 1
            out.append(query[i:j + 1])
            i = j + 1
        elif query.startswith("--", i):
            j = query.find("\n", i)
            j = n if j < 0 else j
            out.append(query[i:j])
            i = j
        elif c == "?":
            if used >= len(params):
                raise ValueError(f"more placeholders than the {len(params)} parameters in {query!r}")
            out.append(sql_literal(params[used]))
            used += 1
            i += 1
        else:
            out.append(c)
            i += 1
    if used != len(params):
        raise ValueError(f"{len(params)} parameters for {used} placeholders in {query!r}")
    return "".join(out)


class _Pairs(list):
    """A JSON object as decoded pairs, so that a row keeps every column, also two of the same name."""


def _plain(value):
    if isinstance(value, _Pairs):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _row(line):
    return tuple(_plain(v) for _, v in json.loads(line, object_pairs_hook=_Pairs))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Stack:
    """mode: 'socket' (edmo serve --socket), 'tcp' (edmo serve --listen 127.0.0.1:PORT; `socket` is then that
    address), 'systemd' (systemd-socket-activate, fd 3), 'spawn' (spawn-fcgi, fd 0).
    nginx_env: extra environment for nginx/render (e.g. EDMO_NGINX_LOGIN_RATE).
    tablespace: on the PostgreSQL pass, the tablespace its database is made in."""

    def __init__(self, mode="socket", env=None, nginx_env=None, tablespace=None):
        self.mode = mode
        self.nginx_env = dict(os.environ, **(nginx_env or {}))
        self.dir = tempfile.mkdtemp(prefix="edmo-e2e-")
        os.chmod(self.dir, 0o755)
        # The repo's real dashboard, copied so nginx (workers run as nobody) can read it.
        shutil.copytree(os.path.join(REPO, "web"), os.path.join(self.dir, "web"))
        os.chmod(os.path.join(self.dir, "web"), 0o755)
        self.socket = f"127.0.0.1:{free_port()}" if mode == "tcp" else os.path.join(self.dir, "edmo.sock")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        self.env.update({
            "EDMO_DATABASE": os.path.join(self.dir, "edmo.sqlite"),
            "EDMO_SECRET_KEY": secrets.token_hex(32),
            "EDMO_MIGRATIONS": os.path.join(REPO, "migrations"),
            "EDMO_WORKERS": "8",
        })
        self.log_path = os.path.join(self.dir, "edmo.log")
        self.proc = None
        self.nginx_conf = None
        # On the PostgreSQL pass, a database of its own on the server (unless the test chose a database).
        self.pg_database = None
        if POSTGRES and "EDMO_DATABASE" not in (env or {}):
            self.pg_database = "edmo_e2e_" + secrets.token_hex(6)
            psql(POSTGRES, f"CREATE DATABASE {self.pg_database}" + (f" TABLESPACE {tablespace}" if tablespace else ""))
            self.env["EDMO_DATABASE"] = database_url(POSTGRES, self.pg_database)
        self.env.update(env or {})
        self.store = "postgresql" if self.env["EDMO_DATABASE"].startswith(("postgres://", "postgresql://")) else "sqlite"

    def edmo(self, *args, stdin=None, check=True):
        return subprocess.run([EDMO_BIN, *args], input=stdin, env=self.env, capture_output=True, text=True,
                              check=check, timeout=60)

    def add_user(self, email, role, password="user-password-1", org="default"):
        self.edmo("users", "add", "--email", email, "--role", role, "--org", org, "--password-stdin",
                  stdin=password + "\n")

    def start(self):
        self.add_user(ADMIN_EMAIL, "ADMIN", ADMIN_PASSWORD)
        self.launch()
        self.serve([self.socket])
        return self

    def serve(self, sockets):
        """Renders this stack's nginx in front of the FastCGI `sockets` (one: a plain single host; several: the
        round-robin `upstream edmo` of nginx/render) and starts it."""
        conf = subprocess.run([os.path.join(REPO, "nginx", "render"), str(self.port), ",".join(sockets),
                               os.path.join(self.dir, "web"), self.dir], capture_output=True, text=True, check=True,
                              env=self.nginx_env)
        self.nginx_conf = os.path.join(self.dir, "nginx.conf")
        with open(self.nginx_conf, "w") as f:
            f.write(conf.stdout)
        subprocess.run(["nginx", "-c", self.nginx_conf, "-p", self.dir], check=True)
        wait_for(self._up, what="nginx")

    def launch(self):
        """Starts the edmo process (again, after a crash, on the same database and socket)."""
        if self.mode != "tcp" and os.path.exists(self.socket):
            os.unlink(self.socket)
        log = open(self.log_path, "a")
        if self.mode == "socket":
            cmd = [EDMO_BIN, "serve", "--socket", self.socket, "--socket-mode", "666"]
        elif self.mode == "tcp":
            cmd = [EDMO_BIN, "serve", "--listen", self.socket]
        elif self.mode == "systemd":
            cmd = ["systemd-socket-activate", "-l", self.socket, EDMO_BIN, "serve"]
            # It passes on only the variables named: every EDMO_ setting of this stack (the store's URL too).
            names = sorted(k for k in self.env if k.startswith("EDMO_") and k != "EDMO_BIN" and not k.startswith("EDMO_E2E_"))
            cmd = cmd[:3] + [f"--setenv={k}" for k in names] + cmd[3:]
        elif self.mode == "spawn":
            # spawn-fcgi binds the socket, hands it over as fd 0 and exits; -n keeps edmo in the foreground.
            cmd = ["spawn-fcgi", "-n", "-s", self.socket, "-M", "0666", "--", EDMO_BIN, "serve"]
        else:
            raise ValueError(self.mode)
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._listening, what="the FastCGI socket")
        if self.mode == "systemd":
            os.chmod(self.socket, 0o666)

    def crash(self):
        """SIGKILL: no draining, no cleanup, as a power cut or an OOM kill would leave it."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def _listening(self):
        if self.mode != "tcp":
            return os.path.exists(self.socket)
        host, port = self.socket.rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return True
        except OSError:
            return False

    def _up(self):
        try:
            requests.get(self.base + "/api/auth/me", timeout=2)
            return True
        except requests.RequestException:
            return False

    def session(self, email=ADMIN_EMAIL, password=ADMIN_PASSWORD):
        s = requests.Session()
        r = s.post(self.base + "/api/auth/login", json={"email": email, "password": password}, timeout=10)
        assert r.status_code == 200, r.text
        return s

    def terminate(self, timeout=10):
        """SIGTERM the server; returns (exit code, seconds it took)."""
        started = time.time()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        return code, time.time() - started

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    # --- The stored rows, on either store. ---

    def sql(self, query, params=()):
        """Runs one SQL statement on this stack's database, beside the running server, and returns its rows
        as tuples (none for a statement that returns none). `?` placeholders take `params`. Numbers come back
        as ints (or floats), text as str, NULL as None, on both stores."""
        if self.store == "sqlite":
            db = sqlite3.connect(self.env["EDMO_DATABASE"], timeout=30)
            try:
                with db:
                    return db.execute(query, tuple(params)).fetchall()
            finally:
                db.close()
        statement = inline_params(query, params).strip().rstrip(";")
        first = statement.split(None, 1)[0].lower()
        if first in ("select", "with", "values", "table"):
            wrapped = f"SELECT row_to_json(q) FROM ({statement}) AS q"
        elif " returning " in statement.lower():
            wrapped = f"WITH q AS ({statement}) SELECT row_to_json(q) FROM q"
        else:
            psql(self.env["EDMO_DATABASE"], statement)
            return []
        return [_row(line) for line in psql(self.env["EDMO_DATABASE"], wrapped, rows=True)]

    def sql_one(self, query, params=()):
        """The first row of `sql`, or None."""
        rows = self.sql(query, params)
        return rows[0] if rows else None

    def check_integrity(self):
        """The database is not damaged: SQLite's integrity check; on PostgreSQL, amcheck verifies every B-tree
        index of the schema against its table (every row is in it, and it is well-formed)."""
        if self.store == "sqlite":
            assert self.sql("PRAGMA integrity_check") == [("ok",)]
            return
        self.sql("CREATE EXTENSION IF NOT EXISTS amcheck")
        checked = self.sql("""
            SELECT COUNT(bt_index_check(c.oid, true)) FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE am.amname = 'btree' AND n.nspname = 'public' AND i.indisvalid AND c.relpersistence <> 't'""")
        assert checked[0][0] > 0, checked

    def stored_bytes(self):
        """Everything the store keeps, as bytes, to check that a secret is not in it in the clear: the SQLite
        files (database, WAL, journal); on PostgreSQL, every row of every table as pg_dump writes it."""
        if self.store == "sqlite":
            data = b""
            for name in os.listdir(os.path.dirname(self.env["EDMO_DATABASE"])):
                if name.startswith(os.path.basename(self.env["EDMO_DATABASE"])):
                    with open(os.path.join(os.path.dirname(self.env["EDMO_DATABASE"]), name), "rb") as f:
                        data += f.read()
            return data
        r = subprocess.run(["pg_dump", "--data-only", "--no-owner", "-d", self.env["EDMO_DATABASE"]],
                           capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr.decode()
        return r.stdout

    def stop(self):
        try:
            if self.nginx_conf:
                subprocess.run(["nginx", "-s", "quit", "-c", self.nginx_conf, "-p", self.dir], capture_output=True)
            if self.proc and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
            pid_file = os.path.join(self.dir, "nginx.pid")
            wait_for(lambda: not os.path.exists(pid_file), timeout=10, what="nginx to quit")
        finally:
            if KEEP:
                print(f"kept {self.dir} (edmo.log, nginx's logs)")
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
            if self.pg_database:
                # FORCE: also when a crashed or stuck server left connections behind.
                psql(POSTGRES, f"DROP DATABASE IF EXISTS {self.pg_database} WITH (FORCE)")
                self.pg_database = None


class Fleet(Stack):
    """Several `edmo serve` hosts on one database: at `base`, an nginx whose `upstream edmo` holds every host's
    socket (round robin, as in production); and `hosts`, one Stack per host (its own socket, edmo.log and
    process) with an nginx of its own at its `base` that reaches that host only, so that a test chooses
    which host serves a request. The Fleet owns the database (`sql` and the rest work on it as on a Stack);
    every host has the same settings and secret key. mode: how the hosts listen, 'socket' (a Unix socket
    each) or 'tcp' (a loopback port each, as production's `server 10.0.0.11:9000` lines)."""

    def __init__(self, hosts=2, env=None, nginx_env=None, mode="socket"):
        assert mode in ("socket", "tcp"), mode
        super().__init__(env=env, nginx_env=nginx_env)
        shared = {k: self.env[k] for k in ("EDMO_DATABASE", "EDMO_SECRET_KEY")}
        self.hosts = []
        for _ in range(hosts):
            self.hosts.append(Stack(mode, env={**(env or {}), **shared}, nginx_env=nginx_env))

    def start(self):
        self.add_user(ADMIN_EMAIL, "ADMIN", ADMIN_PASSWORD)
        for host in self.hosts:
            host.launch()
            host.serve([host.socket])
        self.serve([host.socket for host in self.hosts])
        return self

    def launch(self):
        raise TypeError("a Fleet has no process of its own: launch one of its hosts")

    def request_ids(self, host):
        """The X-Request-Id of every request host number `host` has logged (its access lines)."""
        return {line.rsplit(" id=", 1)[1] for line in self.hosts[host].log().splitlines()
                if line.startswith("access: ") and " id=" in line}

    def serving(self, request_id, timeout=5.0):
        """The number of the host that served the request with this X-Request-Id (found in its edmo.log)."""
        found = []

        def logged():
            found[:] = [i for i in range(len(self.hosts)) if request_id in self.request_ids(i)]
            return found

        wait_for(logged, timeout=timeout, what=f"request {request_id} in a host's log")
        assert len(found) == 1, f"request {request_id} in the logs of hosts {found}"
        return found[0]

    def stop(self):
        try:
            for host in self.hosts:
                host.stop()
        finally:
            super().stop()


@pytest.fixture(scope="module")
def stack():
    s = Stack()
    try:
        yield s.start()
    finally:
        s.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report ends with what the edmo.log of each stack it used says: its last 40 lines that
    are not access lines (errors, warnings), then its last 5 access lines."""
    report = yield
    if report.when == "call" and report.failed:
        stacks = list(getattr(item, "edmo_stacks", []))
        if isinstance(getattr(item, "funcargs", {}).get("stack"), Stack):
            stacks.append(item.funcargs["stack"])
        # A fleet's processes are its hosts'.
        stacks = [host for s in stacks for host in getattr(s, "hosts", [s])]
        for s in stacks:
            if os.path.exists(s.log_path):
                lines = s.log().splitlines(keepends=True)
                said = [line for line in lines if not line.startswith("access:")][-40:]
                access = [line for line in lines if line.startswith("access:")][-5:]
                report.sections.append((f"edmo.log ({s.store}, {s.dir})", "".join(said) + "...\n" + "".join(access)))
    return report


@pytest.fixture
def fresh_stack(request):
    stacks = []
    request.node.edmo_stacks = stacks

    def make(mode="socket", env=None, nginx_env=None, tablespace=None):
        s = Stack(mode, env, nginx_env, tablespace)
        stacks.append(s)  # stopped (its database dropped) even when it fails to start
        return s.start()

    yield make
    for s in stacks:
        s.stop()


@pytest.fixture
def fresh_fleet(request):
    """make(hosts=2, env=None, nginx_env=None, mode='socket'): a started Fleet, stopped (its database dropped)
    after the test."""
    fleets = []
    request.node.edmo_stacks = fleets

    def make(hosts=2, env=None, nginx_env=None, mode="socket"):
        fleet = Fleet(hosts, env, nginx_env, mode)
        fleets.append(fleet)
        return fleet.start()

    yield make
    for fleet in fleets:
        fleet.stop()
