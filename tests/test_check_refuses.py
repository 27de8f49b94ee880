"""``check`` refuses what is not a Responses stream, as it refuses a chat ``.sse``: the proxy's
``GET /v1/models`` captures and the ``.chat.jsonl`` it records beside a translated stream get
one line on stderr and exit 2, never a judgement full of nonsense findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.engine.helpers import FakeUpstream, UpstreamConn, text_stream
from tests.proxy.helpers import Request, Upstream, fetch, response_events, running_proxy

BODY = {"model": "m", "input": "hi", "stream": True}
REFUSED = "ssescope check judges Responses API streams (POST …/responses)"


async def _models_and_stream(request: Request) -> None:
    if request.method == "GET":
        await request.reply(200, b'{"object": "list", "data": [{"id": "m", "object": "model"}]}')
        return
    await request.stream(response_events("hello"))


async def _chat(conn: UpstreamConn) -> None:
    await conn.stream(text_stream("hello", "there"))


def _one_line_refusal(got: Any, path: Path, what: str) -> None:
    assert got.returncode == 2 and got.stdout == ""
    assert got.stderr.count("\n") == 1 and what in got.stderr and REFUSED in got.stderr
    assert str(path) in got.stderr


async def test_a_models_exchange_is_refused_and_a_responses_one_judged(
    tmp_path: Path, cli: Any
) -> None:
    async with (
        Upstream(_models_and_stream) as upstream,
        running_proxy(upstream.url, tmp_path) as proxy,
    ):
        await fetch("GET", f"{proxy.url}/models")
        await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        await proxy.ended(2)
    models, responses = sorted(proxy.record_dir.glob("*.jsonl"))
    _one_line_refusal(cli("check", str(models)), models, "records GET /v1/models")
    _one_line_refusal(cli("check", str(models), "--json"), models, "records GET /v1/models")
    judged = cli("check", str(responses), "--json")
    assert judged.returncode == 0 and json.loads(judged.stdout)["codex"]["outcome"] == "ok"


async def test_the_chat_capture_beside_a_translated_stream_is_refused(
    tmp_path: Path, cli: Any
) -> None:
    async with (
        FakeUpstream(_chat) as upstream,
        running_proxy(upstream.url, tmp_path, translate=True) as proxy,
    ):
        got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        await proxy.ended()
    assert got.status == 200
    (chat,) = proxy.record_dir.glob("*.chat.jsonl")
    _one_line_refusal(
        cli("check", str(chat)), chat, "records POST /v1/chat/completions, a Chat Completions"
    )
    (responses,) = set(proxy.record_dir.glob("*.jsonl")) - {chat}
    assert cli("check", str(responses)).returncode == 0
