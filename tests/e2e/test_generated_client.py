"""openapi.yaml is a document clients can be generated from, as an integrator would: `openapi-python-client
generate` makes a Python client from it with no warning (none of the seed's forms it drops; see
tests/spec/check_spec.py's REWRITES), and that client walks the main operations against the real server
through nginx, each answer decoded into its typed model.

The generator runs offline: it reads the local file, and the config turns off its post-hooks (formatters),
so that nothing but the generator itself runs. `make deps` installs it (Makefile's PYTHON_PACKAGES)."""
import importlib
import os
import subprocess
import sys
from datetime import datetime

import pytest
import yaml

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, REPO

OPENAPI = os.path.join(REPO, "openapi.yaml")
PACKAGE = "edmo_client"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def generate(folder):
    """Runs the generator into folder/edmo_client; returns its exit code and the lines it printed."""
    config = folder / "config.yaml"
    config.write_text("post_hooks: []\n")
    r = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", OPENAPI, "--meta", "none",
         "--output-path", str(folder / PACKAGE), "--config", str(config), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300, env=dict(os.environ, NO_COLOR="1", TERM="dumb"))
    return r.returncode, [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The generated package, imported; the test fails at once on any line but the generator's one
    `Generating PATH` (a warning, an endpoint or response left out, a schema it could not read)."""
    folder = tmp_path_factory.mktemp("generated-client")
    code, lines = generate(folder)
    said = [line for line in lines if not line.startswith("Generating ")]
    assert code == 0 and not said, "openapi-python-client:\n" + "\n".join(lines)
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE), folder / PACKAGE
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(name):
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.mark.store_independent("generates code from openapi.yaml; reaches no server")
def test_every_operation_is_generated(generated):
    """One module per operation of openapi.yaml: the generator dropped none (it names each from its method
    and path, under its first tag)."""
    _, root = generated
    with open(OPENAPI) as f:
        paths = yaml.safe_load(f)["paths"]
    operations = sum(1 for item in paths.values() for method in item if method in HTTP_METHODS)
    modules = [p for p in (root / "api").rglob("*.py") if p.name != "__init__.py"]
    assert len(modules) == operations, sorted(p.name for p in modules)
    for name in ("assistants.post_assistants", "assistants.patch_assistants_id", "tools.get_tools",
                 "tools.post_tools", "tools.get_tools_id", "tools.patch_tools_id"):
        assert hasattr(module("api." + name), "sync_detailed"), name


def model(name):
    """A generated model class or enum: model("assistant.Assistant")."""
    file, cls = name.split(".")
    return getattr(module("models." + file), cls)


def test_generated_client_walks_the_main_operations(generated, stack):
    clients = module("client")
    base = stack.base + "/api"

    def call(operation, *args, status, returns, client=None, **kw):
        """Runs api.OPERATION (e.g. "assistants.post_assistants") and checks the answer's status and that it
        was decoded into `returns`, a model class (or a list of classes: a list of any of them)."""
        response = module("api." + operation).sync_detailed(*args, client=client or admin, **kw)
        assert response.status_code == status, (operation, response.status_code, response.content[:300])
        parsed = response.parsed
        if isinstance(returns, list):
            assert isinstance(parsed, list) and all(isinstance(x, tuple(returns)) for x in parsed), parsed
        else:
            assert isinstance(parsed, returns), parsed
        return parsed

    # Sign in: the server answers with the auth-token cookie; a client for the signed-in operations sends it.
    anonymous = clients.Client(base_url=base, raise_on_unexpected_status=True)
    login = call("auth.post_auth_login", client=anonymous, status=200, returns=model("login_response.LoginResponse"),
                 body=model("login_request.LoginRequest")(email=ADMIN_EMAIL, password=ADMIN_PASSWORD))
    assert login.user.email == ADMIN_EMAIL
    token = anonymous.get_httpx_client().cookies["auth-token"]
    admin = clients.AuthenticatedClient(base_url=base, token=f"auth-token={token}", prefix="", auth_header_name="Cookie",
                                        raise_on_unexpected_status=True)
    me = call("auth.get_auth_me", status=200, returns=model("current_user_response.CurrentUserResponse"))
    assert me.user.id == login.user.id

    # An assistant: created, read, updated with one field (the rest kept), listed.
    Assistant = model("assistant.Assistant")
    OpenAI = model("model_config_provider.ModelConfigProvider").OPENAI
    create = model("create_assistant_request.CreateAssistantRequest")(
        name="Enrollment Assistant", first_message="Hi, how can I help?",
        first_message_mode=model("create_assistant_request_first_message_mode.CreateAssistantRequestFirstMessageMode")(
            "assistant-speaks-first"),
        model=model("model_config.ModelConfig")(provider=OpenAI, model="gpt-4o", temperature=0.6),
        voice=model("voice_config.VoiceConfig")(provider=model("voice_config_provider.VoiceConfigProvider").OPENAI,
                                                voice_id="alloy"),
        max_duration_seconds=1800)
    assistant = call("assistants.post_assistants", body=create, status=201, returns=Assistant)
    assert assistant.name == "Enrollment Assistant" and isinstance(assistant.created_at, datetime)
    assert assistant.model.provider == OpenAI and assistant.model.temperature == 0.6
    assert assistant.voice.voice_id == "alloy"
    aid = assistant.id
    assert call("assistants.get_assistants_id", aid, status=200, returns=Assistant).max_duration_seconds == 1800
    update = model("update_assistant_request.UpdateAssistantRequest")(name="Admissions")
    assert update.to_dict() == {"name": "Admissions"}  # a partial update: no model, no voice
    updated = call("assistants.patch_assistants_id", aid, body=update, status=200, returns=Assistant)
    assert updated.name == "Admissions" and updated.model.model == "gpt-4o"
    assert updated.updated_at >= assistant.updated_at
    listed = call("assistants.get_assistants", limit=10, status=200, returns=[Assistant])
    assert aid in [a.id for a in listed]

    # Tools of two types: each answer decoded into its own branch of the union, by `type`.
    FunctionTool = model("function_tool_with_provider.FunctionToolWithProvider")
    ApiRequestTool = model("api_request_tool_with_provider.ApiRequestToolWithProvider")
    CreateTool = model("create_tool_request.CreateToolRequest")
    function = call("tools.post_tools", status=201, returns=FunctionTool, body=CreateTool.from_dict({
        "type": "function", "provider": "sis", "function": {
            "name": "lookup_application", "description": "Finds an application by its number.",
            "parameters": {"type": "object", "properties": {"number": {"type": "string"}}, "required": ["number"]}}}))
    assert function.type_ == model("function_tool_type.FunctionToolType").FUNCTION and function.provider == "sis"
    assert function.function.name == "lookup_application"
    assert function.function.parameters.properties.additional_properties["number"].type_.value == "string"
    request = call("tools.post_tools", status=201, returns=ApiRequestTool, body=CreateTool.from_dict({
        "type": "apiRequest", "name": "status", "method": "GET", "url": "https://sis.example.edu/status"}))
    assert request.method == model("api_request_tool_method.ApiRequestToolMethod").GET
    assert isinstance(request.provider, module("types").Unset)  # no label: the answer leaves it out
    assert call("tools.get_tools_id", function.id, status=200, returns=FunctionTool).id == function.id
    patched = call("tools.patch_tools_id", request.id, status=200, returns=ApiRequestTool,
                   body=model("patch_tools_id_body.PatchToolsIdBody").from_dict({"timeoutSeconds": 10}))
    assert patched.timeout_seconds == 10 and patched.url == "https://sis.example.edu/status"
    tools = call("tools.get_tools", status=200, returns=[FunctionTool, ApiRequestTool])
    assert {(type(t), t.id) for t in tools} >= {(FunctionTool, function.id), (ApiRequestTool, request.id)}

    # A phone number, attached to the assistant, then detached.
    PhoneNumber, Details = model("phone_number.PhoneNumber"), model("phone_number_details.PhoneNumberDetails")
    number = call("phone_numbers.post_phone_numbers", status=201, returns=PhoneNumber,
                  body=model("create_phone_number_request.CreatePhoneNumberRequest")(
                      provider=model("create_phone_number_request_provider.CreatePhoneNumberRequestProvider").TWILIO,
                      twilio_phone_number="+17865550199", twilio_account_sid="AC" + "0" * 32,
                      twilio_auth_token="twilio-auth-token-5e1f0c", assistant_id=aid))
    assert number.number == "+17865550199" and number.assistant_id == aid
    assert call("phone_numbers.get_phone_numbers_id", number.id, status=200, returns=Details).assistant_id == aid
    detached = call("phone_numbers.patch_phone_numbers_id", number.id, status=200, returns=Details,
                    body=model("update_phone_number_request.UpdatePhoneNumberRequest")(assistant_id=None))
    assert detached.assistant_id is None
    assert number.id in [n.id for n in call("phone_numbers.get_phone_numbers", status=200, returns=[PhoneNumber])]

    # Knowledge: an entry added, one imported, changed, read, listed.
    Entry = model("knowledge_entry.KnowledgeEntry")
    entry = call("knowledge.post_assistants_id_knowledge", aid, status=201, returns=Entry,
                 body=model("knowledge_entry_input.KnowledgeEntryInput")(
                     title="Application deadline", content="Fall applications close on March 1.",
                     questions=["When do applications close?"]))
    assert entry.assistant_id == aid and entry.questions == ["When do applications close?"]
    imported = call("knowledge.post_assistants_id_knowledge_import", aid, status=201,
                    returns=model("knowledge_import_response.KnowledgeImportResponse"),
                    body=model("knowledge_import_request.KnowledgeImportRequest").from_dict(
                        {"entries": [{"title": "Tuition", "content": "Tuition is $12,000 per year."}]}))
    assert imported.imported == 1
    changed = call("knowledge.patch_assistants_id_knowledge_entry_id", aid, entry.id, status=200, returns=Entry,
                   body=model("update_knowledge_entry_request.UpdateKnowledgeEntryRequest")(
                       content="Fall applications close on March 1 at noon."))
    assert changed.title == "Application deadline" and changed.content.endswith("at noon.")
    read = call("knowledge.get_assistants_id_knowledge_entry_id", aid, entry.id, status=200, returns=Entry)
    assert read.content == changed.content
    entries = call("knowledge.get_assistants_id_knowledge", aid, status=200, returns=[Entry])
    assert sorted(e.title for e in entries) == ["Application deadline", "Tuition"]

    # Chat: answered from the knowledge, the conversation read, then ended.
    ChatRequest, ChatResponse = model("chat_request.ChatRequest"), model("chat_response.ChatResponse")
    first = call("chat.post_chat", status=200, returns=ChatResponse,
                 body=ChatRequest(assistant_id=aid, message="When do applications close?"))
    assert first.message == "Fall applications close on March 1 at noon." and isinstance(first.timestamp, datetime)
    second = call("chat.post_chat", status=200, returns=ChatResponse,
                  body=ChatRequest(assistant_id=aid, message="how much is tuition", previous_chat_id=first.chat_id))
    assert second.chat_id == first.chat_id and second.message == "Tuition is $12,000 per year."
    Conversation, Status = model("chat_conversation.ChatConversation"), model("chat_conversation_status.ChatConversationStatus")
    conversation = call("chat.get_chat_chat_id", first.chat_id, status=200, returns=Conversation)
    assert conversation.status == Status.IN_PROGRESS
    assert [x.role.value for x in conversation.messages] == ["assistant", "user", "assistant", "user", "assistant"]
    ended = call("chat.post_chat_chat_id_end", first.chat_id, status=200, returns=Conversation)
    assert ended.status == Status.ENDED and isinstance(ended.ended_at, datetime)

    # Analytics with a key: made by the admin (shown once), used by a reporting client, revoked.
    key = call("analytics.post_analytics_keys", status=201, returns=model("analytics_key_created.AnalyticsKeyCreated"),
               body=model("create_analytics_key_request.CreateAnalyticsKeyRequest")(name="Looker"))
    assert key.key.startswith(key.prefix) and key.revoked_at is None
    keys = call("analytics.get_analytics_keys", status=200, returns=[model("analytics_key.AnalyticsKey")])
    assert [k.id for k in keys] == [key.id]
    reporting = clients.AuthenticatedClient(base_url=base, token=key.key, prefix="", auth_header_name="X-API-Key",
                                            raise_on_unexpected_status=True)
    overview = call("analytics.get_analytics", client=reporting, status=200,
                    returns=model("analytics_response.AnalyticsResponse"),
                    time_range_days=model("get_analytics_time_range_days.GetAnalyticsTimeRangeDays").VALUE_7)
    assert overview.summary.total_conversations == 1
    assert [c.id for c in overview.conversations] == [first.chat_id]
    detail = call("analytics.get_analytics_conversation_id", first.chat_id, client=reporting, status=200,
                  returns=model("conversation_detail_response.ConversationDetailResponse"))
    assert detail.id == first.chat_id and [x.message for x in detail.messages][1] == "When do applications close?"
    Success, Error = model("success_response.SuccessResponse"), model("error_response.ErrorResponse")
    call("analytics.delete_analytics_keys_id", key.id, status=200, returns=Success)
    refused = call("analytics.get_analytics", client=reporting, status=403, returns=Error)
    assert refused.error == "This API key has been revoked"

    # Everything deleted; what is gone answers 404, decoded as the error it is.
    assert call("knowledge.delete_assistants_id_knowledge_entry_id", aid, entry.id, status=200, returns=Success).success
    assert call("phone_numbers.delete_phone_numbers_id", number.id, status=200, returns=Success).success
    for tool in (function, request):
        assert call("tools.delete_tools_id", tool.id, status=200,
                    returns=model("delete_tools_id_response_200.DeleteToolsIdResponse200")).success
    assert call("assistants.delete_assistants_id", aid, status=200,
                returns=model("delete_assistants_id_response_200.DeleteAssistantsIdResponse200")).success
    gone = call("assistants.get_assistants_id", aid, status=404, returns=Error)
    assert gone.error == "Assistant not found"
