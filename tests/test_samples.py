"""The hand-written sample streams in ``sample_streams/`` and the recorded real streams.

Each sample is judged under the default ``openai`` profile and must give exactly the findings listed
in ``sample_streams/README.md``: the set of rule ids, the severity of each and how often each
fires, the exit status of ``ssescope check`` and the Codex prediction. The profiles ``codex`` and
``open-responses`` are checked where they judge a sample differently. The recorded streams in
``../shared/real_streams`` (not part of this repository) are checked when they are present.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ssescope import cli
from ssescope.core.capture import SourceError
from ssescope.core.check import check_file
from ssescope.core.checker import CheckOptions
from ssescope.core.codex import MSG_CLOSED, MSG_IDLE
from ssescope.core.rules import RULES

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
REAL = Path(__file__).resolve().parents[2] / "shared" / "real_streams"

ERR, WARN, INFO = "error", "warning", "info"

# sample → {rule: (severity, count)} under the default openai profile.
EXPECTED: dict[str, dict[str, tuple[str, int]]] = {
    "text.sse": {},
    "reasoning.sse": {},
    "function-call.sse": {},
    "parallel-calls.sse": {},
    "crlf-comments.sse": {},
    "delta-object.sse": {
        "delta-not-string": (ERR, 1),
        "text-done-mismatch": (WARN, 1),
        "client-error": (ERR, 3),
        "client-loss": (ERR, 1),
    },
    "call-id-changed.sse": {
        "item-identity-changed": (ERR, 1),
        "client-error": (ERR, 2),
        "client-loss": (ERR, 1),
    },
    "call-id-missing.sse": {
        "call-id-missing": (ERR, 2),
        "client-loss": (ERR, 1),
        "client-error": (ERR, 2),
    },
    "empty-arguments.sse": {"arguments-empty": (WARN, 1)},
    "invalid-arguments.sse": {"arguments-invalid-json": (WARN, 1), "client-error": (ERR, 2)},
    "tool-call-delta.sse": {"unknown-event-type": (ERR, 3), "client-error": (ERR, 2)},
    "minimal-created.sse": {"created-incomplete": (WARN, 1), "client-error": (ERR, 1)},
    # async-openai's serde types require sequence_number; the other clients deliver everything
    "no-sequence-numbers.sse": {"sequence-missing": (ERR, 14), "client-error": (ERR, 1)},
    "stall-after-created.capture.jsonl": {
        "stall-after-created": (WARN, 1),
        "terminal-missing": (ERR, 1),
        "client-hang": (ERR, 6),
    },
    "cut-before-terminal.sse": {
        "terminal-missing": (ERR, 1),
        "item-not-closed": (WARN, 1),
        "client-error": (ERR, 2),
    },
    "error-event.sse": {"error-event": (WARN, 1)},
}
CLEAN = [
    "text.sse",
    "reasoning.sse",
    "function-call.sse",
    "parallel-calls.sse",
    "crlf-comments.sse",
]

# sample → (Codex outcome, the message Codex prints) under default options.
CODEX: dict[str, tuple[str, str]] = {
    "text.sse": ("ok", "The capital of France is Paris."),
    "reasoning.sse": ("ok", "The sum of 1 to 100 is **5050**."),
    "function-call.sse": ("ok", "runs tool call(s): get_weather"),
    "parallel-calls.sse": ("ok", "runs tool call(s): get_weather, get_weather"),
    "crlf-comments.sse": ("ok", "Sure. Here is a haiku:"),
    "delta-object.sse": ("ok", "The answer is 42."),
    "call-id-changed.sse": ("ok", "runs tool call(s): get_weather"),
    "call-id-missing.sse": (
        "empty",
        "exit 0 with nothing shown: no message or tool call survived",
    ),
    "empty-arguments.sse": ("ok", "runs tool call(s): list_files"),
    "invalid-arguments.sse": ("ok", "runs tool call(s): shell"),
    "tool-call-delta.sse": ("ok", "runs tool call(s): get_weather"),
    "minimal-created.sse": ("ok", "Hello! How can I help you today?"),
    "no-sequence-numbers.sse": ("ok", "Two plus two is four."),
    "stall-after-created.capture.jsonl": ("error", MSG_IDLE),
    "cut-before-terminal.sse": ("error", MSG_CLOSED),
    "error-event.sse": ("error", MSG_CLOSED),
}


def _check(path: Path | str, **options: Any) -> dict[str, Any]:
    results = check_file(str(path), CheckOptions(**options))
    assert len(results) == 1, f"{path} holds {len(results)} responses, expected one"
    return results[0]


def _sample(name: str, **options: Any) -> dict[str, Any]:
    return _check(SAMPLES / name, **options)


def _findings(result: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """{rule: (severity, count)}; a rule must fire with one severity throughout."""
    severities: dict[str, set[str]] = {}
    for f in result["findings"]:
        severities.setdefault(f["rule"], set()).add(f["severity"])
    out: dict[str, tuple[str, int]] = {}
    for rule_id, count in result["finding_counts"].items():
        sev = severities.get(rule_id, set())
        assert len(sev) == 1, f"{rule_id} fired with severities {sev}"
        out[rule_id] = (sev.pop(), count)
    return out


def _cli_exit(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``ssescope`` in-process; returns (exit status, stdout, stderr)."""
    status = cli.main(args)
    out, err = capsys.readouterr()
    return status, out, err


def _ssescope_command() -> list[str]:
    script = Path(sys.executable).with_name("ssescope")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ssescope"]


def _frames(path: Path) -> list[tuple[str | None, dict[str, Any]]]:
    """A minimal independent SSE reader: (event line, JSON payload) per data frame."""
    text = path.read_bytes().decode("utf-8").replace("\r\n", "\n")
    frames = []
    for block in text.split("\n\n"):
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data.append(line.removeprefix("data: "))
        if data:
            frames.append((event, json.loads("\n".join(data))))
    return frames


# =============================================================================================
# the samples themselves
# =============================================================================================


def test_every_sample_is_listed_and_documented() -> None:
    on_disk = {p.name for p in SAMPLES.iterdir() if p.suffix in (".sse", ".jsonl")}
    assert on_disk == set(EXPECTED) == set(CODEX)
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for name in on_disk:
        assert f"`{name}`" in readme, f"{name} is missing from sample_streams/README.md"
    for findings in EXPECTED.values():
        assert set(findings) <= set(RULES)


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.endswith(".sse")))
def test_sample_has_openai_wire_shape(name: str) -> None:
    """Independently of the checker: the samples look like OpenAI's wire format, except for the
    one fault each is meant to show."""
    frames = _frames(SAMPLES / name)
    assert frames[0][1]["type"] == "response.created"
    for event, payload in frames:
        assert event == payload["type"]
    seqs = [p.get("sequence_number") for _, p in frames]
    if name == "no-sequence-numbers.sse":
        assert seqs == [None] * len(frames)
    else:
        assert seqs == list(range(len(frames)))
    created = frames[0][1]["response"]
    if name == "minimal-created.sse":
        assert set(created) == {"id", "object", "status"}
    else:
        assert created["output"] == [] and created["usage"] is None and created["metadata"] == {}
    types = [p["type"] for _, p in frames]
    if types[-1] == "response.completed":
        final = frames[-1][1]["response"]
        done_items = [p["item"] for _, p in frames if p["type"] == "response.output_item.done"]
        assert final["output"] == done_items
        usage = final["usage"]
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    for _, p in frames:
        if p["type"] in ("response.output_text.delta", "response.output_text.done"):
            assert p["logprobs"] == []
        if p["type"] == "response.function_call_arguments.done":
            assert "name" not in p  # as OpenAI sends it


def test_crlf_sample_really_uses_crlf_and_comments() -> None:
    raw = (SAMPLES / "crlf-comments.sse").read_bytes()
    assert raw.count(b"\r\n") > 0 and raw.replace(b"\r\n", b"").count(b"\n") == 0
    assert raw.count(b": keepalive\r\n\r\n") == 4


# =============================================================================================
# openai profile: exact findings, exit status, Codex prediction
# =============================================================================================


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_findings_openai(name: str) -> None:
    result = _sample(name)
    assert result["profile"] == "openai"
    assert _findings(result) == EXPECTED[name]
    errors = sum(n for sev, n in EXPECTED[name].values() if sev == ERR)
    warnings = sum(n for sev, n in EXPECTED[name].values() if sev == WARN)
    assert result["summary"]["errors"] == errors
    assert result["summary"]["warnings"] == warnings


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_exit_status(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _cli_exit(["check", str(SAMPLES / name), "--json"], capsys)
    has_errors = any(sev == ERR for sev, _ in EXPECTED[name].values())
    assert status == (1 if has_errors else 0), err
    assert json.loads(out)["finding_counts"] == {r: n for r, (_, n) in EXPECTED[name].items()}


@pytest.mark.parametrize("name", sorted(CODEX))
def test_sample_codex_prediction(name: str) -> None:
    codex = _sample(name)["codex"]
    outcome, message = CODEX[name]
    assert (codex["outcome"], codex["message"]) == (outcome, message)
    # Codex retries a turn only when the stream broke, never for a finished one.
    assert codex["retried"] is (outcome == "error")


@pytest.mark.parametrize("name", CLEAN)
def test_clean_sample_is_clean_in_openai_and_codex(name: str) -> None:
    for profile in ("openai", "codex"):
        result = _sample(name, profile=profile)
        assert result["findings"] == [], profile
        assert result["summary"]["errors"] == result["summary"]["warnings"] == 0
        assert result["response"]["status"] == "completed"
        assert result["end"]["reason"] == "eof"


@pytest.mark.parametrize("name", CLEAN)
def test_clean_sample_lacks_done_under_open_responses(name: str) -> None:
    """OpenAI-shaped samples: no [DONE], and Responses without the fields Open Responses
    requires (penalties, top_logprobs, service_tier, …) in created, in_progress and the end."""
    result = _sample(name, profile="open-responses")
    assert _findings(result) == {"done-sentinel": (ERR, 1), "open-responses-field": (ERR, 3)}


@pytest.mark.slow
def test_cli_subprocess_clean_sample_exits_0() -> None:
    proc = subprocess.run(
        [*_ssescope_command(), "check", str(SAMPLES / "function-call.sse")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "function-call.sse" in proc.stdout
    assert "Codex" in proc.stdout


@pytest.mark.slow
def test_cli_subprocess_stall_json_codex_profile() -> None:
    proc = subprocess.run(
        [
            *_ssescope_command(),
            "check",
            str(SAMPLES / "stall-after-created.capture.jsonl"),
            "--json",
            "--profile",
            "codex",
            "--codex-idle-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["format"] == "capture"
    assert doc["profile"] == "codex"
    assert doc["finding_counts"] == {
        "stall-after-created": 1,
        "terminal-missing": 1,
        "codex-idle-timeout": 1,
    }
    assert doc["codex"]["outcome"] == "error"
    assert doc["codex"]["message"] == MSG_IDLE


# =============================================================================================
# what each fault sample shows, in detail
# =============================================================================================


def test_function_call_without_name_on_arguments_done_is_not_flagged() -> None:
    result = _sample("function-call.sse")
    assert result["findings"] == []
    (call,) = result["response"]["output"]
    assert call["type"] == "function_call" and call["name"] == "get_weather"
    assert call["arguments"] == '{"city":"San Francisco"}'


def test_parallel_calls_keep_their_own_call_ids() -> None:
    output = _sample("parallel-calls.sse")["response"]["output"]
    assert [(o["call_id"], json.loads(o["arguments"])) for o in output] == [
        ("call_Jm4PqW8rT2xVn6Ys0bKd3LfA", {"city": "Paris"}),
        ("call_Hs9DkE1uZ5cNb7Rw2gTy4QxM", {"city": "Tokyo"}),
    ]


def test_reasoning_sample_summary_is_reconstructed() -> None:
    result = _sample("reasoning.sse")
    reasoning, message = result["response"]["output"]
    assert [s["text"].split("**")[1] for s in reasoning["summary"]] == [
        "Recalling the formula",
        "Computing for n = 100",
    ]
    assert message["content"][0]["text"] == "The sum of 1 to 100 is **5050**."
    assert result["response"]["usage"]["output_tokens_details"]["reasoning_tokens"] == 192


def test_crlf_comments_are_counted_not_judged() -> None:
    result = _sample("crlf-comments.sse")
    assert result["timing"]["comments"] == 4
    assert result["summary"]["rows"] == result["summary"]["events"] + 4


def test_crlf_sample_split_at_every_cr_gives_the_same_judgement(tmp_path: Path) -> None:
    """Every CRLF straddles two chunks: framing must not depend on where chunks end."""
    raw = (SAMPLES / "crlf-comments.sse").read_bytes()
    pieces = [p + b"\r" for p in raw.split(b"\r")]
    pieces[-1] = pieces[-1][:-1]
    assert b"".join(pieces) == raw
    header = {
        "format": "ssescope-capture",
        "version": 1,
        "created": "2025-06-12T00:00:00+00:00",
        "tool": "ssescope 0.1.0",
        "request": {"method": "POST", "url": "http://127.0.0.1:8000/v1/responses"},
        "response": {
            "status": 200,
            "reason": "OK",
            "http_version": "HTTP/1.1",
            "headers": {"content-type": "text/event-stream"},
            "t": 0.01,
        },
    }
    lines = [json.dumps(header)]
    lines += [
        json.dumps({"t": 0.02 + i / 1000, "text": p.decode()}) for i, p in enumerate(pieces) if p
    ]
    lines.append(json.dumps({"t": 1.0, "end": "eof"}))
    capture = tmp_path / "crlf-split.capture.jsonl"
    capture.write_text("\n".join(lines) + "\n", encoding="utf-8")
    split = _check(capture)
    whole = _sample("crlf-comments.sse")
    assert split["format"] == "capture"
    assert split["findings"] == whole["findings"] == []
    assert split["summary"] == whole["summary"]
    assert split["response"]["output"] == whole["response"]["output"]


def test_delta_object_sample() -> None:
    result = _sample("delta-object.sse")
    (bad,) = [f for f in result["findings"] if f["rule"] == "delta-not-string"]
    assert bad["sequence_number"] == 7
    assert "object" in bad["message"]
    # The text from output_text.done / output_item.done wins in the reconstruction.
    assert result["response"]["output"][0]["content"][0]["text"] == "The answer is 42."
    codex = _sample("delta-object.sse", profile="codex")
    assert _findings(codex) == {
        "delta-not-string": (WARN, 1),
        "codex-event-dropped": (WARN, 1),
        "text-done-mismatch": (INFO, 1),
    }
    assert codex["codex"]["detail"] == ["1 event(s) skipped (undecodable)"]


def test_call_id_changed_sample() -> None:
    (finding,) = [
        f
        for f in _sample("call-id-changed.sse")["findings"]
        if f["rule"] == "item-identity-changed"
    ]
    assert "call_8fK2mNq4Rt6Vx0Za3Bc5De7G" in finding["message"]
    assert "call_Yp1Lw3Hs5Jk7Nm9Qr2Tv4Xz6" in finding["message"]
    # Codex uses only the .done item: not its problem.
    codex = _sample("call-id-changed.sse", profile="codex")
    assert _findings(codex) == {"item-identity-changed": (INFO, 1)}
    assert codex["summary"]["errors"] == 0


def test_call_id_missing_sample_codex_runs_nothing() -> None:
    result = _sample("call-id-missing.sse", profile="codex")
    assert _findings(result) == {"call-id-missing": (ERR, 2), "codex-item-dropped": (ERR, 1)}
    assert result["codex"]["outcome"] == "empty"
    assert result["codex"]["detail"] == ["1 output item(s) dropped silently"]


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("empty-arguments.sse", "arguments-empty"),
        ("invalid-arguments.sse", "arguments-invalid-json"),
    ],
)
def test_bad_arguments_are_codex_errors(
    name: str, rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A warning for OpenAI clients, but Codex answers the model with a parse error."""
    result = _sample(name, profile="codex")
    assert _findings(result) == {rule: (ERR, 1)}
    # Codex still dispatches the call (the tool itself fails), so the turn is not lost.
    assert result["codex"]["outcome"] == "ok"
    status, _, _ = _cli_exit(["check", str(SAMPLES / name), "--profile", "codex"], capsys)
    assert status == 1
    # Under the default profile only the AI SDK, which parses tool input, fails on invalid JSON.
    ai_sdk_fails = rule == "arguments-invalid-json"
    assert _cli_exit(["check", str(SAMPLES / name)], capsys)[0] == (1 if ai_sdk_fails else 0)


def test_tool_call_delta_sample_names_the_invention() -> None:
    result = _sample("tool-call-delta.sse")
    messages = {f["message"] for f in result["findings"] if f["rule"] != "client-error"}
    assert len(messages) == 1
    assert "response.tool_call.delta" in messages.pop()
    assert _findings(_sample("tool-call-delta.sse", profile="codex")) == {
        "unknown-event-type": (INFO, 3)
    }
    assert _findings(_sample("tool-call-delta.sse", profile="open-responses")) == {
        "unknown-event-type": (ERR, 3),
        "done-sentinel": (ERR, 1),
        "client-error": (ERR, 2),  # openai-node, async-openai: an event type they do not know
        "open-responses-field": (ERR, 3),
    }


def test_minimal_created_sample_lists_what_is_missing() -> None:
    (finding, ai_sdk) = _sample("minimal-created.sse")["findings"]
    assert ai_sdk["rule"] == "client-error" and "created_at" in ai_sdk["message"]
    assert finding["event_index"] == 0
    for field in ("created_at", "model", "output", "tools", "parallel_tool_calls"):
        assert field in finding["message"]
    assert _findings(_sample("minimal-created.sse", profile="codex")) == {
        "created-incomplete": (INFO, 1)
    }


def test_no_sequence_numbers_sample_is_harmless_to_codex() -> None:
    result = _sample("no-sequence-numbers.sse", profile="codex")
    assert _findings(result) == {"sequence-missing": (INFO, 14)}
    assert result["summary"]["errors"] == 0


def test_stall_sample_timing() -> None:
    result = _sample("stall-after-created.capture.jsonl")
    assert result["format"] == "capture"
    assert result["http"]["status"] == 200
    assert result["end"] == {"t": 60.0517, "reason": "max-wait", "error": None}
    timing = result["timing"]
    assert timing["time_to_created"] == pytest.approx(0.0493)
    assert timing["time_to_first_content"] is None
    assert timing["comments"] == 11
    assert timing["events"] == 2
    assert timing["since_last_event"] == pytest.approx(60.0)
    assert timing["since_last_byte"] == pytest.approx(5.0)
    (stall,) = [f for f in result["findings"] if f["rule"] == "stall-after-created"]
    assert stall["message"].startswith("60.0 s of nothing after response.created")
    assert "comments/keep-alives" in stall["message"]
    (cut,) = [f for f in result["findings"] if f["rule"] == "terminal-missing"]
    assert "--max-wait" in cut["message"]


def test_stall_sample_below_stall_warn_is_not_a_stall() -> None:
    result = _sample("stall-after-created.capture.jsonl", stall_warn=120)
    assert _findings(result) == {"terminal-missing": (ERR, 1), "client-hang": (ERR, 6)}


def test_stall_sample_codex_idle_timeout() -> None:
    # Default 300 s: the read stopped at 60 s, and Codex would still be waiting, then time out.
    default = _sample("stall-after-created.capture.jsonl", profile="codex")
    assert "codex-idle-timeout" not in default["finding_counts"]
    assert default["codex"]["message"] == MSG_IDLE
    assert any("300 s" in d for d in default["codex"]["detail"])
    # A 30 s idle timeout is shorter than the silence: Codex gives up. Comments do not help.
    for profile in ("openai", "codex"):
        result = _sample(
            "stall-after-created.capture.jsonl", profile=profile, codex_idle_timeout=30
        )
        assert result["codex"]["outcome"] == "error"
        assert result["codex"]["message"] == MSG_IDLE
        assert result["codex"]["retried"] is True
    assert _findings(result) == {
        "stall-after-created": (WARN, 1),
        "terminal-missing": (ERR, 1),
        "codex-idle-timeout": (ERR, 1),
    }


def test_stall_then_eof_still_hits_codex_idle_timeout(tmp_path: Path) -> None:
    """The stall sample, but the server closes the connection at 60 s instead of the read
    stopping. Codex (idle timeout 30 s, comments do not reset it) times out at ~30 s and never
    sees the EOF (codex-behaviour.md §3.2, §6.1, §7)."""
    text = (SAMPLES / "stall-after-created.capture.jsonl").read_text(encoding="utf-8")
    assert text.count('"end":"max-wait"') == 1
    capture = tmp_path / "stall-then-eof.capture.jsonl"
    capture.write_text(text.replace('"end":"max-wait"', '"end":"eof"'), encoding="utf-8")
    result = _check(capture, profile="codex", codex_idle_timeout=30)
    assert result["end"]["reason"] == "eof"
    assert result["codex"]["message"] == MSG_IDLE
    assert result["finding_counts"].get("codex-idle-timeout") == 1


def test_cut_sample() -> None:
    result = _sample("cut-before-terminal.sse")
    assert result["response"]["status"] == "in_progress"
    assert (
        result["response"]["output"][0]["content"][0]["text"]
        == "To install the package, run `pip install"
    )
    codex = _sample("cut-before-terminal.sse", profile="codex")
    assert _findings(codex) == {
        "terminal-missing": (ERR, 1),
        "item-not-closed": (WARN, 1),
        "codex-text-lost": (ERR, 1),
    }
    assert _findings(_sample("cut-before-terminal.sse", profile="open-responses")) == {
        "terminal-missing": (ERR, 1),
        "item-not-closed": (ERR, 1),
        "done-sentinel": (ERR, 1),
        "client-error": (ERR, 2),
        "open-responses-field": (ERR, 2),
    }


def test_error_event_sample_by_profile(capsys: pytest.CaptureFixture[str]) -> None:
    # openai: OpenAI itself may end right after `error` (WIRE 8): a warning, exit 0.
    (finding,) = _sample("error-event.sse")["findings"]
    assert finding["message"] == (
        "error (nested form): server_error: The server had an error while processing your "
        "request. Sorry about that!"
    )
    assert _cli_exit(["check", str(SAMPLES / "error-event.sse")], capsys)[0] == 0
    # codex: the message is never shown, the turn fails as a plain disconnect.
    codex = _sample("error-event.sse", profile="codex")
    assert _findings(codex) == {
        "error-event": (ERR, 1),
        "terminal-missing": (ERR, 1),
        "codex-error-hidden": (ERR, 1),
    }
    assert codex["codex"]["message"] == MSG_CLOSED
    # open-responses: response.failed must follow an error.
    assert _findings(_sample("error-event.sse", profile="open-responses")) == {
        "error-event": (WARN, 1),
        "error-not-followed-by-failed": (ERR, 1),
        "done-sentinel": (ERR, 1),
        "open-responses-field": (ERR, 2),
    }


# =============================================================================================
# recorded real streams (../shared/real_streams, not in this repository)
# =============================================================================================

needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"recorded streams not found at {REAL} (shared/ is not checked out)"
)

CLEAN_REAL = [
    "vercel-ai_azure-text.1.chunks.txt",
    "vercel-ai_azure-tool-call.1.chunks.txt",
    "vercel-ai_azure-reasoning-encrypted-content.1.chunks.txt",
    "vercel-ai_azure-web-search-preview-tool.1.chunks.txt",
    "vercel-ai_openai-error.1.chunks.txt",
    "vercel-ai_openai-reasoning-encrypted-content.1.chunks.txt",
    "vercel-ai_openai-web-search-tool.1.chunks.txt",
    "vercel-ai_openai-code-interpreter-tool.1.chunks.txt",
    "vercel-ai_openai-mcp-tool.1.chunks.txt",
]


def _manifest() -> dict[str, str]:
    """The recorded streams listed in MANIFEST.tsv, by file name, with their format column (a
    request body recorded beside a stream, such as ``*.request.json``, is not a stream)."""
    rows = (REAL / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return {cols[0]: cols[4] for cols in (row.split("\t") for row in rows) if len(cols) > 4}


def _real_files() -> list[Path]:
    return sorted(REAL / name for name in _manifest() if (REAL / name).is_file())


def _is_chat(path: Path) -> bool:
    return "chat" in _manifest()[path.name]


@pytest.mark.real_streams
@needs_real
def test_real_azure_files_are_all_listed_as_clean() -> None:
    azure = {p.name for p in REAL.glob("vercel-ai_azure-*.chunks.txt")}
    assert azure and azure <= set(CLEAN_REAL)


@pytest.mark.real_streams
@needs_real
@pytest.mark.parametrize("name", CLEAN_REAL)
def test_real_clean_streams_have_no_errors(name: str) -> None:
    results = check_file(str(REAL / name), CheckOptions())
    for r in results:
        errors = [f for f in r["findings"] if f["severity"] == ERR]
        assert errors == [], f"{name} stream {r.get('stream', 0)}: {errors[:3]}"
        assert r["summary"]["errors"] == 0
    if "encrypted-content" in name:
        assert len(results) == 4  # four concatenated responses of an agent loop
    else:
        assert len(results) == 1


@pytest.mark.real_streams
@needs_real
def test_real_openai_error_stream() -> None:
    result = _check(REAL / "vercel-ai_openai-error.1.chunks.txt")
    assert _findings(result) == {"error-event": (WARN, 1)}
    assert result["codex"]["outcome"] == "error"
    assert result["codex"]["message"].startswith("quota exceeded (insufficient_quota): ")


@pytest.mark.real_streams
@needs_real
def test_real_openai_phase_trimmed_fixture() -> None:
    """The fixture's authors cut most deltas (sequence gaps) and one item; the checker sees it."""
    result = _check(REAL / "vercel-ai_openai-phase.1.chunks.txt")
    assert _findings(result) == {
        "sequence-gap": (WARN, 3),
        "output-index-not-appended": (ERR, 1),
        "text-done-mismatch": (WARN, 2),
        "created-incomplete": (WARN, 2),
        "field-missing": (ERR, 9),
        "logprobs-missing": (WARN, 4),
        # the SDKs return the .done texts, which the trimmed deltas do not add up to
        "client-loss": (ERR, 2),
    }


@pytest.mark.real_streams
@needs_real
def test_real_github_copilot_id_rotation() -> None:
    result = _check(REAL / "vercel-ai_github-copilot-id-rotation.1.chunks.txt")
    mismatches = [f for f in result["findings"] if f["rule"] == "item-id-mismatch"]
    assert mismatches
    assert {f["severity"] for f in mismatches} == {ERR}
    assert result["finding_counts"]["item-id-mismatch"] >= len(mismatches)


@pytest.mark.real_streams
@needs_real
def test_real_stitched_incomplete_stream_is_a_negative_case() -> None:
    result = _check(REAL / "vercel-ai_inline-incomplete-stitched.sse")
    assert result["summary"]["errors"] > 0
    assert {"response-id-mismatch", "item-id-mismatch", "text-done-mismatch"} <= set(
        result["finding_counts"]
    )
    assert result["codex"] == {
        "outcome": "error",
        "message": "Incomplete response returned, reason: max_output_tokens",
        "detail": [],
        "retried": False,
    }


@pytest.mark.real_streams
@needs_real
def test_every_real_responses_stream_is_judged(capsys: pytest.CaptureFixture[str]) -> None:
    responses = [p for p in _real_files() if not _is_chat(p)]
    assert len(responses) >= len(CLEAN_REAL) + 2
    for path in responses:
        results = check_file(str(path), CheckOptions())
        assert results, path.name
        for r in results:
            assert r["events"] > 0, path.name
            assert r["codex"]["outcome"] in ("ok", "empty", "error"), path.name
            assert r["response"]["status"] in ("completed", "failed", "incomplete"), path.name
        status, out, err = _cli_exit(["check", str(path), "--json"], capsys)
        has_errors = any(r["summary"]["errors"] for r in results)
        assert status == (1 if has_errors else 0), f"{path.name}: {err}"
        assert json.loads(out)["summary"]["errors"] == sum(r["summary"]["errors"] for r in results)


@pytest.mark.real_streams
@needs_real
def test_real_chat_streams_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    chat = [p for p in _real_files() if _is_chat(p)]
    assert len(chat) >= 10
    for path in chat:
        with pytest.raises(SourceError, match="Chat Completions stream"):
            check_file(str(path), CheckOptions())
        status, out, err = _cli_exit(["check", str(path)], capsys)
        assert status == 2, path.name
        assert out == ""
        assert err.count("\n") == 1 and err.startswith("ssescope: "), err
        assert "Chat Completions stream" in err


@pytest.mark.real_streams
@needs_real
@pytest.mark.slow
def test_real_chat_stream_refused_by_the_cli_subprocess() -> None:
    path = REAL / "openai-python_chat_text_e2aad469b71d.sse"
    proc = subprocess.run(
        [*_ssescope_command(), "check", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Chat Completions stream" in lines[0]
