"""What a user reads when an argument is wrong: one line, named after the command once (never
``ssescope: ssescope connect: …``), saying what is wrong with the value, exit 2."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_streams" / "text.sse"


def _one_line(got: Any, command: str, *parts: str) -> str:
    assert got.returncode == 2 and got.stdout == ""
    line: str = got.stderr
    assert line.count("\n") == 1 and line.startswith(f"ssescope {command}: "), line
    assert "ssescope: ssescope" not in line and "Traceback" not in line
    for part in parts:
        assert part in line, line
    return line


def test_connect_without_a_url_names_the_command_once(cli: Any) -> None:
    _one_line(cli("connect"), "connect", "give a URL, or --via-engine UPSTREAM")


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (["demo", "--fault", "nosuch"], "unknown fault 'nosuch'"),
        (["connect", "http://127.0.0.1:1/v1", "--gpu", "bogus"], "--gpu 'bogus'"),
        (
            ["connect", "--via-engine", "http://h:1/v1", "--api-key-env", "SSESCOPE_UNSET_X"],
            "--api-key-env SSESCOPE_UNSET_X: the variable is not set",
        ),
        (["engine", "--mock", "--fault", "nosuch"], "unknown fault 'nosuch'"),
    ],
)
def test_bad_options_name_their_command_once(cli: Any, argv: list[str], what: str) -> None:
    _one_line(cli(*argv), argv[0], what)


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "ftp:/example.com/x"],
        ["connect", "ftp:/example.com/x"],
        ["connect", "--via-engine", "ftp:/example.com/x"],
        ["proxy", "--upstream", "ftp:/example.com/x"],
        ["engine", "--upstream", "ftp:/example.com/x"],
    ],
)
def test_a_non_http_url_is_called_what_it_is(cli: Any, argv: list[str]) -> None:
    _one_line(cli(*argv), argv[0], "'ftp:/example.com/x'", "not an http(s) URL", "not ftp:")


@pytest.mark.parametrize("url", ["http:/example.com/v1", "http://", "https:///v1"])
def test_a_url_without_a_host_says_so(cli: Any, url: str) -> None:
    for argv in (["check", url], ["connect", url], ["proxy", "--upstream", url]):
        _one_line(cli(*argv), argv[0], "no host in the URL", "http://HOST[:PORT]/")


def test_check_dash_on_a_terminal_says_to_pipe(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    _one_line(cli("check", "-"), "check", "standard input is a terminal", "cat stream.sse |")


def test_a_file_whose_name_looks_like_a_scheme_is_still_a_file(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("ab:c.sse").write_bytes(SAMPLE.read_bytes())
    got = cli("check", "ab:c.sse", "--json")
    assert got.returncode == 0, got.stderr
