"""Through nginx: a full disk is a 507 (not a 500) and recovers without a restart; cookie-authenticated
writes from another site are refused while the dashboard's own and scripts' requests pass."""
import contextlib
import os
import secrets
import subprocess
import tempfile

import pytest

from conftest import POSTGRES, Stack, psql
from test_resources import ASSISTANT


@pytest.fixture
def small_disk():
    """A 16 MiB tmpfs for the database: a real filesystem that really fills up."""
    mount = tempfile.mkdtemp(prefix="edmo-disk-")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount], capture_output=True, text=True)
    if mounted.returncode != 0:
        os.rmdir(mount)
        # An unprivileged container cannot mount; the same path is covered in-process by
        # VersioningTests.aFullDiskIs507AndWritesRecoverOnceSpaceIsFreed (SQLite's page cap).
        pytest.skip(f"mounting a tmpfs needs CAP_SYS_ADMIN: {mounted.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", mount], check=False)
    os.rmdir(mount)


def fill(path, leave_bytes):
    """Takes all free space of the filesystem at `path` but `leave_bytes` with one filler file."""
    stat = os.statvfs(path)
    free = stat.f_bavail * stat.f_frsize
    with open(os.path.join(path, "filler"), "wb") as f:
        f.truncate(0)
        chunk = b"\0" * (1 << 20)
        remaining = max(0, free - leave_bytes)
        while remaining > 0:
            f.write(chunk[: min(len(chunk), remaining)])
            remaining -= min(len(chunk), remaining)
        f.flush()
        os.fsync(f.fileno())


@contextlib.contextmanager
def stack_on(small_disk):
    """A stack whose database is on `small_disk`: the SQLite file there; on PostgreSQL, the stack's database
    made in a tablespace there (the server's WAL stays on its own disk: the tables and indexes fill this one)."""
    if not POSTGRES:
        stack = Stack(env={"EDMO_DATABASE": os.path.join(small_disk, "edmo.sqlite")})
        try:
            yield stack.start()
        finally:
            stack.stop()
        return
    # The tablespace's folder must belong to the server's user (`postgres` when the cluster was made as root).
    data_directory = psql(POSTGRES, "SHOW data_directory", rows=True)[0]
    location = os.path.join(small_disk, "tablespace")
    os.mkdir(location, 0o700)
    os.chown(location, os.stat(data_directory).st_uid, os.stat(data_directory).st_gid)
    tablespace = "edmo_e2e_disk_" + secrets.token_hex(4)
    psql(POSTGRES, f"CREATE TABLESPACE {tablespace} LOCATION '{location}'")
    stack = Stack(tablespace=tablespace)
    try:
        yield stack.start()
    finally:
        stack.stop()
        psql(POSTGRES, f"DROP TABLESPACE {tablespace}")


def test_a_full_disk_is_507_and_recovers_once_space_is_freed(small_disk):
    with stack_on(small_disk) as stack:
        admin = stack.session()
        base = stack.base + "/api"
        assistant = admin.post(base + "/assistants", json=ASSISTANT).json()
        fill(small_disk, 256 << 10)
        entry = {"title": "Filler", "content": "x" * 19_000}
        statuses = []
        for _ in range(200):
            r = admin.post(base + f"/assistants/{assistant['id']}/knowledge/import", json={"entries": [entry] * 20})
            statuses.append(r.status_code)
            if r.status_code != 201:
                break
        assert statuses[-1] == 507, statuses
        assert "Storage is full" in r.json()["error"]
        # Logins write a session row: a 507 too when it does not fit (small rows may still fit), never a 500.
        again = admin.post(base + "/auth/login", json={"email": "admin@example.edu", "password": "admin-password-1"})
        assert again.status_code in (200, 507), again.text
        # Reads go on; a second failing write is not logged again.
        assert admin.get(base + f"/assistants/{assistant['id']}").status_code == 200
        retry = admin.post(base + f"/assistants/{assistant['id']}/knowledge/import", json={"entries": [entry] * 20})
        assert retry.status_code == 507
        assert stack.log().count("storage is full") == 1
        # Space freed: writes work again, no restart.
        os.unlink(os.path.join(small_disk, "filler"))
        assert admin.post(base + "/assistants", json=ASSISTANT).status_code == 201
        assert admin.post(base + f"/assistants/{assistant['id']}/knowledge/import", json={"entries": [entry] * 20}).status_code == 201
        assert stack.proc.poll() is None


def test_cross_site_writes_with_the_cookie_are_refused(stack):
    admin = stack.session()
    base = stack.base + "/api"
    evil = admin.post(base + "/analytics-keys", json={"name": "k"}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and evil.json() == {"error": "Cross-site request refused"}
    sibling = admin.post(base + "/auth/logout", headers={"Sec-Fetch-Site": "same-site"})
    assert sibling.status_code == 403
    assert admin.get(base + "/auth/me").status_code == 200  # still signed in
    own = admin.post(base + "/analytics-keys", json={"name": "k"},
                     headers={"Origin": stack.base, "Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 201, own.text
    assert admin.post(base + "/analytics-keys", json={"name": "k"}).status_code == 201  # a script: no headers
