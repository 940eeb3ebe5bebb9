"""The client usages NVIDIA's API page shows for the Mistral Small 4 NIM, each made against the
simulator that `nimctl up` launched on the real engine: curl (plain and streamed), the openai SDK
(plain and streamed) and LangChain's ChatOpenAI with an image. No internet: images are data URLs,
or an URL the simulator serves itself."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from nimctl.smoketest import ALL_CHECKS, media, run_checks
from tests.integration.harness import unavailable

pytestmark = pytest.mark.integration

# The page's image example points at a public URL the NIM downloads. The simulator serves a sample
# image itself; inside its container it listens on the sim profile's container_port, 8000.
IMAGE_URL_SEEN_FROM_THE_CONTAINER = "http://127.0.0.1:8000/static/sample.png"
IMAGE_QUESTION = "What is in this image?"
TEXT_ONLY_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant"},
    {"role": "user", "content": "Plan a three-day walking trip through the Scottish Highlands."},
]


def image_message(url: str) -> dict:
    return {
        "role": "user",
        "content": [{"type": "text", "text": IMAGE_QUESTION}, {"type": "image_url", "image_url": {"url": url}}],
    }


def curl_chat(base_url: str, body: dict, *extra: str) -> str:
    if shutil.which("curl") is None:
        unavailable("curl is not installed")
    completed = subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--fail-with-body",
            "--max-time",
            "60",
            *extra,
            "-X",
            "POST",
            f"{base_url}/v1/chat/completions",
            "-H",
            "Accept: application/json",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps(body),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr + completed.stdout
    return completed.stdout


def test_curl_image_question_by_url(sim_deployment) -> None:
    body = {
        "model": sim_deployment.model,
        "messages": [image_message(IMAGE_URL_SEEN_FROM_THE_CONTAINER)],
        "max_tokens": 1024,
    }
    answer = json.loads(curl_chat(sim_deployment.url, body))
    assert answer["object"] == "chat.completion"
    message = answer["choices"][0]["message"]
    assert message["role"] == "assistant" and message["content"].strip()


def test_curl_streamed_text_only(sim_deployment) -> None:
    body = {"model": sim_deployment.model, "messages": TEXT_ONLY_MESSAGES, "max_tokens": 4096, "stream": True}
    # --no-buffer: print server-sent events as they arrive, as one would watching a stream
    events = [
        line[len("data: ") :]
        for line in curl_chat(sim_deployment.url, body, "--no-buffer").splitlines()
        if line.startswith("data: ")
    ]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    pieces = [p for p in pieces if p]
    assert len(pieces) > 1 and "".join(pieces).strip()


def test_openai_sdk_image_question(sim_deployment) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{sim_deployment.url}/v1", api_key="not-used", max_retries=0, timeout=60)
    chat_response = client.chat.completions.create(
        model=sim_deployment.model,
        messages=[image_message(media.data_url(media.png(), "image/png"))],
        max_tokens=1024,
        stream=False,
    )
    assistant_message = chat_response.choices[0].message
    assert assistant_message.role == "assistant"
    assert assistant_message.content and assistant_message.content.strip()


def test_openai_sdk_streamed_text_only(sim_deployment) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{sim_deployment.url}/v1", api_key="not-used", max_retries=0, timeout=60)
    stream = client.chat.completions.create(
        model=sim_deployment.model, messages=TEXT_ONLY_MESSAGES, max_tokens=4096, stream=True
    )
    pieces = []
    for chunk in stream:
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta and delta.content:
            pieces.append(delta.content)
    assert len(pieces) > 1 and "".join(pieces).strip()


def test_langchain_chat_openai_with_an_image(sim_deployment) -> None:
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model=sim_deployment.model,
        openai_api_base=f"{sim_deployment.url}/v1",
        openai_api_key="not-needed",
        max_retries=0,
        timeout=60,
    )
    message = HumanMessage(
        content=[
            {"type": "text", "text": IMAGE_QUESTION},
            {"type": "image_url", "image_url": {"url": media.data_url(media.jpeg(), "image/jpeg")}},
        ]
    )
    reply = model.invoke([message])
    assert isinstance(reply, AIMessage)
    assert isinstance(reply.content, str) and reply.content.strip()


def test_every_smoke_check_passes_against_the_launched_simulator(sim_deployment) -> None:
    report = run_checks(
        sim_deployment.url,
        model=sim_deployment.model,
        checks=ALL_CHECKS,
        image_url=IMAGE_URL_SEEN_FROM_THE_CONTAINER,
        timeout=30,
    )
    assert report.ok, [(r.name, r.reason) for r in report.results if not r.passed]
    assert not any(r.skipped for r in report.results)
