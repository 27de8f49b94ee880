"""``ssescope demo``: the mock backend and the engine in-process, and the picker of what the mock
does next (a scenario, or a fault from the field)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

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

if TYPE_CHECKING:
    from ..core.live import RequestSpec
    from ..core.run import Run
    from ..engine.simulated import SimulatedServer

DEMO_PREFILL = 20.0
"""Seconds of the simulated prefill under ``slow-first-token``: longer than the stall warning
(10 s by default), so the diagnosis has time to show."""
DEMO_POLL = 0.5
"""Seconds between polls of the simulated server and GPU."""

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
    """Pick what the embedded mock server should do next: a scenario, or a fault to inject, each
    fault with what it shows (as ``ssescope engine --list-faults`` prints it)."""

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
        for f in FAULTS.values():
            prompt = Text(f"  {f.name} ({f.side}): {f.does}")
            prompt.append(f"\n      → {f.shows}", "dim")
            options.append(Option(prompt, id=f"f:{f.name}"))
        with Vertical(id="picker"):
            yield Static(
                "Next session: pick a scenario or a fault (Enter), Esc to close", id="picker-title"
            )
            yield OptionList(*options, id="picker-list")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        kind, _, name = (event.option.id or "").partition(":")
        self.dismiss(("scenario", name) if kind == "s" else ("fault", name))


class DemoMode(LiveMode):
    """Every session goes to the embedded mock (through the engine); `d` picks the next one.

    Beside them runs a simulated vLLM server and GPU (:mod:`ssescope.engine.simulated`), told
    what each session plays, and probed like real ones: the server and GPU panels and the stall
    diagnosis show what each fault looks like from the server's side."""

    title = "demo"

    def __init__(self, config: AppConfig, host: Host) -> None:
        super().__init__(config, host)
        self.offers = frozenset({Offer.RESEND, Offer.PICK, Offer.METRICS})
        self._demo_stop = asyncio.Event()
        self._base_url = ""
        self._playing = ""
        self.simulated: SimulatedServer | None = None

    def start(self) -> None:
        self.host.start_worker(self._serve_mock(), group="demo")

    def stop(self) -> None:
        self._demo_stop.set()
        super().stop()

    async def _serve_mock(self) -> None:
        """The mock backend and the engine in-process, with the simulated server and GPU they
        drive, for as long as the app runs."""
        from ..engine.app import EngineConfig
        from ..engine.mock import MockOptions
        from ..engine.serve import serve
        from ..engine.simulated import SimulatedServer, serve_simulated
        from ..health.monitor import HealthConfig

        simulated = self.simulated = SimulatedServer()
        mock = MockOptions(
            delay=self.config.demo_delay, prefill_delay=DEMO_PREFILL, server=simulated
        )
        async with (
            serve_simulated(simulated) as server_url,
            serve(EngineConfig(mock=mock)) as running,
        ):
            self.config.health = HealthConfig(
                server=server_url, gpu=f"sim={server_url}/gpu/metrics", interval=DEMO_POLL
            )
            self._base_url = running.base_url
            self.session(self.config.demo_scenario, self.config.demo_faults)
            await self._demo_stop.wait()

    def session(self, scenario: str, faults: tuple[str, ...]) -> None:
        """A new session in which the mock plays ``scenario`` with ``faults`` injected (and the
        simulated server the story of the fault)."""
        from ..core.live import build_request

        model = "mock-" + scenario + "".join(f"+{f}" for f in faults)
        self.config.spec = build_request(
            self._base_url, model=model, input_text=DEMO_PROMPTS.get(scenario, "Say hello.")
        )
        self._playing = f"demo: {scenario}" + (f" + fault {', '.join(faults)}" if faults else "")
        if self.simulated is not None:
            self.simulated.play(faults)
        self.send()

    def _new_run(self, spec: RequestSpec) -> Run:
        run = super()._new_run(spec)
        run.info.label = self._playing or run.info.label  # the header names what is playing
        return run

    def pick(self) -> None:
        """Ask which scenario or fault comes next, and start that session."""

        def chosen(choice: Choice | None) -> None:
            if choice is None:
                return
            kind, name = choice
            if kind == "scenario" and name:
                self.session(name, ())
            elif name:
                self.session(*_session_for_fault(name))

        self.host.ask(DemoPicker(), chosen)


def _session_for_fault(fault: str) -> tuple[str, tuple[str, ...]]:
    """A scenario on which ``fault`` shows (a tool fault needs a tool call, …), and the faults
    it needs beside it (``fake-completed`` rewrites a cut answer)."""
    from ..engine.faults import FAULTS

    entry = FAULTS[fault]
    scenario = entry.scenario or (entry.shows_on[0] if entry.shows_on else "text")
    return scenario, (*entry.with_faults[:1], fault)
