"""The ssescope debugger: a live, keyboard-driven view of one or more stream sessions.

The app owns no judgement and draws nothing itself. Its mode (:mod:`.modes`: a file, a live
request, the engine, the demo, the proxy) produces :mod:`ssescope.core.run` sessions and tells the
app with messages; the app keeps the session list (:class:`.sessions.Sessions`) and runs the
keys of the action table (:mod:`.actions`); the screens (:mod:`.screens`) draw the selected
session on their own timers, so a delta storm is batched into a few redraws a second.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Coroutine, Iterable
from functools import partial
from typing import Any, ClassVar, TypeVar

from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.notifications import Notification, Notify
from textual.screen import ModalScreen, Screen

from ..core.checker import CheckOptions
from ..core.rules import PROFILES
from ..core.run import Replay, Run
from . import actions, render
from .config import AppConfig
from .crash import crash_line
from .demo import DemoMode, DemoPicker
from .messages import SESSION_TOAST, RunAdded, RunsCleared
from .modes import EngineMode, FileMode, LiveMode, Mode
from .screens import DebuggerScreen, HelpScreen, TextScreen
from .sessions import Sessions

__all__ = [
    "MODES",
    "AppConfig",
    "DebuggerScreen",
    "DemoPicker",
    "HelpScreen",
    "SseScopeApp",
    "TextScreen",
]

ResultT = TypeVar("ResultT")

MODES: dict[str, type[Mode]] = {"open": FileMode, "connect": LiveMode, "demo": DemoMode}
"""``AppConfig.mode`` → the mode class (``connect --via-engine`` is :class:`EngineMode`)."""

TICK_EVERY = 0.25
"""Replays advance and silent live sessions are judged this often."""


def mode_for(config: AppConfig) -> type[Mode]:
    if config.mode == "connect" and config.via_engine is not None:
        return EngineMode
    return MODES[config.mode]


class SseScopeApp(App[None]):
    CSS_PATH = "ssescope.tcss"
    TITLE = "ssescope"
    BINDINGS: ClassVar[list[BindingType]] = list(actions.bindings())

    def __init__(
        self, config: AppConfig, mode: Callable[[SseScopeApp], Mode] | None = None
    ) -> None:
        """``mode``: builds the mode (default: the one ``config.mode`` names)."""
        super().__init__()
        self.config = config
        self.sessions = Sessions(config.options)
        self.mode: Mode = mode(self) if mode is not None else mode_for(config)(config, self)
        self._last_tick = config.clock()
        self._keymap_error: str | None = None
        self._offers: frozenset[actions.Offer] = frozenset()
        self._toasts: dict[str, Notification] = {}
        self._toasted_run: Run | None = None
        self.keymap = self._read_keymap()
        self.crash: str | None = None
        """The line an internal failure ends the app with (:mod:`.crash`), None until one."""

    def _handle_exception(self, error: Exception) -> None:
        """An exception nothing handled (a bug): Textual ends the app with status 1 and would
        print its traceback with every frame's locals; one line is printed instead and the
        traceback goes to a file (:mod:`.crash`). ``SSESCOPE_DEBUG=1`` keeps Textual's."""
        super()._handle_exception(error)
        if not os.environ.get("SSESCOPE_DEBUG") and self.crash is None:
            self.crash = crash_line(error)

    def _print_error_renderables(self) -> None:
        """Where Textual prints its traceback on exit: the crash line, whole (rich would wrap
        it at the terminal's width), instead."""
        if self.crash is None:
            super()._print_error_renderables()
            return
        self._exit_renderables.clear()
        print(self.crash, file=sys.stderr)

    def _read_keymap(self) -> dict[str, str]:
        try:
            keymap = actions.load_keymap(actions.keymap_path())
        except actions.KeymapError as exc:
            self._keymap_error = str(exc)
            return {}
        self.set_keymap(keymap)
        return keymap

    # -- what the tests and the modes read ------------------------------------------------------

    @property
    def runs(self) -> list[Run]:
        return self.sessions.runs

    @property
    def current(self) -> int:
        return self.sessions.current

    @property
    def current_run(self) -> Run | None:
        return self.sessions.current_run

    @property
    def options(self) -> CheckOptions:
        return self.sessions.options

    @property
    def replay(self) -> Replay | None:
        return self.mode.replay

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
        about: str | None = None,
    ) -> None:
        """Notifications show text literally by default: they carry paths, errors ("[Errno 98]")
        and event names ("[DONE]") that markup would eat or choke on.

        ``about`` ties the toast to a state (:data:`SESSION_TOAST`: the session shown; or a
        topic such as "profile" or "export"): a new toast about the same thing replaces it, and
        the session's toasts go when another session is shown, so none outlives what it says."""
        if about is not None:
            self.dismiss_toasts(about)
        notification = Notification(
            message,
            title,
            severity,
            self.NOTIFICATION_TIMEOUT if timeout is None else timeout,
            markup=markup,
        )
        if about is not None:
            self._toasts[about] = notification
        self.post_message(Notify(notification))

    def dismiss_toasts(self, about: str) -> None:
        """Take down the toast about ``about`` if it is still up."""
        notification = self._toasts.pop(about, None)
        if notification is not None and notification in self._notifications:
            self._unnotify(notification)  # Textual's own way to take one toast down

    def start_worker(
        self, work: Coroutine[Any, Any, None], *, group: str, exclusive: bool = False
    ) -> None:
        self.run_worker(work, group=group, exclusive=exclusive)

    def ask(self, screen: ModalScreen[ResultT], then: Callable[[ResultT | None], None]) -> None:
        self.push_screen(screen, then)

    # -- lifecycle ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        # The app handles its messages only once its first screen is up: the sessions the mode
        # has at once (a file's first) are taken now, so that screen opens with their rows.
        for run in self.mode.prepare():
            self.sessions.add(run, select=False)
        self.push_screen(self.mode.first_screen())
        self.set_interval(TICK_EVERY, self._tick)
        self.call_after_refresh(self.mode.start)
        if self._keymap_error is not None:
            self.notify(self._keymap_error, title="keymap not used", severity="error", timeout=10)

    def _tick(self) -> None:
        now = self.config.clock()
        dt, self._last_tick = now - self._last_tick, now
        self.mode.tick(dt)
        self._refresh_offers()

    # -- the session list, changed by the mode's messages ---------------------------------------

    def on_run_added(self, message: RunAdded) -> None:
        index = self.sessions.index(message.run)
        if index is not None:
            if message.select:
                self.select_run(index)
        elif self.sessions.add(message.run, select=message.select):
            self._show_current()
        self._refresh_offers()

    def on_debugger_screen_shown(self, _: DebuggerScreen.Shown) -> None:
        self.mode.shown()

    def on_runs_cleared(self, _: RunsCleared) -> None:
        self.sessions.clear()
        self.dismiss_toasts(SESSION_TOAST)
        self._refresh_offers()

    def select_run(self, index: int) -> None:
        self.sessions.current = index
        self._show_current()

    def _show_current(self) -> None:
        """Every debugger screen in the stack shows the selected session (one under a modal
        screen too, so that it is right when the modal closes). The toasts about the session
        shown before go."""
        if self.current_run is not self._toasted_run:
            self._toasted_run = self.current_run
            self.dismiss_toasts(SESSION_TOAST)
        for screen in self.screen_stack:
            if isinstance(screen, DebuggerScreen):
                screen.post_message(DebuggerScreen.ShowRun())

    def _debugger(self) -> DebuggerScreen | None:
        return self.screen if isinstance(self.screen, DebuggerScreen) else None

    # -- the action table: which keys this mode has, in the footer and the palette --------------

    def offers_now(self) -> frozenset[actions.Offer]:
        """What the keys may act on now: the mode's abilities in its present state, and
        switching sessions once there are several."""
        offers = self.mode.available()
        if len(self.sessions.runs) > 1:
            offers |= {actions.Offer.SESSIONS}
        return offers

    def _refresh_offers(self) -> None:
        """Redraw the footer when what is offered changed (a second session, samples)."""
        offers = self.offers_now()
        if offers != self._offers:
            self._offers = offers
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        session_shown = self.mode.shows_session(self.screen)
        return actions.offered(action, self.offers_now(), session_shown=session_shown)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        session_shown = self.mode.shows_session(screen)
        for entry in actions.of_mode(self.offers_now(), session_shown=session_shown):
            if entry.palette:
                help_text = entry.help[0].upper() + entry.help[1:]
                yield SystemCommand(entry.label, help_text, partial(self.run_action, entry.action))

    def action_help(self) -> None:
        offers = self.offers_now() | {actions.Offer.SESSIONS}  # every mode can hold several
        text = actions.help_markdown(self.mode.title, offers, self.keymap)
        rows = actions.help_rows(offers, self.keymap)
        self.push_screen(HelpScreen(text, title=f"ssescope {self.mode.title}: keys", rows=rows))

    # -- the actions every mode has -------------------------------------------------------------

    def action_follow(self) -> None:
        screen = self._debugger()
        if screen is not None:
            screen.follow()

    def action_next_finding(self) -> None:
        self._finding_step(1)

    def action_previous_finding(self) -> None:
        self._finding_step(-1)

    def _finding_step(self, step: int) -> None:
        screen = self._debugger()
        if screen is not None and not screen.step_finding(step):
            self.notify("no more findings in that direction", timeout=2, about=SESSION_TOAST)

    def action_switch_profile(self) -> None:
        options = self.sessions.options
        profile = PROFILES[(PROFILES.index(options.profile) + 1) % len(PROFILES)]
        self.sessions.options = CheckOptions(**{**options.__dict__, "profile": profile})
        self.notify(f"profile {profile}: re-judging", timeout=2, about="profile")
        self.mode.rejudge()
        self._show_current()

    def action_session(self, step: int) -> None:
        if self.sessions.step(step):
            self._show_current()

    def action_export(self) -> None:
        run = self.current_run
        if run is None:
            return
        from ..core.export import export_run  # here: 7 ms of every start-up otherwise

        try:
            paths = export_run(run, self.config.export_dir)
        except OSError as exc:
            self.notify(f"cannot export: {exc}", title="export", severity="error", about="export")
            return
        self.notify("\n".join(map(str, paths)), title="exported", timeout=10, about="export")

    async def action_quit(self) -> None:
        self.mode.stop()
        self.exit()

    # -- the actions some modes offer (check_action keeps the others away) ----------------------

    def action_resend(self) -> None:
        if isinstance(self.mode, LiveMode):
            self.mode.resend()

    def action_demo_pick(self) -> None:
        if isinstance(self.mode, DemoMode):
            self.mode.pick()

    def action_play_pause(self) -> None:
        if isinstance(self.mode, FileMode):
            self.mode.play_pause()

    def action_speed(self, factor: float) -> None:
        if isinstance(self.mode, FileMode):
            self.mode.speed(factor)

    def action_step(self) -> None:
        screen = self._debugger()
        if isinstance(self.mode, FileMode):
            self.mode.step()
            if screen is not None:
                screen.redraw(force=True)

    def action_upstream(self) -> None:
        """Show the raw upstream chat chunks beside the translated events (or hide them)."""
        screen = self._debugger()
        if screen is not None and not screen.toggle_upstream():
            self.notify(
                "no upstream chat chunks in this session (yet)", timeout=3, about=SESSION_TOAST
            )

    def action_clients(self) -> None:
        run = self.current_run
        if run is None:
            return
        self.push_screen(
            TextScreen("What each client does", render.clients_report(run.client_predictions()))
        )

    def action_raw_metrics(self) -> None:
        run = self.current_run
        title, text = render.raw_metrics_view(run)
        if title is None:
            self.notify(text, timeout=6, about=SESSION_TOAST)
        else:
            self.push_screen(TextScreen(title, text))
