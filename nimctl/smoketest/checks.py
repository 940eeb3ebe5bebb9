"""The smoke checks. Each one proves, through the official openai SDK, one API behaviour that
NVIDIA documents for the Mistral Small 4 NIM, and fails with a reason a person can act on.

A check is a function `check(ctx) -> None` that raises `CheckFailed` (or `CheckSkipped`). It
never handles its own deadline: the runner runs it in a worker thread and stops waiting.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nimctl import lazy
from nimctl.smoketest import media

if TYPE_CHECKING:
    import openai
else:
    openai = lazy.module("openai")  # a few hundred ms: loaded when a check runs

# Answers are capped so a real 119B model finishes each check in seconds; these prompts still
# need several tokens, which the streaming check relies on.
SHORT_ANSWER_TOKENS = 64
REASONING_TOKENS = 1024  # reasoning is long; the check stops reading at the first content


class CheckFailed(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class CheckSkipped(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class CheckMetrics:
    """Filled in by the first request of each kind in a check; later requests do not overwrite."""

    ttft_s: float | None = None
    streamed_tokens_per_s: float | None = None
    plain_tokens_per_s: float | None = None

    @property
    def tokens_per_s(self) -> float | None:
        return self.streamed_tokens_per_s if self.streamed_tokens_per_s is not None else self.plain_tokens_per_s


@dataclass
class CheckContext:
    client: openai.OpenAI
    model: str | None
    max_images: int = 5
    image_url: str | None = None
    expected_model: str | None = None  # the models check also wants this id listed
    metrics: CheckMetrics = field(default_factory=CheckMetrics)


# How a NIM (vLLM) turns down a request for a capability its model or server lacks, as the reason a
# check fails with (docs/architecture.md, the simulator's capabilities table).
LACKING: dict[str, tuple[str, ...]] = {
    "vision": ("is not a multimodal model",),
    "reasoning": ("no reasoning text arrived",),
    "tools": ("--enable-auto-tool-choice",),
}


def lacks_capability(capability: str, reason: str) -> bool:
    """Whether a check's failure `reason` is the NIM saying the model lacks `capability`."""
    return any(sign in reason for sign in LACKING.get(capability, ()))


def make_client(api_base: str, timeout: float) -> openai.OpenAI:
    # No retries: a smoke check reports the first failure, and retries would blur latencies.
    return openai.OpenAI(base_url=api_base, api_key="not-used", timeout=timeout, max_retries=0)


# --- error wording -----------------------------------------------------------------------------


def describe_error(exc: BaseException) -> str:
    """One line for a failed request: the server's own message where there is one."""
    if isinstance(exc, openai.APITimeoutError):
        return "the request timed out"
    if isinstance(exc, openai.APIConnectionError):
        return f"could not connect: {exc.__cause__ or exc}"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {_server_message(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else None
    text = str(message or body or exc.message)
    return text if len(text) <= 200 else text[:197] + "..."


@contextmanager
def step(what: str) -> Iterator[None]:
    """Name the request in flight, so an unexpected API error says what was being tried."""
    try:
        yield
    except openai.OpenAIError as exc:
        raise CheckFailed(f"{what}: {describe_error(exc)}") from exc


# --- requests that record metrics ----------------------------------------------------------------


def _answer_text(completion: Any) -> str:
    if not completion.choices:
        return ""
    return completion.choices[0].message.content or ""


def chat(ctx: CheckContext, **request: Any) -> Any:
    """A non-streamed chat completion; records tokens/s if the server reports usage."""
    started = time.perf_counter()
    completion = ctx.client.chat.completions.create(model=ctx.model, stream=False, **request)
    elapsed = time.perf_counter() - started
    usage = completion.usage
    if ctx.metrics.plain_tokens_per_s is None and usage and usage.completion_tokens and elapsed > 0:
        ctx.metrics.plain_tokens_per_s = usage.completion_tokens / elapsed
    return completion


@dataclass
class StreamedAnswer:
    content_chunks: list[str] = field(default_factory=list)
    reasoning_chunks: list[str] = field(default_factory=list)
    content_before_reasoning: bool = False  # a content delta arrived before any reasoning delta

    @property
    def content(self) -> str:
        return "".join(self.content_chunks)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_chunks)


def reasoning_text(delta: Any) -> str:
    """NIM streams reasoning in `delta.reasoning`; older vLLM builds used `reasoning_content`.
    Neither is a declared field of the SDK's delta model, so they arrive as pydantic extras."""
    extra = getattr(delta, "model_extra", None) or {}
    for key in ("reasoning", "reasoning_content"):
        value = extra.get(key, getattr(delta, key, None))
        if value:
            return str(value)
    return ""


def stream_chat(ctx: CheckContext, *, stop_at_first_content: bool = False, **request: Any) -> StreamedAnswer:
    """A streamed chat completion, read delta by delta; records TTFT and tokens/s.

    `stop_at_first_content` ends the read early (closing the stream) once the answer proper
    starts, for checks that only care about what precedes it.
    """
    answer = StreamedAnswer()
    started = time.perf_counter()
    first_token_at: float | None = None
    usage = None
    stream = ctx.client.chat.completions.create(
        model=ctx.model, stream=True, stream_options={"include_usage": True}, **request
    )
    try:
        for chunk in stream:
            usage = chunk.usage or usage  # the usage chunk comes last, with no choices
            if not chunk.choices or chunk.choices[0].delta is None:
                continue
            delta = chunk.choices[0].delta
            reasoning, content = reasoning_text(delta), delta.content or ""
            if (reasoning or content) and first_token_at is None:
                first_token_at = time.perf_counter()
            if reasoning:
                answer.reasoning_chunks.append(reasoning)
            if content:
                if not answer.reasoning_chunks:
                    answer.content_before_reasoning = True
                answer.content_chunks.append(content)
                if stop_at_first_content:
                    break
    finally:
        stream.close()
    finished = time.perf_counter()
    if ctx.metrics.ttft_s is None and first_token_at is not None:
        ctx.metrics.ttft_s = first_token_at - started
    if ctx.metrics.streamed_tokens_per_s is None and usage and usage.completion_tokens:
        ctx.metrics.streamed_tokens_per_s = usage.completion_tokens / (finished - started)
    return answer


def expect_bad_request(ctx: CheckContext, what: str, **request: Any) -> None:
    """The page promises a 400 for `what`; anything else fails the check."""
    try:
        completion = ctx.client.chat.completions.create(model=ctx.model, **request)
    except openai.BadRequestError:
        return
    except openai.APIStatusError as exc:
        raise CheckFailed(f"{what} answered {describe_error(exc)}; expected HTTP 400") from exc
    except openai.OpenAIError as exc:
        raise CheckFailed(f"{what}: {describe_error(exc)}; expected HTTP 400") from exc
    preview = _answer_text(completion)[:60]
    raise CheckFailed(f"{what} was accepted (HTTP 200, answer {preview!r}); expected HTTP 400")


def require_answer(completion: Any, what: str) -> str:
    text = _answer_text(completion)
    if not text.strip():
        reason = completion.choices[0].finish_reason if completion.choices else "no choices"
        raise CheckFailed(f"{what}: the answer's content is empty (finish_reason={reason})")
    return text


def user_message(text: str, *image_urls: str) -> dict:
    if not image_urls:
        return {"role": "user", "content": text}
    parts: list[dict] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in image_urls]
    return {"role": "user", "content": parts}


# --- the checks ----------------------------------------------------------------------------------


def check_models(ctx: CheckContext) -> None:
    with step("GET /v1/models"):
        ids = [m.id for m in ctx.client.models.list().data]
    if not ids:
        raise CheckFailed("/v1/models lists no model")
    for wanted in dict.fromkeys(m for m in (ctx.model, ctx.expected_model) if m):
        if wanted not in ids:
            raise CheckFailed(f"/v1/models does not list {wanted!r}; it lists {', '.join(ids)}")


def first_listed_model(client: openai.OpenAI) -> str:
    """The model id to test when none was given: the first one the server lists."""
    models = client.models.list().data
    if not models:
        raise CheckFailed("/v1/models lists no model")
    return models[0].id


TEXT_PROMPT = [
    {"role": "system", "content": "You are a helpful assistant"},
    {"role": "user", "content": "Name three primary colours, one per line."},
]


def check_text(ctx: CheckContext) -> None:
    with step("non-streamed system+user chat"):
        require_answer(chat(ctx, messages=TEXT_PROMPT, max_tokens=SHORT_ANSWER_TOKENS), "non-streamed chat")
    with step("streamed system+user chat"):
        streamed = stream_chat(ctx, messages=TEXT_PROMPT, max_tokens=SHORT_ANSWER_TOKENS)
    if not streamed.content.strip():
        raise CheckFailed("streamed chat: no text arrived in delta.content")
    if len(streamed.content_chunks) < 2:
        raise CheckFailed(
            "streamed chat: the whole answer came in a single delta.content chunk; expected it over several"
        )


def check_image_base64(ctx: CheckContext) -> None:
    question = "What colour is this image?"
    for label, mime, image in media.supported_images():
        with step(f"{label} image as a base64 data URL"):
            completion = chat(ctx, messages=[user_message(question, media.data_url(image, mime))], max_tokens=32)
        require_answer(completion, f"{label} image as a base64 data URL")
    # The page lists GIF, JPEG and PNG only: a valid image in another format must be refused.
    expect_bad_request(
        ctx,
        "a BMP image (not one of the supported GIF/JPEG/PNG)",
        messages=[user_message(question, media.data_url(media.bmp(), "image/bmp"))],
        max_tokens=32,
    )


def check_image_url(ctx: CheckContext) -> None:
    if not ctx.image_url:
        raise CheckSkipped("no --image-url given")
    with step(f"image by URL {ctx.image_url}"):
        completion = chat(ctx, messages=[user_message("What is in this image?", ctx.image_url)], max_tokens=64)
    require_answer(completion, f"image by URL {ctx.image_url}")


def check_multi_turn(ctx: CheckContext) -> None:
    opening = user_message("What is the capital of France?")
    reply = {"role": "assistant", "content": "The capital of France is Paris."}
    with step("user/assistant/user conversation"):
        completion = chat(
            ctx,
            messages=[opening, reply, user_message("Roughly how many people live there?")],
            max_tokens=SHORT_ANSWER_TOKENS,
        )
    require_answer(completion, "user/assistant/user conversation")

    expect_bad_request(ctx, "a conversation ending with an assistant message", messages=[opening, reply], max_tokens=16)

    partial = [user_message("Write one sentence about the sea."), {"role": "assistant", "content": "The sea is"}]
    what = "continuing a final assistant message (add_generation_prompt=false, continue_final_message=true)"
    with step(what):
        completion = chat(
            ctx,
            messages=partial,
            max_tokens=SHORT_ANSWER_TOKENS,
            extra_body={"add_generation_prompt": False, "continue_final_message": True},
        )
    if not completion.choices:
        raise CheckFailed(f"{what}: the response has no choices")


REASONING_QUESTION = (
    "A train leaves at 3pm at 60 mph and a second one follows on the same track at 4pm at 80 mph. "
    "When does the second catch up?"
)


def check_reasoning(ctx: CheckContext) -> None:
    question = [user_message(REASONING_QUESTION)]
    with step('streamed chat with reasoning_effort="high"'):
        thinking = stream_chat(
            ctx, messages=question, reasoning_effort="high", max_tokens=REASONING_TOKENS, stop_at_first_content=True
        )
    if not thinking.reasoning:
        raise CheckFailed('reasoning_effort="high": no reasoning text arrived in delta.reasoning')
    if thinking.content_before_reasoning:
        raise CheckFailed('reasoning_effort="high": answer content arrived before the reasoning')

    with step('streamed chat with reasoning_effort="none"'):
        direct = stream_chat(ctx, messages=question, reasoning_effort="none", max_tokens=SHORT_ANSWER_TOKENS * 2)
    if direct.reasoning:
        raise CheckFailed(f'reasoning_effort="none": {len(direct.reasoning)} characters of reasoning still arrived')
    if not direct.content.strip():
        raise CheckFailed('reasoning_effort="none": no answer content arrived')


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "the city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}


def schema_problems(value: Any, schema: dict, where: str = "arguments") -> list[str]:
    """Differences between `value` and the small JSON-schema subset tools are declared with:
    object/properties/required, the scalar types, arrays with items, and enum."""
    kinds: dict[str, Callable[[Any], bool]] = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    expected = schema.get("type")
    if expected in kinds and not kinds[expected](value):
        return [f"{where} should be a {expected}, got {json.dumps(value)}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where} should be one of {schema['enum']}, got {json.dumps(value)}")
    if isinstance(value, dict):
        problems += [f"{where} lacks required key {key!r}" for key in schema.get("required", []) if key not in value]
        for key, sub_schema in schema.get("properties", {}).items():
            if key in value:
                problems += schema_problems(value[key], sub_schema, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += schema_problems(item, schema["items"], f"{where}[{i}]")
    return problems


def check_tools(ctx: CheckContext) -> None:
    tool = WEATHER_TOOL["function"]
    question = user_message("What is the weather like in Paris right now?")
    with step('chat with tools and tool_choice="auto"'):
        completion = chat(ctx, messages=[question], tools=[WEATHER_TOOL], tool_choice="auto", max_tokens=256)
    message = completion.choices[0].message if completion.choices else None
    if message is None or not message.tool_calls:
        text = _answer_text(completion)[:60]
        raise CheckFailed(f'tool_choice="auto": the model answered with text {text!r} instead of a tool call')
    call = message.tool_calls[0]
    if call.function.name != tool["name"]:
        raise CheckFailed(f"the tool call names {call.function.name!r}, not the declared {tool['name']!r}")
    try:
        arguments = json.loads(call.function.arguments)
    except ValueError:
        raise CheckFailed(f"the tool call's arguments are not valid JSON: {call.function.arguments[:80]!r}") from None
    problems = schema_problems(arguments, tool["parameters"])
    if problems:
        raise CheckFailed("the tool call's arguments do not match the declared schema: " + "; ".join(problems))

    # Hand the tool's result back the supported way: a role "tool" message answering the call.
    assistant_turn = {
        "role": "assistant",
        "content": message.content,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
        ],
    }
    result = json.dumps({"city": arguments["city"], "temperature": 18, "unit": "celsius", "conditions": "light rain"})
    tool_turn = {"role": "tool", "tool_call_id": call.id, "content": result}
    with step('sending the tool result back as a role "tool" message'):
        final = chat(
            ctx, messages=[question, assistant_turn, tool_turn], tools=[WEATHER_TOOL], max_tokens=SHORT_ANSWER_TOKENS
        )
    require_answer(final, 'answer after the role "tool" message')

    # The page says role "function" (the SDK's legacy way) is unsupported.
    expect_bad_request(
        ctx,
        'a role "function" message',
        messages=[question, {"role": "function", "name": tool["name"], "content": result}],
        max_tokens=16,
    )


def check_max_images(ctx: CheckContext) -> None:
    n = ctx.max_images
    image = media.data_url(media.png(), "image/png")
    with step(f"{n} images in one request (the limit)"):
        completion = chat(ctx, messages=[user_message("How many images are there?", *[image] * n)], max_tokens=32)
    require_answer(completion, f"{n} images in one request")
    expect_bad_request(
        ctx,
        f"{n + 1} images in one request (one over the limit of {n})",
        messages=[user_message("How many images are there?", *[image] * (n + 1))],
        max_tokens=32,
    )


def check_chat_template(ctx: CheckContext) -> None:
    # Mistral's tokenizer brings its own template; the page says a user-supplied one is refused.
    expect_bad_request(
        ctx,
        "the chat_template request parameter",
        messages=[user_message("Say hello.")],
        max_tokens=16,
        extra_body={"chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"},
    )


# In the order they run: cheap, fundamental checks first.
CHECKS: dict[str, Callable[[CheckContext], None]] = {
    "models": check_models,
    "text": check_text,
    "image-base64": check_image_base64,
    "image-url": check_image_url,
    "multi-turn": check_multi_turn,
    "reasoning": check_reasoning,
    "tools": check_tools,
    "max-images": check_max_images,
    "chat-template": check_chat_template,
}
