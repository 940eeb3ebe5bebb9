"""Stand-in for your application's own tests: they ask nimctl's pytest plugin for a NIM.

`nim` is started once per session (or reused when already running and ready) and removed at the
end only if this run started it; `nim_client` is an `openai.OpenAI` pointed at it.
"""


def test_the_model_answers(nim, nim_client):
    reply = nim_client.chat.completions.create(
        model=nim.model,
        messages=[{"role": "user", "content": "Name one primary colour."}],
        max_tokens=32,
    )
    assert reply.choices[0].message.content.strip()


def test_the_answer_streams(nim, nim_client):
    stream = nim_client.chat.completions.create(
        model=nim.model,
        messages=[{"role": "user", "content": "Count to three."}],
        max_tokens=32,
        stream=True,
    )
    chunks = [chunk.choices[0].delta.content for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
    assert len(chunks) > 1
