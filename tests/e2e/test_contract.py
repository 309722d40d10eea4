"""schemathesis against the project's openapi.yaml, for the operations implemented so far."""
import os
import subprocess

import pytest

from conftest import REPO

# Grows as resources land. Logout is covered by test_auth_flow: fuzzing it would revoke the test's own session.
IMPLEMENTED = (r"^/(auth/(login|me|password)|users(/\{id\}(/reset-password)?)?|assistants(/\{id\}(/knowledge(/import|/\{entryId\})?)?)?"
               r"|tools(/\{id\})?|phone-numbers(/\{id\})?|chat(/\{chatId\}(/end)?)?|knowledge-gaps(/\{id\}/resolve)?"
               r"|analytics(/\{conversationId\}|/timeseries|/conversations(\.csv)?)?|analytics-keys(/\{id\})?|webhooks/provider|audit-log(\.csv)?"
               r"|organization/settings|erasures"
               r"|webhook-endpoints(/\{id\}(/rotate-secret|/deliveries(/\{deliveryId\}/retry)?)?)?)$")


@pytest.fixture
def contract_stack(fresh_stack):
    return fresh_stack(env={"ANALYTICS_API_KEY": "contract-analytics-key-0123456789abcdef", "EDMO_WEBHOOK_SECRET": "contract-webhook-secret-0123456789abcdef"})


def test_schemathesis_finds_no_failures(contract_stack):
    stack = contract_stack
    token = stack.session().cookies["auth-token"]
    # Auth through the config file, so schemathesis knows which security scheme the cookie satisfies.
    with open(os.path.join(REPO, "tests", "e2e", "schemathesis.toml.in")) as f:
        config = f.read().replace("@TOKEN@", token)
    with open(os.path.join(stack.dir, "schemathesis.toml"), "w") as f:
        f.write(config)
    r = subprocess.run(
        ["schemathesis", "--config-file", os.path.join(stack.dir, "schemathesis.toml"),
         "run", os.path.join(REPO, "openapi.yaml"),
         "--url", stack.base + "/api",
         "--include-path-regex", IMPLEMENTED,
         "--max-examples", os.environ.get("SCHEMATHESIS_EXAMPLES", "150"),
         "--seed", "1",
         "--no-color"],
        capture_output=True, text=True, timeout=900, cwd=stack.dir)
    print(r.stdout[-20000:])
    print(r.stderr[-5000:])
    assert r.returncode == 0, "schemathesis reported failures (output above)"
