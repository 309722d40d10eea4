"""The shipped deployment files are valid: systemd units verify clean, the production nginx config loads."""
import os
import subprocess
import tempfile

from conftest import EDMO_BIN, REPO


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


def test_production_nginx_config_loads():
    with tempfile.TemporaryDirectory() as d:
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=edmo.test",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        with open(os.path.join(REPO, "nginx", "edmo.conf")) as f:
            site = (f.read().replace("/etc/ssl/edmo/fullchain.pem", cert).replace("/etc/ssl/edmo/privkey.pem", key)
                    .replace("/etc/nginx/snippets/edmo-fastcgi.conf", os.path.join(REPO, "nginx", "edmo-fastcgi.conf")))
        for word in ("/var/log/nginx/", ):
            site = site.replace(word, d + "/")
        with open(os.path.join(d, "site.conf"), "w") as f:
            f.write(site)
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(f"pid {d}/nginx.pid; error_log {d}/error.log; events {{}}\n"
                    f"http {{ include /etc/nginx/mime.types; access_log off; include {d}/site.conf; }}\n")
        r = subprocess.run(["nginx", "-t", "-c", os.path.join(d, "nginx.conf"), "-p", d], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert "test is successful" in r.stderr
