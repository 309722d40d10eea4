"""The shipped deployment files are valid: systemd units verify clean, the production nginx config loads,
and run for real it compresses the dashboard's assets and rate-limits every spelling of the login path."""
import gzip
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import EDMO_BIN, REPO, free_port, wait_for
from test_nginx import LOGIN_SPELLINGS, fetch

pytestmark = pytest.mark.store_independent("the shipped systemd and nginx files, with no edmo behind nginx: no store")


def test_systemd_units_verify_clean():
    with tempfile.TemporaryDirectory() as d:
        for name in ("edmo.socket", "edmo.service"):
            with open(os.path.join(REPO, "systemd", name)) as f:
                text = f.read()
            # verify checks that ExecStart exists: point it at the binary under test.
            with open(os.path.join(d, name), "w") as f:
                f.write(text.replace("/usr/local/bin/edmo", EDMO_BIN))
        r = subprocess.run(["systemd-analyze", "verify", os.path.join(d, "edmo.socket"), os.path.join(d, "edmo.service")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stderr.strip() == "" and r.stdout.strip() == ""


def test_systemd_backup_units_verify_clean():
    """systemd/edmo-backup.{service,timer}: the nightly `edmo backup --to-dir`, keeping EDMO_BACKUP_KEEP files (7
    unless the environment file says otherwise), as edmo.service's user with its environment file."""
    with tempfile.TemporaryDirectory() as d:
        texts = {}
        for name in ("edmo-backup.service", "edmo-backup.timer"):
            with open(os.path.join(REPO, "systemd", name)) as f:
                texts[name] = f.read()
            with open(os.path.join(d, name), "w") as f:
                f.write(texts[name].replace("/usr/local/bin/edmo", EDMO_BIN))
        r = subprocess.run(["systemd-analyze", "verify", os.path.join(d, "edmo-backup.service"),
                            os.path.join(d, "edmo-backup.timer")], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stderr.strip() == "" and r.stdout.strip() == ""
        service = dict(line.split("=", 1) for line in texts["edmo-backup.service"].splitlines()
                       if "=" in line and not line.startswith("#") and not line.startswith("Environment="))
        assert service["Type"] == "oneshot"
        assert service["ExecStart"] == "/usr/local/bin/edmo backup --to-dir /var/backups/edmo --keep ${EDMO_BACKUP_KEEP}"
        assert "EDMO_BACKUP_KEEP=7" in texts["edmo-backup.service"]
        with open(os.path.join(REPO, "systemd", "edmo.service")) as f:
            main = f.read()
        for line in ("EnvironmentFile=/etc/edmo/edmo.env", "DynamicUser=yes", "StateDirectory=edmo"):
            assert line in main and line in texts["edmo-backup.service"], line
        # The same dynamic user: edmo.service's is named after its unit, "edmo".
        assert "User=edmo" in texts["edmo-backup.service"] and "User=" not in main.replace("DynamicUser=", "")
        timer = texts["edmo-backup.timer"]
        for line in ("Persistent=true", "OnCalendar=*-*-* 02:30:00", "WantedBy=timers.target"):
            assert line in timer, line
        assert any(line.startswith("RandomizedDelaySec=") for line in timer.splitlines())
        with open(os.path.join(REPO, "Makefile")) as f:
            makefile = f.read()
        for name in ("edmo-backup.service", "edmo-backup.timer"):
            assert f"install -D -m 644 systemd/{name} $(DESTDIR)/etc/systemd/system/{name}" in makefile, name


def test_systemd_tcp_drop_in_verifies_clean():
    """systemd/edmo.socket.d/tcp.conf, a host of several on TCP (README): the units with it verify clean."""
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "edmo.socket.d"))
        for name in ("edmo.socket", "edmo.service", "edmo.socket.d/tcp.conf"):
            with open(os.path.join(REPO, "systemd", name)) as f:
                text = f.read()
            with open(os.path.join(d, name), "w") as f:
                f.write(text.replace("/usr/local/bin/edmo", EDMO_BIN))
        # verify reads the drop-in from the folder beside the unit, as systemd does from /etc/systemd/system.
        r = subprocess.run(["systemd-analyze", "verify", os.path.join(d, "edmo.socket"), os.path.join(d, "edmo.service")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stderr.strip() == "" and r.stdout.strip() == ""
        listens = [line for line in text.splitlines() if line.startswith("ListenStream=")]
        assert listens == ["ListenStream=", "ListenStream=10.0.0.11:9000"], listens


def production_nginx(d, http_port=80, https_port=443):
    """Writes d/nginx.conf: the production site (nginx/edmo.conf) with a self-signed certificate, the repo's
    snippet, logs in d, the dashboard from d/web and the FastCGI socket at d/edmo.sock (absent: the API is down),
    listening on loopback at the given ports. Returns its path."""
    os.chmod(d, 0o755)  # nginx's workers (nobody) read d/web
    shutil.copytree(os.path.join(REPO, "web"), os.path.join(d, "web"))
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=edmo.test",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    with open(os.path.join(REPO, "nginx", "edmo.conf")) as f:
        site = f.read()
    for old, new in (("/etc/ssl/edmo/fullchain.pem", cert), ("/etc/ssl/edmo/privkey.pem", key),
                     ("/etc/nginx/snippets/edmo-fastcgi.conf", os.path.join(REPO, "nginx", "edmo-fastcgi.conf")),
                     ("/var/log/nginx/", d + "/"), ("root /usr/local/share/edmo/web;", f"root {d}/web;"),
                     ("unix:/run/edmo/edmo.sock", f"unix:{d}/edmo.sock"),
                     ("listen 80;", f"listen 127.0.0.1:{http_port};"), ("listen [::]:80;", ""),
                     ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
                     ("listen [::]:443 ssl http2;", "")):
        assert old in site, old
        site = site.replace(old, new)
    with open(os.path.join(d, "site.conf"), "w") as f:
        f.write(site)
    temp_paths = " ".join(f"{k}_temp_path {d}/{k}_temp;" for k in ("client_body", "fastcgi", "proxy", "uwsgi", "scgi"))
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(f"pid {d}/nginx.pid; error_log {d}/error.log; events {{}}\n"
                f"http {{ include /etc/nginx/mime.types; access_log off; {temp_paths} include {d}/site.conf; }}\n")
    return os.path.join(d, "nginx.conf")


def test_production_nginx_config_loads():
    with tempfile.TemporaryDirectory() as d:
        conf = production_nginx(d)
        r = subprocess.run(["nginx", "-t", "-c", conf, "-p", d], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert "test is successful" in r.stderr


def https(port, method, path, headers=None, body=None, source="127.0.0.1"):
    return fetch(port, method, path, headers, body, source, tls=True)


def test_production_nginx_gzips_assets_and_limits_every_login_spelling():
    """The production site running for real (no app behind it: API requests that get through answer 502)."""
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        conf = production_nginx(d, free_port(), port)
        subprocess.run(["nginx", "-c", conf, "-p", d], check=True)
        try:
            wait_for(lambda: os.path.exists(os.path.join(d, "nginx.pid")), what="nginx")
            # gzip: Chart.js (as index.html loads it) and a dashboard module, only when the client asks.
            for path, local in (("/vendor/chart.js/chart.min.js", "/usr/share/javascript/chart.js/chart.min.js"),
                                ("/js/assistants.js", os.path.join(d, "web", "js", "assistants.js")),
                                ("/app.css", os.path.join(d, "web", "app.css"))):
                with open(local, "rb") as f:
                    expected = f.read()
                status, headers, body = https(port, "GET", path, {"Accept-Encoding": "gzip"})
                assert status == 200 and headers.get("content-encoding") == "gzip", (path, headers)
                assert "Accept-Encoding" in headers.get("vary", "") and "strict-transport-security" in headers
                assert gzip.decompress(body) == expected
                status, headers, body = https(port, "GET", path)
                assert status == 200 and "content-encoding" not in headers and body == expected, (path, headers)

            # Login limit (rate=10r/m, burst=10): from each spelling's own address, 11 requests reach the
            # (absent) app, the 12th is nginx's 429.
            for n, path in enumerate(LOGIN_SPELLINGS):
                source = f"127.0.1.{10 + n}"
                codes = [https(port, "POST", path, {"Content-Type": "application/json"}, "{}", source)[0] for _ in range(11)]
                assert codes == [502] * 11, (path, codes)
                status, headers, body = https(port, "POST", path, {"Content-Type": "application/json"}, "{}", source)
                assert status == 429 and json.loads(body) == {"error": "Too many requests"}, (path, status, body)
            # That address is limited on login only.
            for path in ("/api/auth/me", "/api/assistants", "/api/authx/login"):
                assert https(port, "GET", path, source="127.0.1.10")[0] == 502, path
        finally:
            subprocess.run(["nginx", "-s", "stop", "-c", conf, "-p", d], capture_output=True)
            wait_for(lambda: not os.path.exists(os.path.join(d, "nginx.pid")), what="nginx to stop")
