#!/usr/bin/env python3
"""Check the project's openapi.yaml against the seed contract.

Usage: check_spec.py SEED OURS

- OURS must be a valid OpenAPI document (openapi-spec-validator).
- Everything the seed defines must still be there, unchanged:
  info.title / info.version equal, info.description only appended to,
  the seed's servers / tags / security schemes kept, every seed schema
  deep-equal, every seed path+method present with its other fields
  deep-equal and every seed response code present with an equal entry.
- The one exception: the seed schemas in REWRITES may instead have the one
  rewritten form their rule accepts (forms client generators can read; see
  REWRITES).
- Additions inside a seed shape are allowed only where ADDITIONS names them
  (one key at one place); the rest of that place must still equal the seed.
Prints one FAIL line per failed check, then `spec: N passed, M failed`.
Exits 1 if any check failed, 2 on usage / load errors.
"""
import copy
import sys

import yaml
from openapi_spec_validator import validate

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REF = "#/components/schemas/"


# The allow-list of seed schemas that openapi.yaml rewrites, because `openapi-python-client generate` (as
# an integrator would run it) drops whatever uses the seed's forms. Each rule derives the one accepted
# rewrite from the seed itself and returns what differs from it ([] = accepted), so any other change to
# these schemas, or to the schemas they add, still fails. The rewrites accept the same documents as the
# seed's forms, with one deliberate exception named at UpdateAssistantRequest.

def rewrite_update_assistant(seed, ours):
    """UpdateAssistantRequest: the seed's `allOf: [CreateAssistantRequest]` becomes one explicit object with
    CreateAssistantRequest's properties ("Invalid property in union" in the generator). The seed contradicts
    itself here: its description says "All fields are optional" while the allOf inherits `required: [model,
    voice]`. The description and the server (a PATCH is merged into the stored assistant) win, so the
    rewrite has no `required`; that is the only change in what it accepts."""
    s = seed["UpdateAssistantRequest"]
    if s != {"allOf": [{"$ref": REF + "CreateAssistantRequest"}], "description": s.get("description")}:
        return ["the seed's form is not the one this rule rewrites"]
    want = {"type": "object", "description": s["description"],
            "properties": seed["CreateAssistantRequest"]["properties"]}
    return [] if ours.get("UpdateAssistantRequest") == want else [
        "not the seed's form, nor CreateAssistantRequest's properties as one object without `required`"]


def branch_values(seed, union):
    """{value of the discriminator property: branch $ref} for the seed's `union` (a oneOf of $refs), from
    the one-value enum each branch's own allOf member gives that property."""
    prop = union["discriminator"]["propertyName"]
    values = {}
    for branch in union["oneOf"]:
        ref = branch["$ref"]
        enums = [m["properties"][prop].get("enum") for m in seed[ref[len(REF):]].get("allOf", [])
                 if prop in (m.get("properties") or {})]
        single = [e[0] for e in enums if e and len(e) == 1]
        if len(single) != 1:
            raise ValueError(f"{ref} has no single value for {prop}")
        values[single[0]] = ref
    return values


def rewrite_tool(seed, ours):
    """Tool: the seed's discriminator has no mapping, which in OpenAPI 3.0 means the values of `type` are
    the schema names ("FunctionTool"...), which no tool has: a validator that reads discriminators
    (openapi-schema-validator) refuses every tool with "reference '#/components/schemas/mcp' could not be
    resolved". The rewrite adds the mapping its branches' enums state (function -> FunctionTool...); nothing
    else. Read as JSON Schema (the discriminator ignored, as schemathesis and the server read it), the oneOf
    accepts what it did."""
    want = dict(seed["Tool"])
    want["discriminator"] = dict(want["discriminator"], mapping=branch_values(seed, seed["Tool"]))
    return [] if ours.get("Tool") == want else ["not the seed's form, nor the seed's with the discriminator mapping"]


def rewrite_tool_with_provider(seed, ours):
    """ToolWithProvider: the seed's `allOf: [Tool, P]` is an allOf over a oneOf ("Cannot take allOf a
    non-object"). The rewrite distributes it: allOf(oneOf(F, A, M), P) accepts exactly what
    oneOf(allOf(F, P), allOf(A, P), allOf(M, P)) accepts (with P invalid both reject; with P valid both
    ask for exactly one branch). Each allOf(X, P) is a new named schema, so that the discriminator can map
    to it, and P is the seed's inline object, kept as is or as a $ref to a schema equal to it."""
    s, tool = seed["ToolWithProvider"], seed["Tool"]
    if set(s) != {"allOf"} or len(s["allOf"]) != 2 or s["allOf"][0] != {"$ref": REF + "Tool"}:
        return ["the seed's form is not the one this rule rewrites"]
    provider = s["allOf"][1]
    o = ours.get("ToolWithProvider") or {}
    problems = []
    if set(o) != {"oneOf", "discriminator"} or len(o["oneOf"]) != len(tool["oneOf"]):
        return ["not the seed's form, nor a oneOf with one branch per branch of Tool and a discriminator"]
    names = {}
    for ours_branch, seed_branch in zip(o["oneOf"], tool["oneOf"]):
        ref = ours_branch.get("$ref", "")
        member = ours.get(ref[len(REF):]) if ref.startswith(REF) else None
        parts = (member or {}).get("allOf") or []
        p = parts[1] if len(parts) == 2 else None
        if isinstance(p, dict) and set(p) == {"$ref"} and p["$ref"].startswith(REF):
            p = ours.get(p["$ref"][len(REF):])
        if set(member or {}) != {"allOf"} or parts[0] != seed_branch or p != provider:
            problems.append(f"branch {ref or ours_branch!r} is not allOf({seed_branch['$ref']}, the seed's provider object)")
        names[seed_branch["$ref"]] = ref
    mapping = {value: names.get(ref) for value, ref in branch_values(seed, tool).items()}
    if o["discriminator"] != {"propertyName": tool["discriminator"]["propertyName"], "mapping": mapping}:
        problems.append(f"discriminator is not Tool's property with the mapping {mapping}")
    return problems


REWRITES = {
    "UpdateAssistantRequest": rewrite_update_assistant,
    "Tool": rewrite_tool,
    "ToolWithProvider": rewrite_tool_with_provider,
}


# Documented additions inside seed shapes: (the place in the document, the one key openapi.yaml adds there).
# Each keeps what the seed accepts and answers: the key must not be in the seed at that place (that would be a
# change, not an addition), and everything else at the place is still compared with the seed.
ADDITIONS = [
    # Streaming chat (README "Streaming chat"): an optional flag. ChatRequest does not forbid other
    # properties, so every body the seed accepts is still accepted and still answered with ChatResponse;
    # `stream: true` (or `Accept: text/event-stream`) asks for the event stream below.
    (("components", "schemas", "ChatRequest", "properties"), "stream"),
    (("paths", "/chat", "post", "responses", "200", "content"), "text/event-stream"),
]


def without_additions(seed, ours):
    """A copy of `ours` with each ADDITIONS key removed, and the problems with the list itself."""
    stripped, problems = copy.deepcopy(ours), []
    for place, key in ADDITIONS:
        s_node, o_node = seed, stripped
        for step in place:
            s_node = s_node.get(step) if isinstance(s_node, dict) else None
            o_node = o_node.get(step) if isinstance(o_node, dict) else None
        where = ".".join(place)
        if not isinstance(s_node, dict):
            problems.append(f"addition {where}.{key}: the seed has no {where}")
        elif key in s_node:
            problems.append(f"addition {where}.{key}: the seed defines it, so it is not an addition")
        elif isinstance(o_node, dict):
            o_node.pop(key, None)
    return stripped, problems


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

    # The comparisons with the seed below ignore the documented additions (ADDITIONS).
    ours, problems = without_additions(seed, ours)
    for problem in problems:
        c.check(False, problem)

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
            if not c.check(name in o_sec, f"components.{section}.{name} missing"):
                continue
            if section == "schemas" and name in REWRITES and o_sec[name] != obj:
                try:
                    problems = REWRITES[name](s_comp["schemas"], o_sec)
                except (KeyError, IndexError, TypeError, AttributeError, ValueError) as e:
                    problems = [f"not the form its rule accepts ({type(e).__name__}: {e})"]
                for problem in problems or [None]:
                    c.check(problem is None, f"components.schemas.{name} changed: {problem}")
                continue
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
