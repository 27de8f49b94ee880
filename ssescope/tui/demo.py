"""``ssescope demo``: the mock backend and the engine in-process, and the picker of what the mock
does next (a scenario, or a fault from the field)."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from .actions import Offer
from .config import AppConfig
from .modes import Host, LiveMode

DEMO_SCENARIOS = {
    "text": "a short text answer",
    "reasoning": "reasoning, then the answer",
    "tool": "one tool call",
    "parallel": "two tool calls",
    "refusal": "a refusal",
    "length": "an answer cut by max_output_tokens (response.incomplete)",
}
DEMO_PROMPTS = {
    "text": "Say hello.",
    "reasoning": "Think about it, then say hello.",
    "tool": "Run `echo hello` for me.",
    "parallel": "Check the weather in two cities in parallel.",
    "refusal": "Please refuse this.",
    "length": "Write something long.",
}

Choice = tuple[str, str | None]
"""("scenario" | "fault", its name)."""


class DemoPicker(ModalScreen[Choice | None]):
    """Pick what the embedded mock server should do next: a scenario, or a fault to inject."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Close")]

    def compose(self) -> ComposeResult:
        from ..engine.faults import FAULTS

        options: list[Option] = [Option(Text("Scenarios", "bold"), disabled=True)]
        options += [
            Option(Text(f"  {name}: {what}"), id=f"s:{name}")
            for name, what in DEMO_SCENARIOS.items()
        ]
        options.append(
            Option(Text("Faults from the field (on a matching scenario)", "bold"), disabled=True)
        )
        options += [
            Option(Text(f"  {f.name} ({f.side}): {f.does}"), id=f"f:{f.name}")
            for f in FAULTS.values()
        ]
        with Vertical(id="picker"):
            yield Static(
                "Next session: pick a scenario or a fault (Enter), Esc to close", id="picker-title"
            )
            yield OptionList(*options, id="picker-list")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        kind, _, name = (event.option.id or "").partition(":")
        self.dismiss(("scenario", name) if kind == "s" else ("fault", name))


class DemoMode(LiveMode):
    """Every session goes to the embedded mock (through the engine); `d` picks the next one."""

    title = "demo"

    def __init__(self, config: AppConfig, host: Host) -> None:
        super().__init__(config, host)
        self.offers = frozenset({Offer.RESEND, Offer.PICK})
        self._demo_stop = asyncio.Event()
        self._base_url = ""

    def start(self) -> None:
        self.host.start_worker(self._serve_mock(), group="demo")

    def stop(self) -> None:
        self._demo_stop.set()
        super().stop()

    async def _serve_mock(self) -> None:
        """The mock backend and the engine, in-process, for as long as the app runs."""
        from ..engine.serve import mock_engine

        async with mock_engine(delay=self.config.demo_delay) as base_url:
            self._base_url = base_url
            self.session(self.config.demo_scenario, self.config.demo_faults)
            await self._demo_stop.wait()

    def session(self, scenario: str, faults: tuple[str, ...]) -> None:
        """A new session in which the mock plays ``scenario`` with ``faults`` injected."""
        from ..core.live import build_request

        model = "mock-" + scenario + "".join(f"+{f}" for f in faults)
        self.config.spec = build_request(
            self._base_url, model=model, input_text=DEMO_PROMPTS.get(scenario, "Say hello.")
        )
        self.send()

    def pick(self) -> None:
        """Ask which scenario or fault comes next, and start that session."""

        def chosen(choice: Choice | None) -> None:
            if choice is None:
                return
            kind, name = choice
            if kind == "scenario" and name:
                self.session(name, ())
            elif name:
                self.session(_scenario_for_fault(name), (name,))

        self.host.ask(DemoPicker(), chosen)


def _scenario_for_fault(fault: str) -> str:
    """A scenario on which ``fault`` shows (a tool fault needs a tool call, …)."""
    if (
        "call" in fault
        or "arguments" in fault
        or fault in ("args-before-name", "empty-id-continuation", "one-chunk-call")
    ):
        return "parallel" if fault == "interleaved-calls" else "tool"
    if fault == "incomplete-in-completed":
        return "length"
    return "text"
