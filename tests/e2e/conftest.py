"""End-to-end harness: the real `edmo` binary behind a real nginx (the project's config), on loopback.

Each Stack gets its own temp directory (database, socket, nginx prefix) and a free port.
"""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EDMO_BIN = os.environ.get("EDMO_BIN", os.path.join(REPO, ".build", "debug", "edmo"))
ADMIN_EMAIL = "admin@example.edu"
ADMIN_PASSWORD = "admin-password-1"


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
    """mode: 'socket' (edmo serve --socket), 'systemd' (systemd-socket-activate, fd 3),
    'spawn' (spawn-fcgi, fd 0). nginx_env: extra environment for nginx/render (e.g. EDMO_NGINX_LOGIN_RATE)."""

    def __init__(self, mode="socket", env=None, nginx_env=None):
        self.mode = mode
        self.nginx_env = dict(os.environ, **(nginx_env or {}))
        self.dir = tempfile.mkdtemp(prefix="edmo-e2e-")
        os.chmod(self.dir, 0o755)
        # The repo's real dashboard, copied so nginx (workers run as nobody) can read it.
        shutil.copytree(os.path.join(REPO, "web"), os.path.join(self.dir, "web"))
        os.chmod(os.path.join(self.dir, "web"), 0o755)
        self.socket = os.path.join(self.dir, "edmo.sock")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        self.env.update({
            "EDMO_DATABASE": os.path.join(self.dir, "edmo.sqlite"),
            "EDMO_SECRET_KEY": secrets.token_hex(32),
            "EDMO_MIGRATIONS": os.path.join(REPO, "migrations"),
            "EDMO_WORKERS": "8",
        })
        self.env.update(env or {})
        self.log_path = os.path.join(self.dir, "edmo.log")
        self.proc = None
        self.nginx_conf = None

    def edmo(self, *args, stdin=None, check=True):
        return subprocess.run([EDMO_BIN, *args], input=stdin, env=self.env, capture_output=True, text=True,
                              check=check, timeout=60)

    def add_user(self, email, role, password="user-password-1", org="default"):
        self.edmo("users", "add", "--email", email, "--role", role, "--org", org, "--password-stdin",
                  stdin=password + "\n")

    def start(self):
        self.add_user(ADMIN_EMAIL, "ADMIN", ADMIN_PASSWORD)
        self.launch()
        conf = subprocess.run([os.path.join(REPO, "nginx", "render"), str(self.port), self.socket,
                               os.path.join(self.dir, "web"), self.dir], capture_output=True, text=True, check=True,
                              env=self.nginx_env)
        self.nginx_conf = os.path.join(self.dir, "nginx.conf")
        with open(self.nginx_conf, "w") as f:
            f.write(conf.stdout)
        subprocess.run(["nginx", "-c", self.nginx_conf, "-p", self.dir], check=True)
        wait_for(self._up, what="nginx")
        return self

    def launch(self):
        """Starts the edmo process (again, after a crash, on the same database and socket)."""
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        log = open(self.log_path, "a")
        if self.mode == "socket":
            cmd = [EDMO_BIN, "serve", "--socket", self.socket, "--socket-mode", "666"]
        elif self.mode == "systemd":
            cmd = ["systemd-socket-activate", "-l", self.socket, EDMO_BIN, "serve"]
            cmd = cmd[:3] + [f"--setenv={k}" for k in ("EDMO_DATABASE", "EDMO_SECRET_KEY", "EDMO_MIGRATIONS", "EDMO_WORKERS")] + cmd[3:]
        elif self.mode == "spawn":
            # spawn-fcgi binds the socket, hands it over as fd 0 and exits; -n keeps edmo in the foreground.
            cmd = ["spawn-fcgi", "-n", "-s", self.socket, "-M", "0666", "--", EDMO_BIN, "serve"]
        else:
            raise ValueError(self.mode)
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(self.socket), what="the FastCGI socket")
        if self.mode == "systemd":
            os.chmod(self.socket, 0o666)

    def crash(self):
        """SIGKILL: no draining, no cleanup, as a power cut or an OOM kill would leave it."""
        self.proc.kill()
        self.proc.wait(timeout=10)

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

    def stop(self):
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
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def stack():
    s = Stack().start()
    yield s
    s.stop()


@pytest.fixture
def fresh_stack():
    stacks = []

    def make(mode="socket", env=None, nginx_env=None):
        s = Stack(mode, env, nginx_env).start()
        stacks.append(s)
        return s

    yield make
    for s in stacks:
        s.stop()
