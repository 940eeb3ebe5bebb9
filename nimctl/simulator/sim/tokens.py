"""Token counting, word-ish: what the usage numbers and the context-length check are built on."""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the annotation: rules.py imports this module
    from .rules import ChatRequest

_TOKEN_RE = re.compile(r"\s*\S+|\s+$")


def split_tokens(text: str) -> list[str]:
    """Word-ish tokens that join back to the text exactly."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    return len(split_tokens(text))


def count_prompt_tokens(request: ChatRequest) -> int:
    total = 0
    for message in request.messages:
        total += 3 + count_tokens(message.text)  # role markers
        total += sum(count_tokens(json.dumps(call)) for call in message.tool_calls)
    for image in request.images:
        info = image.info
        # Pixtral-like: one token per 16x16 patch, at least one
        total += max(1, math.ceil((info.width or 16) / 16) * math.ceil((info.height or 16) / 16)) if info else 1
    total += sum(count_tokens(json.dumps(tool.parameters)) + 3 for tool in request.tools)
    return total
