"""The answers: deterministic text, reasoning and tool calls built from the request (no model)."""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from typing import Any

from .config import SimConfig
from .rules import ChatRequest, ImagePart, Message, ToolSpec
from .tokens import count_prompt_tokens, count_tokens, split_tokens


def _first_words(text: str, limit: int = 12) -> str:
    words = text.split()
    quoted = " ".join(words[:limit])
    return quoted + (" ..." if len(words) > limit else "")


def _last_words(text: str, limit: int = 6) -> str:
    return " ".join(text.split()[-limit:])


def _describe_images(images: list[ImagePart]) -> str:
    descriptions = [image.info.describe() for image in images if image.info]
    if len(descriptions) == 1:
        return descriptions[0]
    return f"{len(descriptions)} images: " + ", ".join(descriptions[:-1]) + " and " + descriptions[-1]


def _last_user(request: ChatRequest) -> Message | None:
    return next((m for m in reversed(request.messages) if m.role == "user"), None)


def _tool_name_for(request: ChatRequest, call_id: str | None) -> str:
    for message in request.messages:
        for call in message.tool_calls:
            if call.get("id") == call_id:
                return call["function"]["name"]
    return "tool"


def compose_reply(request: ChatRequest, model: str) -> str:
    """The answer text: echoes the question, names the images, uses tool results."""
    last = request.messages[-1]
    if last.role == "assistant":  # continue_final_message: continue the partial assistant text
        lead = "" if last.text.endswith((" ", "\n")) or not last.text else " "
        return f'{lead}and that completes the reply that ended with "{_last_words(last.text)}".'

    user = _last_user(request)
    question = _first_words(user.text) if user else ""
    sentences: list[str] = []
    if last.role == "tool":
        trailing_tools = []
        for message in reversed(request.messages):
            if message.role != "tool":
                break
            trailing_tools.insert(0, message)
        for message in trailing_tools:
            name = _tool_name_for(request, message.tool_call_id)
            sentences.append(f'The {name} tool returned "{_first_words(message.text, 20)}".')
        sentences.append(f'Based on that result, this answers "{question}".' if question else "That is the answer.")
        return " ".join(sentences)

    if user and user.images:
        sentences.append(f"I see {_describe_images(user.images)}.")
    elif request.images:
        sentences.append(f"Earlier you shared {_describe_images(request.images)}.")
    sentences.append(f'You asked: "{question}".' if question else "You sent no text.")
    turn = sum(1 for m in request.messages if m.role == "user")
    if turn > 1:
        sentences.append(f"This is turn {turn} of our conversation.")
    sentences.append(f"This is a simulated answer from {model}.")
    return " ".join(sentences)


_REASONING_STEPS = (
    "Let me think about this step by step.",
    "First, I work out what exactly is being asked and which details matter.",
    "Then I check those details once more before answering, so the reply is short and correct.",
)


def compose_reasoning(request: ChatRequest, effort: str) -> str:
    user = _last_user(request)
    question = _first_words(user.text, 8) if user else "the conversation so far"
    steps = {"low": 1, "medium": 2, "high": 3}.get(effort, 3)
    return f'The user asks "{question}". ' + " ".join(_REASONING_STEPS[:steps])


def _argument_hint(request: ChatRequest) -> str:
    """A string argument taken from the question: its last capitalised word (a place, a name...)."""
    user = _last_user(request)
    words = [w.strip(".,;:!?\"'()") for w in (user.text.split() if user else [])]
    proper = [w for w in words[1:] if w[:1].isupper()]
    return proper[-1] if proper else "example"


def example_value(schema: Any, hint: str) -> Any:
    """A value valid for a (simple) JSON schema: required properties filled, enums take their first value."""
    if not isinstance(schema, dict):
        return hint
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            usable = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return example_value((usable or options)[0], hint)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        return {name: example_value(properties.get(name, {}), hint) for name in schema.get("required") or []}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [example_value(schema.get("items", {}), hint) for _ in range(count)]
    if kind in ("integer", "number"):
        return _example_number(schema, kind)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _example_string(schema, hint)


def _example_number(schema: dict, kind: str) -> int | float:
    value: float = 1
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema and isinstance(schema["exclusiveMinimum"], (int, float)):
        value = max(value, schema["exclusiveMinimum"] + 1)
    if "maximum" in schema and value > schema["maximum"]:
        value = schema["maximum"]
    return math.ceil(value) if kind == "integer" else value


def _example_string(schema: dict, hint: str) -> str:
    formats = {
        "date": "2026-01-01",
        "date-time": "2026-01-01T00:00:00Z",
        "email": "user@example.com",
        "uri": "https://example.com",
        "uuid": "00000000-0000-4000-8000-000000000000",
    }
    value = formats.get(schema.get("format"), hint)
    min_length = int(schema.get("minLength", 0))
    if len(value) < min_length:
        value = value + "x" * (min_length - len(value))
    if "maxLength" in schema:
        value = value[: int(schema["maxLength"])]
    return value


def _chosen_tool(request: ChatRequest, cfg: SimConfig) -> ToolSpec | None:
    """The tool to call, or None when the answer is text (as vLLM's auto tool choice decides)."""
    choice = request.tool_choice
    if not request.tools or choice == "none" or request.messages[-1].role != "user":
        return None
    if choice in (None, "auto") and cfg.broken("tools"):
        return None
    if isinstance(choice, dict):
        return next(tool for tool in request.tools if tool.name == choice["function"]["name"])
    return request.tools[0]


def make_tool_call(tool: ToolSpec, request: ChatRequest, cfg: SimConfig) -> dict:
    arguments = json.dumps(example_value(tool.parameters, _argument_hint(request)))
    if cfg.broken("tool-args"):
        arguments = arguments[:-1]  # drop the closing brace: no longer valid JSON
    return {
        "id": "call_" + uuid.uuid4().hex[:24],
        "type": "function",
        "function": {"name": tool.name, "arguments": arguments},
    }


@dataclasses.dataclass
class Answer:
    reasoning: str | None
    content: str
    tool_calls: list[dict]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def _reasoning_effort_in_use(request: ChatRequest, cfg: SimConfig) -> str | None:
    if not cfg.can("reasoning"):
        return None  # reasoning_effort is accepted and changes nothing, as for a model without a reasoning parser
    effort = request.reasoning_effort
    if effort in ("low", "medium", "high"):
        return None if cfg.broken("reasoning") else effort
    if effort == "none" and cfg.broken("reasoning-none"):
        return "high"
    return None


def plan_answer(request: ChatRequest, cfg: SimConfig) -> Answer:
    """What one choice says; max_tokens caps reasoning first, then content (as in vLLM)."""
    budget = request.max_tokens if request.max_tokens is not None else cfg.max_model_len
    effort = _reasoning_effort_in_use(request, cfg)
    reasoning_tokens = split_tokens(compose_reasoning(request, effort)) if effort else []
    truncated = len(reasoning_tokens) > budget
    reasoning_tokens = reasoning_tokens[:budget]
    budget -= len(reasoning_tokens)
    reasoning = "".join(reasoning_tokens) if effort else None

    tool = _chosen_tool(request, cfg)
    if tool is not None and not truncated:
        call = make_tool_call(tool, request, cfg)
        used = len(reasoning_tokens) + count_tokens(call["function"]["arguments"])
        return Answer(reasoning, "", [call], "tool_calls", count_prompt_tokens(request), used)

    content_tokens = split_tokens(compose_reply(request, cfg.served_model_name))
    truncated = truncated or len(content_tokens) > budget
    content_tokens = content_tokens[:budget]
    return Answer(
        reasoning=reasoning,
        content="".join(content_tokens),
        tool_calls=[],
        finish_reason="length" if truncated else "stop",
        prompt_tokens=count_prompt_tokens(request),
        completion_tokens=len(reasoning_tokens) + len(content_tokens),
    )
