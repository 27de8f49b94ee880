"""An internal failure of the app (a bug in ssescope, never bad input): one line on stderr, as
the CLI's ``internal error``, and the traceback in a file.

Textual would print a screenful of traceback with the local variables of every frame, and those
can hold an API key or a request body; the file holds the traceback without them.
"""

from __future__ import annotations

import datetime as _dt
import traceback
from pathlib import Path

from platformdirs import user_data_dir

from ..core.redact import redact_text

MESSAGE_LIMIT = 200


def crash_dir() -> Path:
    """Where tracebacks go: ``crashes`` in the user data directory (XDG on Linux)."""
    return Path(user_data_dir("ssescope")) / "crashes"


def crash_line(error: BaseException, directory: Path | None = None) -> str:
    """Write ``error``'s traceback to a file in ``directory`` (default :func:`crash_dir`) and
    return the one line to print."""
    text = "".join(traceback.format_exception(error))
    try:
        out = directory if directory is not None else crash_dir()
        out.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        path = out / f"crash-{stamp}.log"
        path.write_text(redact_text(text), encoding="utf-8")
        where = f"the traceback is in {path}"
    except OSError as exc:
        where = f"the traceback could not be written: {exc.strerror or exc}"
    message = " ".join(str(error).split())
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT] + "…"
    return redact_text(
        f"ssescope: internal error: {type(error).__name__}: {message} "
        f"({where}; SSESCOPE_DEBUG=1 shows it here)"
    )
