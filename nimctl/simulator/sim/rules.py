"""The chat-request rules: parse a /v1/chat/completions body and check it as the NIM does (roles and
their alternation, tool calls and results, image count, parameters, the context length)."""

from __future__ import annotations

import dataclasses
from typing import Any

from .api_error import ApiError, bad_request
from .config import SimConfig
from .imaging import ImageInfo
from .tokens import count_prompt_tokens

KNOWN_ROLES = ("system", "user", "assistant", "tool")
REASONING_EFFORTS = ("none", "low", "medium", "high")


@dataclasses.dataclass
class ImagePart:
    url: str
    info: ImageInfo | None = None  # filled in by load_images


@dataclasses.dataclass
class Message:
    role: str
    text: str
    images: list[ImagePart]
    tool_calls: list[dict]
    tool_call_id: str | None


@dataclasses.dataclass
class ToolSpec:
    name: str
    parameters: dict


@dataclasses.dataclass
class ChatRequest:
    model: str
    messages: list[Message]
    stream: bool
    include_usage: bool
    max_tokens: int | None
    reasoning_effort: str | None
    tools: list[ToolSpec]
    tool_choice: Any
    continue_final: bool
    n: int

    @property
    def images(self) -> list[ImagePart]:
        return [image for message in self.messages for image in message.images]


def _parse_content(content: Any, where: str) -> tuple[str, list[ImagePart]]:
    """String content, or a list of text / image_url parts -> (text, images)."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise bad_request(f"{where}.content must be a string or a list of content parts")
    texts: list[str] = []
    images: list[ImagePart] = []
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            image_url = part.get("image_url")
            url = image_url.get("url") if isinstance(image_url, dict) else image_url
            if not isinstance(url, str) or not url:
                raise bad_request(f"{where}.content[{index}].image_url.url must be a non-empty string")
            images.append(ImagePart(url))
        else:
            raise bad_request(
                f"{where}.content[{index}]: unsupported content part type {kind!r}; use 'text' or 'image_url'"
            )
    return " ".join(texts), images


def _parse_message(raw: Any, index: int, cfg: SimConfig) -> Message | None:
    """One message; None for a `function` message accepted under SIM_BREAK=function-role."""
    where = f"messages[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("role"), str):
        raise bad_request(f"{where} must be an object with a string 'role'")
    role = raw["role"]
    if role == "function":
        if cfg.broken("function-role"):
            return None  # accepted and ignored
        raise bad_request(f"{where}: the role 'function' is not supported; use the role 'tool' for tool results")
    if role not in KNOWN_ROLES:
        raise bad_request(f"{where}: unsupported role {role!r}; expected one of {', '.join(KNOWN_ROLES)}")
    text, images = _parse_content(raw.get("content"), where)
    if role == "user" and raw.get("content") is None:
        raise bad_request(f"{where}: a user message needs content")
    tool_calls = raw.get("tool_calls") or []
    if role == "assistant":
        _check_tool_calls(tool_calls, where)
    tool_call_id = raw.get("tool_call_id")
    if role == "tool" and not isinstance(tool_call_id, str):
        raise bad_request(f"{where}: a tool message needs a string 'tool_call_id'")
    return Message(role, text, images, list(tool_calls), tool_call_id)


def _check_tool_calls(tool_calls: Any, where: str) -> None:
    if not isinstance(tool_calls, list):
        raise bad_request(f"{where}.tool_calls must be a list")
    for index, call in enumerate(tool_calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call, dict) or not isinstance(call.get("id"), str) or not isinstance(function, dict):
            raise bad_request(f"{where}.tool_calls[{index}] needs an 'id' and a 'function'")
        if not isinstance(function.get("name"), str):
            raise bad_request(f"{where}.tool_calls[{index}].function needs a 'name'")


def _allowed_after(previous: Message | None) -> tuple[str, ...]:
    """Roles that may follow `previous` (None = start of the conversation, after system messages)."""
    if previous is None:
        return ("user",)
    if previous.role == "user":
        return ("assistant",)
    if previous.role == "assistant":
        return ("tool",) if previous.tool_calls else ("user",)
    return ("tool", "assistant", "user")  # after a tool result


def check_conversation(messages: list[Message], *, continue_final: bool, cfg: SimConfig) -> None:
    """Mistral's rules: system first, then strict user/assistant alternation, tool results right after
    the assistant's tool calls, and a last message from the user (or a tool)."""
    previous: Message | None = None
    known_call_ids: set[str] = set()
    for index, message in enumerate(messages):
        if message.role == "system":
            if previous is not None:
                raise bad_request(f"messages[{index}]: system messages are only allowed at the beginning")
            continue
        allowed = _allowed_after(previous)
        if message.role not in allowed:
            after = f"after a '{previous.role}' message" if previous else "as the first non-system message"
            raise bad_request(
                f"Conversation roles must alternate user/assistant/user/assistant/...: "
                f"messages[{index}] has role '{message.role}' {after}, expected {' or '.join(allowed)}"
            )
        if message.role == "assistant":
            known_call_ids.update(call["id"] for call in message.tool_calls)
        if message.role == "tool" and message.tool_call_id not in known_call_ids:
            raise bad_request(
                f"messages[{index}]: tool_call_id {message.tool_call_id!r} does not match any earlier tool call"
            )
        previous = message
    last_role = previous.role if previous else "system"
    if last_role in ("user", "tool"):
        return
    if last_role == "assistant" and (continue_final or cfg.broken("multi-turn")):
        return
    raise bad_request(
        f"Expected the last message to be from the user or a tool, got role '{last_role}': the last message "
        "must be user. To continue an assistant message, set add_generation_prompt=false and "
        "continue_final_message=true."
    )


def _parse_tools(raw: Any) -> list[ToolSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request("tools must be a list")
    tools = []
    for index, tool in enumerate(raw):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type", "function") != "function" or not isinstance(function, dict):
            raise bad_request(f"tools[{index}] must be {{'type': 'function', 'function': {{...}}}}")
        if not isinstance(function.get("name"), str) or not function["name"]:
            raise bad_request(f"tools[{index}].function needs a 'name'")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(parameters, dict):
            raise bad_request(f"tools[{index}].function.parameters must be a JSON schema object")
        tools.append(ToolSpec(function["name"], parameters))
    return tools


def _parse_tool_choice(raw: Any, tools: list[ToolSpec]) -> Any:
    if raw is None or raw in ("auto", "none"):
        return raw
    if raw == "required" or isinstance(raw, dict):
        if not tools:
            raise bad_request("When using `tool_choice`, `tools` must be set.")
        if raw == "required":
            return raw
        name = (raw.get("function") or {}).get("name") if raw.get("type") == "function" else None
        if name not in [tool.name for tool in tools]:
            raise bad_request(f"tool_choice names the function {name!r}, which is not in tools")
        return raw
    raise bad_request("tool_choice must be 'none', 'auto', 'required' or a named function")


def _int_param(body: dict, name: str, minimum: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{name} must be an integer")
    if value < minimum:
        raise bad_request(f"{name} must be at least {minimum}, got {value}")
    return value


def parse_chat_request(body: Any, cfg: SimConfig) -> ChatRequest:
    """Validate a /v1/chat/completions body; raises ApiError as the NIM would."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    model = body.get("model") or cfg.served_model_name
    if model != cfg.served_model_name:
        raise ApiError(404, f"The model `{model}` does not exist.", "NotFoundError")
    if body.get("chat_template") is not None and not cfg.broken("chat-template"):
        raise bad_request(
            "chat_template is not supported for Mistral tokenizers: they use their built-in chat template"
        )
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise bad_request("messages must be a non-empty list")
    messages = [m for i, raw in enumerate(raw_messages) if (m := _parse_message(raw, i, cfg)) is not None]

    add_generation_prompt = body.get("add_generation_prompt", True)
    continue_final = bool(body.get("continue_final_message", False))
    if continue_final and add_generation_prompt:
        raise bad_request("Cannot set both `continue_final_message` and `add_generation_prompt` to True.")
    if cfg.broken("continue-final"):
        continue_final = False

    reasoning_effort = body.get("reasoning_effort")
    if reasoning_effort is not None and reasoning_effort not in REASONING_EFFORTS:
        raise bad_request(f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}")
    tools = _parse_tools(body.get("tools"))
    stream = bool(body.get("stream", False))
    stream_options = body.get("stream_options") or {}
    if stream_options and not stream:
        raise bad_request("Stream options can only be defined when `stream=True`.")
    max_tokens = _int_param(body, "max_tokens", 1)
    if max_tokens is None:
        max_tokens = _int_param(body, "max_completion_tokens", 1)
    request = ChatRequest(
        model=model,
        messages=messages,
        stream=stream,
        include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")),
        max_tokens=max_tokens,
        reasoning_effort=reasoning_effort,
        tools=tools,
        tool_choice=_parse_tool_choice(body.get("tool_choice"), tools),
        continue_final=continue_final,
        n=_int_param(body, "n", 1) or 1,
    )
    _check_capabilities(request, cfg)
    _check_image_count(request, cfg)
    check_conversation(messages, continue_final=continue_final, cfg=cfg)
    _check_context_length(request, cfg)
    return request


def _check_capabilities(request: ChatRequest, cfg: SimConfig) -> None:
    """What vLLM answers a model without vision, or a server without a tool parser (SIM_CAPABILITIES)."""
    if request.images and not cfg.can("vision"):
        raise bad_request(f"{cfg.served_model_name} is not a multimodal model")
    # with tools and no tool_choice vLLM chooses "auto"; "required" and a named function still
    # work without a parser (guided decoding)
    if request.tools and request.tool_choice in (None, "auto") and not cfg.can("tools"):
        raise bad_request('"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set')


def _check_image_count(request: ChatRequest, cfg: SimConfig) -> None:
    limit = cfg.max_images_per_prompt
    if len(request.images) > limit and not cfg.broken("max-images"):
        raise bad_request(f"At most {limit} image(s) may be provided in one request.")


def _check_context_length(request: ChatRequest, cfg: SimConfig) -> None:
    prompt = count_prompt_tokens(request)
    wanted = prompt + (request.max_tokens or 0)
    if wanted > cfg.max_model_len:
        raise bad_request(
            f"This model's maximum context length is {cfg.max_model_len} tokens. However, you requested "
            f"{wanted} tokens ({prompt} in the messages, {request.max_tokens} in the completion). "
            "Please reduce the length of the messages or completion."
        )
