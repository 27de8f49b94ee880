"""``check`` on a terminal shows how far it is; a pipe or --json gets nothing extra."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from ssescope.cli import progress
from ssescope.core.check import check_file
from ssescope.core.checker import CheckOptions

SAMPLE = Path(__file__).resolve().parents[1] / "sample_streams" / "text.sse"


def big_stream(tmp_path: Path, copies: int) -> Path:
    """One long raw stream: the sample's events repeated (a multi-megabyte file)."""
    body = SAMPLE.read_bytes()
    path = tmp_path / "big.sse"
    path.write_bytes(body * copies)
    return path


def test_the_core_reports_bytes_and_events_as_it_reads(tmp_path: Path) -> None:
    path = big_stream(tmp_path, 1500)
    seen: list[tuple[int, int]] = []
    check_file(str(path), CheckOptions(), progress=lambda read, events: seen.append((read, events)))
    assert len(seen) >= 2
    assert [r for r, _ in seen] == sorted(r for r, _ in seen)  # never goes back
    assert seen[-1][0] <= path.stat().st_size
    assert seen[-1][1] > seen[0][1]


def test_the_display_draws_on_a_terminal_and_disappears(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    path = big_stream(tmp_path, 10)
    with progress.shown(str(path), enabled=True, console=console) as report:
        assert report is not None
        report(path.stat().st_size // 2, 123)
    assert "big.sse" in out.getvalue()


def test_nothing_extra_for_json_or_a_pipe() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert progress.wanted(False, Tty())
    assert not progress.wanted(True, Tty())  # --json
    assert not progress.wanted(False, io.StringIO())  # a pipe
    with progress.shown("x", enabled=False) as report:
        assert report is None


def test_check_json_prints_only_the_document(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = big_stream(tmp_path, 50)
    result = cli("check", str(path), "--json")
    assert result.stderr == ""
    assert result.stdout.lstrip().startswith("{")


def test_a_live_read_reports_what_arrived(scripted) -> None:  # type: ignore[no-untyped-def]
    from ssescope.cli.check import check_url
    from ssescope.core.live import build_request
    from tests.support.server import Script

    body = SAMPLE.read_bytes()
    server = scripted(Script(chunks=[body[: len(body) // 2], 0.3, body[len(body) // 2 :]]))
    seen: list[tuple[int, int]] = []
    result = check_url(
        build_request(server.url, model="m", input_text="hi"),
        CheckOptions(),
        max_wait=5,
        grace=0,
        progress_report=lambda read, events: seen.append((read, events)),
    )
    assert result["summary"]["events"] > 0
    assert seen and max(r for r, _ in seen) > 0  # counts told while the read ran
