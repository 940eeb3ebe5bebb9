"""Response bodies: chat completions (whole or as stream chunks), models, metadata, version."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

from .answers import Answer
from .config import PROFILE_NAME, WRONG_MODEL_ID, SimConfig
from .rules import ChatRequest
from .tokens import split_tokens


def usage(answers: list[Answer]) -> dict:
    """One request's usage: the prompt is counted once, the completions of all n choices add up."""
    prompt = answers[0].prompt_tokens
    completion = sum(answer.completion_tokens for answer in answers)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion_body(request: ChatRequest, answers: list[Answer], cfg: SimConfig, response_id: str) -> dict:
    choices = []
    for index, answer in enumerate(answers):
        content: str | None = answer.content
        if answer.tool_calls:
            content = None
        elif cfg.broken("text"):
            content = ""
        message = {
            "role": "assistant",
            "content": content,
            "reasoning": answer.reasoning,
            "reasoning_content": answer.reasoning,
            "tool_calls": answer.tool_calls,
        }
        choices.append(
            {
                "index": index,
                "message": message,
                "logprobs": None,
                "finish_reason": answer.finish_reason,
                "stop_reason": None,
            }
        )
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": choices,
        "usage": usage(answers),
        "prompt_logprobs": None,
    }


def _pieces(text: str, *, whole: bool = False) -> list[str]:
    if not text:
        return []
    return [text] if whole else split_tokens(text)


def stream_deltas(answer: Answer, cfg: SimConfig) -> Iterator[tuple[dict, str | None]]:
    """(delta, finish_reason) pairs for one choice, in the order vLLM sends them."""
    yield {"role": "assistant", "content": ""}, None
    for piece in _pieces(answer.reasoning or ""):
        yield {"reasoning": piece}, None
    for index, call in enumerate(answer.tool_calls):
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        yield {"tool_calls": [head]}, None
        for piece in _pieces(call["function"]["arguments"]):
            yield {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, None
    for piece in _pieces(answer.content, whole=cfg.broken("stream")):
        yield {"content": piece}, None
    yield {}, answer.finish_reason


def stream_chunks(request: ChatRequest, answers: list[Answer], cfg: SimConfig, response_id: str) -> Iterator[dict]:
    created = int(time.time())

    def chunk(choices: list[dict], **extra: Any) -> dict:
        return {
            "id": response_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": request.model,
            "choices": choices,
            **extra,
        }

    for index, answer in enumerate(answers):
        for delta, finish_reason in stream_deltas(answer, cfg):
            yield chunk([{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])
    if request.include_usage:
        yield chunk([], usage=usage(answers))


def models_body(cfg: SimConfig, created: int) -> dict:
    model_id = WRONG_MODEL_ID if cfg.broken("models") else cfg.served_model_name
    return {
        "object": "list",
        "data": [
            {
                "id": model_id,
                "object": "model",
                "created": created,
                "owned_by": "system",
                "root": model_id,
                "parent": None,
                "max_model_len": cfg.max_model_len,
                "permission": [],
            }
        ],
    }


def metadata_body(cfg: SimConfig) -> dict:
    return {
        "version": cfg.release,
        "modelInfo": [
            {"modelUrl": cfg.model_path or f"ngc://nim/{cfg.served_model_name}", "shortName": cfg.served_model_name}
        ],
        "profile": {"id": profile_id(cfg.served_model_name), "name": PROFILE_NAME},
        "simulated": True,
    }


def profile_id(model: str) -> str:
    return hashlib.sha256(f"{model}:{PROFILE_NAME}".encode()).hexdigest()


def version_body(cfg: SimConfig) -> dict:
    return {"release": cfg.release, "api": "1.0.0"}
