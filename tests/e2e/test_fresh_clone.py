"""A fresh clone is self-contained: `make spec`, `make run` and the plans of `make test` / `make bench` need
nothing outside the repository (no path that leaves the clone).

The repository is cloned with `git clone` into a temp directory that has nothing else beside it, so this tests
the COMMITTED files (HEAD), not the working tree. Before committing, FRESH_CLONE_FROM_WORKTREE=1 clones a
snapshot of the working tree instead (tracked and untracked, not ignored, files).

`make run` is driven with the binary under test (EDMO=$EDMO_BIN, `-o build` so nothing is compiled, `-o deps-run`
so nothing is installed), on a free port and a temp RUN_DIR; it is stopped the way Ctrl-C stops it (SIGINT to
make's process group) and must leave neither nginx nor edmo running.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile

import pytest
import requests

from conftest import EDMO_BIN, REPO, free_port, wait_for

ADMIN = "owner@example.edu"
PASSWORD = "fresh-clone-password-1"


def snapshot_worktree(dest):
    """A one-commit git repository holding the working tree's files (what HEAD will hold once committed)."""
    files = subprocess.run(["git", "-C", REPO, "ls-files", "-co", "--exclude-standard", "-z"], check=True,
                           capture_output=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = os.path.join(REPO, f)
        if os.path.lexists(src):  # deleted but still tracked: leave out
            os.makedirs(os.path.dirname(os.path.join(dest, f)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, f), follow_symlinks=False)
    git = ["git", "-C", dest, "-c", "user.name=t", "-c", "user.email=t@example.edu"]
    subprocess.run(["git", "init", "-q", dest], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "working tree snapshot"], check=True)
    return dest


def clean_env():
    """The caller's environment without anything that would point make or edmo elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EDMO_", "OPENAI_", "ANTHROPIC_", "MAKE", "MFLAGS", "GNUMAKE"))}
    env.pop("SEED", None)
    env.pop("RUN_DIR", None)
    env.pop("PORT", None)
    return env


def process_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def processes_mentioning(text):
    """pids whose command line contains `text` (a path unique to this test)."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if text.encode() in f.read() and process_alive(int(d)):
                        pids.append(int(d))
            except OSError:
                pass
    return pids


def outside_paths(text, clone):
    """Every path in `text` that leaves the clone: any ../, and any absolute path not under it (but /dev/null)."""
    bad = [m.group(0) for m in re.finditer(r"\S*\.\./\S*", text)]
    for m in re.finditer(r"(?<![\w.~-])/[\w.@+-][\w./@+-]*", text):
        p = m.group(0)
        if p != "/dev/null" and not (p == clone or p.startswith(clone + "/")):
            bad.append(p)
    return bad


@pytest.mark.store_independent("make run in a clone always runs on its default SQLite file (.run/edmo.sqlite)")
def test_fresh_clone_runs_and_tests_with_nothing_beside_it():
    tmp = tempfile.mkdtemp(prefix="edmo-clone-")
    os.chmod(tmp, 0o755)  # nginx's workers (nobody) must traverse down to RUN_DIR
    source = REPO
    if os.environ.get("FRESH_CLONE_FROM_WORKTREE") == "1":
        source = snapshot_worktree(os.path.join(tmp, "snapshot"))
    holder = os.path.join(tmp, "x")
    os.mkdir(holder)
    clone = os.path.realpath(os.path.join(holder, "main"))
    run_dir = os.path.join(tmp, "run")
    env = clean_env()
    proc = None
    try:
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", source, clone], check=True, timeout=60,
                       capture_output=True)
        assert os.listdir(holder) == ["main"]

        # (a) the contract check, with the seed contract the clone carries.
        r = subprocess.run(["make", "-o", "deps", "spec"], cwd=clone, env=env, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert re.search(r"spec: \d+ passed, 0 failed", r.stdout), r.stdout

        # (b) make run with the binary under test; sign in through nginx; Ctrl-C stops everything.
        port = free_port()
        run_env = dict(env, EDMO_ADMIN_EMAIL=ADMIN, EDMO_ADMIN_PASSWORD=PASSWORD)
        log_path = os.path.join(tmp, "make-run.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen(["make", "-o", "deps", "-o", "deps-run", "-o", "build", "run", f"EDMO={EDMO_BIN}",
                                     f"PORT={port}", f"RUN_DIR={run_dir}"], cwd=clone, env=run_env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

        def output():
            with open(log_path) as f:
                return f.read()

        def up():
            assert proc.poll() is None, f"make run exited with {proc.returncode}:\n{output()}"
            return "Edmo is up: http://127.0.0.1:%d" % port in output()

        wait_for(up, timeout=30, what="make run to say it is up")
        base = f"http://127.0.0.1:{port}"
        s = requests.Session()
        r = s.post(base + "/api/auth/login", json={"email": ADMIN, "password": PASSWORD}, timeout=10)
        assert r.status_code == 200, r.text
        r = s.get(base + "/api/auth/me", timeout=10)
        assert r.status_code == 200 and r.json()["user"]["email"] == ADMIN, r.text
        assert "Edmo Agent Builder" in requests.get(base + "/", timeout=10).text  # the clone's dashboard
        assert os.path.exists(os.path.join(clone, ".run", "edmo.sqlite"))  # the database is in the clone

        with open(os.path.join(run_dir, "nginx.pid")) as f:
            nginx_pid = int(f.read())
        edmo_pids = processes_mentioning(os.path.join(run_dir, "edmo.sock"))
        assert edmo_pids, "no edmo serve process found"
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=20)
        wait_for(lambda: not process_alive(nginx_pid), timeout=10, what="nginx to quit")
        wait_for(lambda: not any(process_alive(p) for p in edmo_pids), timeout=10, what="edmo to exit")
        assert not processes_mentioning(run_dir), "something of make run is still running"
        try:
            requests.get(base + "/", timeout=2)
            raise AssertionError("the port still answers after make run stopped")
        except requests.ConnectionError:
            pass

        # (c) what make test and make bench would run stays inside the clone.
        for target in ("test", "bench"):
            r = subprocess.run(["make", "-n", target], cwd=clone, env=env, capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stderr
            assert not outside_paths(r.stdout, clone), (target, outside_paths(r.stdout, clone), r.stdout)
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        pid_file = os.path.join(run_dir, "nginx.pid")
        if os.path.exists(pid_file):  # only after a failure: the nginx this test started
            subprocess.run(["nginx", "-s", "stop", "-c", os.path.join(run_dir, "nginx.conf"), "-p", run_dir],
                           capture_output=True)
        for pid in processes_mentioning(run_dir):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
