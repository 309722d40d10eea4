"""Rotating EDMO_SECRET_KEY on a serving stack (vapi mode, the fake platform, through nginx): Twilio and Vonage
credentials and tool secrets sealed under key A; the stack restarted with B as EDMO_SECRET_KEY and A as
EDMO_SECRET_KEY_PREVIOUS; `edmo rotate-secret-key` run against its database while it serves (and while a
client keeps changing a tool's secret); then B alone serves every credential, and A alone opens none.
The sealed bytes are also opened here with libsodium itself, so the test does not rely on edmo's word."""
import ctypes
import ctypes.util
import json
import os
import re
import secrets
import subprocess
import tempfile
import threading

import pytest

from conftest import EDMO_BIN, REPO
from fake_vapi import FakeVapi
from test_resources import TWILIO, TWILIO_TOKEN

SODIUM = ctypes.CDLL(ctypes.util.find_library("sodium"))
assert SODIUM.sodium_init() >= 0

VONAGE = {"provider": "vonage", "vonagePhoneNumber": "+442071838751", "vonageApiKey": "vk-rot",
          "vonageApiSecret": "vonage-secret-rot"}


def tool(secret):
    return {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}},
            "server": {"url": "https://crm.example.edu/hook", "secret": secret}}


def open_sealed(blob, key_hex):
    """libsodium's secretbox as edmo seals (nonce, 24 bytes, then MAC and ciphertext); None if it does not open."""
    nonce, cipher = blob[:24], blob[24:]
    if len(nonce) < 24 or len(cipher) < 16:
        return None
    out = ctypes.create_string_buffer(len(cipher) - 16)
    ok = SODIUM.crypto_secretbox_open_easy(out, cipher, ctypes.c_ulonglong(len(cipher)), nonce, bytes.fromhex(key_hex))
    return out.raw.decode() if ok == 0 else None


def sealed_values(stack):
    """Every sealed value of the stack's database, by (table, id)."""
    hexed = "hex({})" if stack.store == "sqlite" else "encode({}, 'hex')"
    rows = stack.sql(f"SELECT 'tool_secrets', tool_id, {hexed.format('sealed')} FROM tool_secrets UNION ALL "
                     f"SELECT 'phone_numbers', id, {hexed.format('credentials')} FROM phone_numbers "
                     "WHERE credentials IS NOT NULL")
    return {(table, id_): bytes.fromhex(h) for table, id_, h in rows}


def opened(stack, key_hex):
    """Every sealed value opened with the key (None: it does not open); phone credentials as decoded JSON."""
    return decoded({k: open_sealed(v, key_hex) for k, v in sealed_values(stack).items()})


def decoded(values):
    return {k: json.loads(v) if k[0] == "phone_numbers" and v is not None else v for k, v in values.items()}


def restart(stack, **keys):
    """SIGTERM the server and start it again on the same database and socket with these keys alone."""
    code, _ = stack.terminate()
    assert code == 0
    for name in ("EDMO_SECRET_KEY", "EDMO_SECRET_KEY_PREVIOUS", "EDMO_SECRET_KEY_FILE", "EDMO_SECRET_KEY_PREVIOUS_FILE"):
        stack.env.pop(name, None)
    stack.env.update(keys)
    stack.launch()


def rotate(stack, *args, env=None):
    r = subprocess.run([EDMO_BIN, "rotate-secret-key", *args], env={**stack.env, **(env or {})},
                       capture_output=True, text=True, timeout=120)
    counts = re.search(r"^rotate-secret-key: re-sealed (\d+), already current (\d+), unreadable (\d+)$", r.stdout, re.M)
    return r, tuple(int(n) for n in counts.groups()) if counts else None


def key_file(directory, name, hex_key, mode=0o600):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(hex_key + "\n")
    os.chmod(path, mode)
    return path


def test_rotation_while_serving_keeps_every_credential(fresh_stack):
    fake = FakeVapi()
    key_a, key_b = secrets.token_hex(32), secrets.token_hex(32)
    stack = fresh_stack(env={"EDMO_PROVIDER": "vapi", "EDMO_PROVIDER_URL": fake.url, "EDMO_PROVIDER_API_KEY": fake.api_key,
                             "EDMO_ALLOW_PRIVATE_URLS": "1", "EDMO_SECRET_KEY": key_a})
    try:
        admin = stack.session()
        api = stack.base + "/api"
        twilio = admin.post(api + "/phone-numbers", json=TWILIO)
        vonage = admin.post(api + "/phone-numbers", json=VONAGE)
        one = admin.post(api + "/tools", json=tool("tool-secret-one"))
        two = admin.post(api + "/tools", json=tool("tool-secret-two"))
        for r in (twilio, vonage, one, two):
            assert r.status_code == 201, r.text
        twilio, vonage, one, two = (r.json() for r in (twilio, vonage, one, two))
        plain = {
            ("phone_numbers", twilio["id"]): {"twilioAccountSid": TWILIO["twilioAccountSid"], "twilioAuthToken": TWILIO_TOKEN},
            ("phone_numbers", vonage["id"]): {"vonageApiKey": "vk-rot", "vonageApiSecret": "vonage-secret-rot"},
            ("tool_secrets", one["id"]): "tool-secret-one",
            ("tool_secrets", two["id"]): "tool-secret-two",
        }
        assert opened(stack, key_a) == plain

        def patch_tool(record, description):
            """PATCHes the tool's description; the platform gets the merged whole, its stored secret opened."""
            r = admin.patch(api + f"/tools/{record['id']}", json={"function": {"description": description}})
            sent = fake.calls("PATCH", f"/tool/{record['providerId']}")
            return r, (sent[-1]["body"]["server"].get("secret") if sent and r.status_code == 200 else None)

        # Step 1: B is the key, A the previous one. What A sealed is served; what is sealed now is B's.
        restart(stack, EDMO_SECRET_KEY=key_b, EDMO_SECRET_KEY_PREVIOUS=key_a)
        r, secret = patch_tool(one, "while rotating")
        assert r.status_code == 200 and secret == "tool-secret-one", r.text
        three = admin.post(api + "/tools", json=tool("tool-secret-three"))
        assert three.status_code == 201, three.text
        three = three.json()
        plain[("tool_secrets", three["id"])] = "tool-secret-three"
        assert opened(stack, key_b)[("tool_secrets", three["id"])] == "tool-secret-three"

        # Step 2, stopped after one credential, then resumed while a client keeps changing tool two's secret.
        r, counts = rotate(stack, "--batch-size", "1", "--limit", "1")
        assert r.returncode == 0, r.stderr
        assert counts[0] == 1 and "stopped at --limit 1" in r.stdout
        acknowledged, failures, stop = [], [], threading.Event()

        def keep_changing():
            n = 0
            while not stop.is_set():
                n += 1
                value = f"tool-secret-two-{n}"
                changed = admin.patch(api + f"/tools/{two['id']}",
                                      json={"server": {"url": "https://crm.example.edu/hook", "secret": value}})
                if changed.status_code != 200:
                    failures.append(f"{changed.status_code} {changed.text}")
                    return
                acknowledged.append(value)

        writer = threading.Thread(target=keep_changing)
        writer.start()
        try:
            while len(acknowledged) < 3 and writer.is_alive():
                stop.wait(0.05)
            # The keys from private files this time (never arguments).
            files = {"EDMO_SECRET_KEY": "", "EDMO_SECRET_KEY_PREVIOUS": "",
                     "EDMO_SECRET_KEY_FILE": key_file(stack.dir, "new.key", key_b),
                     "EDMO_SECRET_KEY_PREVIOUS_FILE": key_file(stack.dir, "old.key", key_a)}
            r, counts = rotate(stack, "--batch-size", "1", env=files)
        finally:
            stop.set()
            writer.join()
        assert not failures and len(acknowledged) >= 3, failures
        assert r.returncode == 0, r.stdout + r.stderr
        resealed, current, unreadable = counts
        assert unreadable == 0 and resealed + current == 5 and current >= 2, r.stdout
        assert "every stored credential opens with EDMO_SECRET_KEY" in r.stdout
        plain[("tool_secrets", two["id"])] = acknowledged[-1]
        assert opened(stack, key_b) == plain
        assert set(opened(stack, key_a).values()) == {None}
        check = subprocess.run([EDMO_BIN, "rotate-secret-key", "--check"], env=stack.env, capture_output=True, text=True)
        assert check.returncode == 0 and "under EDMO_SECRET_KEY 5, under EDMO_SECRET_KEY_PREVIOUS 0, unreadable 0" in check.stdout

        # Step 3: B alone. Every tool's platform copy gets its last acknowledged secret, opened with B.
        restart(stack, EDMO_SECRET_KEY=key_b)
        for record in (one, two, three):
            r, secret = patch_tool(record, "after rotation")
            assert r.status_code == 200, r.text
            assert secret == plain[("tool_secrets", record["id"])]
        renamed = admin.patch(api + f"/phone-numbers/{twilio['id']}", json={"name": "Front desk"})
        assert renamed.status_code == 200 and fake.store["phone-number"][twilio["providerId"]]["name"] == "Front desk"
        assert subprocess.run([EDMO_BIN, "rotate-secret-key", "--check"], env=stack.env, capture_output=True).returncode == 0

        # A alone opens nothing: a tool's PATCH (which sends the secret) is a 500 that changes nothing, and the
        # check lists every credential as unreadable.
        restart(stack, EDMO_SECRET_KEY=key_a)
        patches = len(fake.calls("PATCH", "/tool/"))
        r = admin.patch(api + f"/tools/{one['id']}", json={"function": {"description": "with the old key"}})
        assert r.status_code == 500 and r.json() == {"error": "Internal server error"}
        assert len(fake.calls("PATCH", "/tool/")) == patches
        assert admin.get(api + f"/tools/{one['id']}").json()["function"]["description"] == "after rotation"
        assert "cannot be decrypted with the configured EDMO_SECRET_KEY" in stack.log()
        check = subprocess.run([EDMO_BIN, "rotate-secret-key", "--check"], env=stack.env, capture_output=True, text=True)
        assert check.returncode == 1 and "under EDMO_SECRET_KEY 0, under EDMO_SECRET_KEY_PREVIOUS 0, unreadable 5" in check.stdout
        for table, id_ in plain:
            assert f"unreadable with either key: {table} {id_}" in check.stderr
        assert TWILIO_TOKEN not in stack.log() and "tool-secret-one" not in stack.log()
    finally:
        fake.close()


def test_the_command_refuses_missing_equal_or_exposed_keys(fresh_stack):
    stack = fresh_stack()
    key = stack.env["EDMO_SECRET_KEY"]
    r, _ = rotate(stack)
    assert r.returncode != 0 and "EDMO_SECRET_KEY_PREVIOUS is not set" in r.stderr
    r, _ = rotate(stack, env={"EDMO_SECRET_KEY_PREVIOUS": key})
    assert r.returncode != 0 and "EDMO_SECRET_KEY_PREVIOUS is the same key as EDMO_SECRET_KEY" in r.stderr
    exposed = key_file(stack.dir, "exposed.key", secrets.token_hex(32), mode=0o644)
    r, _ = rotate(stack, env={"EDMO_SECRET_KEY_PREVIOUS_FILE": exposed})
    assert r.returncode != 0
    assert f"EDMO_SECRET_KEY_PREVIOUS_FILE: {exposed} is open to group or others (mode 0644)" in r.stderr
    # The server refuses such a file just the same.
    served = subprocess.run([EDMO_BIN, "serve", "--socket", os.path.join(stack.dir, "other.sock")],
                            env={**stack.env, "EDMO_SECRET_KEY": "", "EDMO_SECRET_KEY_FILE": exposed},
                            capture_output=True, text=True, timeout=30)
    assert served.returncode != 0 and "chmod 600" in served.stderr


@pytest.mark.postgres_only("several hosts on one database")
def test_two_hosts_restarted_one_by_one_serve_every_secret(fresh_fleet):
    """Step 1 on a fleet: a host with both keys opens what either sealed; one not yet restarted (old key alone)
    cannot open what the other sealed since (a 500), which is why step 2 waits for every host."""
    key_a, key_b = secrets.token_hex(32), secrets.token_hex(32)
    fleet = fresh_fleet(env={"EDMO_SECRET_KEY": key_a})
    admin = fleet.session()

    def patch(host, record, description):
        return admin.patch(fleet.hosts[host].base + f"/api/tools/{record['id']}",
                           json={"function": {"description": description}}).status_code

    old = admin.post(fleet.base + "/api/tools", json=tool("sealed-with-a"))
    assert old.status_code == 201, old.text
    old = old.json()
    restart(fleet.hosts[0], EDMO_SECRET_KEY=key_b, EDMO_SECRET_KEY_PREVIOUS=key_a)
    new = admin.post(fleet.hosts[0].base + "/api/tools", json=tool("sealed-with-b"))
    assert new.status_code == 201, new.text
    new = new.json()
    assert [patch(0, old, "h0"), patch(0, new, "h0"), patch(1, old, "h1")] == [200, 200, 200]
    assert patch(1, new, "h1") == 500  # host 1 still has A alone
    restart(fleet.hosts[1], EDMO_SECRET_KEY=key_b, EDMO_SECRET_KEY_PREVIOUS=key_a)
    assert [patch(h, t, "both keys") for h in (0, 1) for t in (old, new)] == [200] * 4
    r, counts = rotate(fleet.hosts[0])
    assert r.returncode == 0 and counts == (1, 1, 0), r.stdout + r.stderr
    for host in fleet.hosts:
        restart(host, EDMO_SECRET_KEY=key_b)
    assert [patch(h, t, "new key alone") for h in (0, 1) for t in (old, new)] == [200] * 4
    assert opened(fleet, key_b) == {("tool_secrets", old["id"]): "sealed-with-a", ("tool_secrets", new["id"]): "sealed-with-b"}


@pytest.mark.store_independent("the shipped systemd files only: no store")
def test_systemd_key_file_drop_in_verifies_clean():
    """systemd/edmo.service.d/secret-key-file.conf (the key from a root-only file): the units with it verify clean."""
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "edmo.service.d"))
        for name in ("edmo.socket", "edmo.service", "edmo.service.d/secret-key-file.conf"):
            with open(os.path.join(REPO, "systemd", name)) as f:
                text = f.read()
            with open(os.path.join(d, name), "w") as f:
                f.write(text.replace("/usr/local/bin/edmo", EDMO_BIN))
        r = subprocess.run(["systemd-analyze", "verify", os.path.join(d, "edmo.socket"), os.path.join(d, "edmo.service")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stderr.strip() == "" and r.stdout.strip() == ""
