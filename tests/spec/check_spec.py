#!/usr/bin/env python3
"""Check the project's openapi.yaml against the seed contract.

Usage: check_spec.py SEED OURS

- OURS must be a valid OpenAPI document (openapi-spec-validator).
- Everything the seed defines must still be there, unchanged:
  info.title / info.version equal, info.description only appended to,
  the seed's servers / tags / security schemes kept, every seed schema
  deep-equal, every seed path+method present with its other fields
  deep-equal and every seed response code present with an equal entry.
Prints one FAIL line per failed check, then `spec: N passed, M failed`.
Exits 1 if any check failed, 2 on usage / load errors.
"""
import sys

import yaml
from openapi_spec_validator import validate

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}")
        return ok


def die(msg):
    print(f"check_spec: {msg}", file=sys.stderr)
    sys.exit(2)


def load(path):
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        die(f"cannot load {path}: {e}")
    if not isinstance(doc, dict):
        die(f"{path} is not a YAML mapping")
    return doc


def main(argv):
    if len(argv) != 3:
        die("usage: check_spec.py SEED OURS")
    seed, ours = load(argv[1]), load(argv[2])
    c = Checks()

    # 1. ours is valid OpenAPI
    try:
        validate(ours)
        c.check(True, "")
    except Exception as e:  # the validator raises several exception types
        c.check(False, f"{argv[2]} is not valid OpenAPI: {e}")

    # 2. info
    s_info, o_info = seed.get("info", {}), ours.get("info") or {}
    for key in ("title", "version"):
        c.check(o_info.get(key) == s_info.get(key),
                f"info.{key} changed: {s_info.get(key)!r} -> {o_info.get(key)!r}")
    s_desc = s_info.get("description") or ""
    c.check(str(o_info.get("description") or "").startswith(s_desc),
            "info.description: the seed's text is not kept as a prefix (only appending is allowed)")

    # 3. servers, tags, x-tagGroups: every seed item still present, unchanged
    for key in ("servers", "tags", "x-tagGroups"):
        o_items = ours.get(key) or []
        for item in seed.get(key) or []:
            c.check(item in o_items, f"{key}: seed item {item!r} missing or changed")

    # 4. components: security schemes and schemas deep-equal
    s_comp, o_comp = seed.get("components", {}), ours.get("components") or {}
    for section in ("securitySchemes", "schemas"):
        o_sec = o_comp.get(section) or {}
        for name, obj in (s_comp.get(section) or {}).items():
            if c.check(name in o_sec, f"components.{section}.{name} missing"):
                c.check(o_sec[name] == obj, f"components.{section}.{name} changed")

    # 5. paths: every seed operation and response code still there, unchanged
    o_paths = ours.get("paths") or {}
    for path, s_item in (seed.get("paths") or {}).items():
        if not c.check(path in o_paths, f"path {path} missing"):
            continue
        o_item = o_paths[path] or {}
        for method, s_op in s_item.items():
            op = f"{method.upper()} {path}"
            if method not in HTTP_METHODS:
                c.check(o_item.get(method) == s_op, f"{path}.{method} changed")
                continue
            if not c.check(method in o_item, f"{op} missing"):
                continue
            o_op = o_item[method] or {}
            for key, val in s_op.items():
                if key == "responses":
                    continue
                c.check(o_op.get(key) == val, f"{op}: {key} changed")
            o_resp = o_op.get("responses") or {}
            for code, s_resp in (s_op.get("responses") or {}).items():
                if c.check(code in o_resp, f"{op}: response {code} missing"):
                    c.check(o_resp[code] == s_resp, f"{op}: response {code} changed")

    print(f"spec: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
