"""Every key of the debugger, declared once.

One row per action: its id (the name a keymap rebinds), its default keys, the action it runs, what
the footer, the help screen and the command palette say, and which ability of a mode it needs (a
mode lists what it offers, see :mod:`ssescope.tui.modes`). The app's ``BINDINGS``, the help
screen's key table and the palette entries are all generated from this table, and the app's
``check_action`` hides a key whose mode does not offer it: the footer and the palette show the keys
of the mode you are in, and nothing else.

Keys are rebound in a TOML keymap (binding id = keys), read at start-up from ``$SSESCOPE_KEYMAP``
or ``keymap.toml`` in the user configuration directory; Textual applies it to the bindings by id
(the ids of this table, and the event list's ``events.up`` … ``events.last``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir
from textual.binding import Binding
from textual.keys import format_key

from .widgets import EventList

KEYMAP_ENV = "SSESCOPE_KEYMAP"


class Offer(StrEnum):
    """An ability a mode may offer; actions that need one are hidden in modes without it."""

    RESEND = "resend"
    """Send the same request again as a new session (live modes)."""
    REPLAY = "replay"
    """Replay a file with its original timing."""
    PICK = "pick"
    """Pick the next scenario or fault (demo)."""
    UPSTREAM = "upstream"
    """Show the raw upstream chat chunks beside the translated events."""
    METRICS = "metrics"
    """Show the server's raw /metrics scrape."""
    EXCHANGES = "exchanges"
    """Go back to the proxy's list of exchanges."""
    SESSIONS = "sessions"
    """Switch between sessions: offered once there is more than one (a state, not a mode)."""


@dataclass(frozen=True)
class Action:
    """One key of the debugger: where it is bound, what it says, and who offers it."""

    id: str
    """The binding id: the name a keymap uses to rebind it."""
    keys: str
    """Default keys, comma-separated Textual key names."""
    action: str
    """The app action it runs (``speed(2)``: with parameters)."""
    label: str
    """The palette's title (and the footer's, unless ``short`` is given)."""
    help: str
    """The help screen's and the palette's longer description."""
    footer: bool = False
    needs: Offer | None = None
    """The mode ability this key needs (None: every mode offers it)."""
    key_display: str | None = None
    palette: bool = True
    """Listed in the command palette (quit is already there, from Textual)."""
    session: bool = True
    """It acts on the shown session: offered only on a screen that shows one."""
    short: str = ""
    """The footer's word when ``label`` is too long for an 80-column footer."""

    @property
    def name(self) -> str:
        """The action's method name, without parameters: what ``check_action`` is asked about."""
        return self.action.partition("(")[0]


ACTIONS: tuple[Action, ...] = (
    Action("quit", "q", "quit", "Quit", "quit", footer=True, palette=False, session=False),
    Action("help", "question_mark", "help", "Help", "keys, and what the stall clocks mean",
           footer=True, session=False),
    # The mode's own keys come first: on a narrow terminal the footer is cut at the right.
    Action("resend", "r", "resend", "Resend", "send the same request again as a new session",
           footer=True, needs=Offer.RESEND),
    Action("demo_pick", "d", "demo_pick", "Demo: pick",
           "pick the next scenario or fault for the embedded mock server", footer=True,
           needs=Offer.PICK, short="Pick"),
    Action("play_pause", "space", "play_pause", "Play/pause",
           "replay with the original timing: play / pause", footer=True, needs=Offer.REPLAY,
           short="Play"),
    Action("back", "escape", "back", "Exchanges", "back to the list of exchanges", footer=True,
           needs=Offer.EXCHANGES),
    Action("follow", "f", "follow", "Follow", "follow the tail again", footer=True),
    Action("next_finding", "n", "next_finding", "Next finding", "the next row with a finding",
           footer=True, short="Next"),
    Action("previous_finding", "N", "previous_finding", "Prev finding",
           "the previous row with a finding", footer=True, key_display="N", short="Prev"),
    Action("switch_profile", "p", "switch_profile", "Profile",
           "switch profile (openai → open-responses → codex) and re-judge", footer=True,
           session=False),
    Action("export", "e", "export", "Export",
           "export the reconstructed response (JSON) and a findings report (Markdown)",
           footer=True),
    Action("faster", "plus,equals_sign", "speed(2)", "Faster", "replay faster (×2)",
           needs=Offer.REPLAY),
    Action("slower", "minus", "speed(0.5)", "Slower", "replay slower (×½)", needs=Offer.REPLAY),
    Action("step", "full_stop", "step", "Step", "replay one step (the next event)",
           needs=Offer.REPLAY),
    Action("previous_session", "left_square_bracket", "session(-1)", "Prev session",
           "the previous session", needs=Offer.SESSIONS),
    Action("next_session", "right_square_bracket", "session(1)", "Next session",
           "the next session", needs=Offer.SESSIONS),
    Action("upstream", "u", "upstream", "Upstream chunks",
           "the raw upstream chat chunks beside the translated events", needs=Offer.UPSTREAM),
    Action("raw_metrics", "m", "raw_metrics", "Raw metrics", "the server's raw /metrics scrape",
           needs=Offer.METRICS),
    Action("clients", "c", "clients", "Clients",
           "what each client library (openai SDKs, AI SDK, Codex, async-openai) does with it",
           footer=True),
)  # fmt: skip

_BY_NAME = {a.name: a for a in ACTIONS}

TEXTUAL_KEYS = (
    ("Enter (findings)", "jump to the finding's event"),
    ("Enter (item tree)", "select the item's events"),
    ("Tab", "move between panes"),
    ("Ctrl+P", "command palette (every action of this mode)"),
)
"""Keys that Textual's widgets bring, listed on the help screen."""

STALL_CLOCKS = """\
The stall clocks count **since the last byte** (comments included), **since the last event**
(what Codex's idle timer sees: comments never reset it) and **since the last real event**
(keepalives excluded). They turn amber past `--stall-warn` and red past Codex's idle timeout.
"""


def bindings() -> list[Binding]:
    """The app's BINDINGS, each with its id so that a keymap can rebind it."""
    return [
        Binding(
            a.keys,
            a.action,
            a.short or a.label,
            show=a.footer,
            key_display=a.key_display,
            id=a.id,
        )
        for a in ACTIONS
    ]


def _has(action: Action, offers: frozenset[Offer], session_shown: bool) -> bool:
    return (action.needs is None or action.needs in offers) and (
        session_shown or not action.session
    )


def offered(action_name: str, offers: frozenset[Offer], *, session_shown: bool = True) -> bool:
    """Whether a mode that offers ``offers`` has the action now (``session_shown``: the screen
    shows a session). Actions that are not in the table (Textual's own) are always offered."""
    entry = _BY_NAME.get(action_name)
    return entry is None or _has(entry, offers, session_shown)


def of_mode(offers: frozenset[Offer], *, session_shown: bool = True) -> Iterable[Action]:
    """The table's actions a mode offers, in table order."""
    return (a for a in ACTIONS if _has(a, offers, session_shown))


def _shown(keys: str) -> str:
    return " / ".join(format_key(key.strip()) for key in keys.split(","))


def _event_list_bindings() -> list[Binding]:
    return [b for b in EventList.BINDINGS if isinstance(b, Binding)]


def _event_list_keys(keymap: Mapping[str, str]) -> str:
    """The event list's own keys, as its BINDINGS declare them (and the keymap rebinds them)."""
    return ", ".join(_shown(keymap.get(b.id or "", b.key)) for b in _event_list_bindings())


def help_rows(offers: frozenset[Offer], keymap: Mapping[str, str]) -> list[tuple[str, str]]:
    """(keys, what they do) of this mode, as the keymap binds them: the table's actions, the
    event list's keys, then the keys Textual's widgets bring."""
    rows = [(_shown(keymap.get(a.id, a.keys)), a.help) for a in of_mode(offers)]
    rows.append((_event_list_keys(keymap), "move in the event list (scrolling up stops following)"))
    rows += list(TEXTUAL_KEYS)
    return rows


def help_markdown(title: str, offers: frozenset[Offer], keymap: Mapping[str, str]) -> str:
    """The help screen as text: the keys of this mode (as the keymap binds them), then the
    clocks."""
    lines = [f"# ssescope {title}", "", "| key | action |", "|---|---|"]
    table = len(list(of_mode(offers))) + 1
    lines += [
        f"| `{keys}` | {what} |" if i < table else f"| {keys} | {what} |"
        for i, (keys, what) in enumerate(help_rows(offers, keymap))
    ]
    return "\n".join(lines) + "\n\n" + STALL_CLOCKS


class KeymapError(ValueError):
    """The keymap file cannot be used (its text says why)."""


def keymap_path() -> Path:
    """Where the keymap is read from: ``$SSESCOPE_KEYMAP``, else the user config directory."""
    configured = os.environ.get(KEYMAP_ENV)
    if configured:
        return Path(configured)
    return Path(user_config_dir("ssescope")) / "keymap.toml"


def load_keymap(path: Path) -> dict[str, str]:
    """Binding id → keys, from a TOML file of ``id = "keys"`` lines (no file: no changes)."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KeymapError(f"{path}: {exc}") from None
    data = _flatten(data)
    known = {a.id for a in ACTIONS} | {b.id for b in _event_list_bindings() if b.id}
    unknown = sorted(set(data) - known)
    if unknown:
        raise KeymapError(f"{path}: unknown binding id(s) {', '.join(unknown)}")
    wrong = sorted(k for k, v in data.items() if not isinstance(v, str) or not v.strip())
    if wrong:
        raise KeymapError(f"{path}: give keys as a string for {', '.join(wrong)}")
    return dict(data)


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    """TOML reads ``events.down = "s"`` as a table: the dotted id it spells is meant."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{sub}": keys for sub, keys in value.items()})
        else:
            flat[key] = value
    return flat
