"""async-openai (Rust): ``client.responses().create_stream(request)``, each item a
``Result<ResponseStreamEvent, OpenAIError>``. MODELLED FROM SOURCE, NOT RUN (no Rust toolchain
here): 64bit/async-openai, ``async-openai/src/types/responses/stream.rs`` at commit bcf808a9.

``ResponseStreamEvent`` is a serde enum tagged by ``type`` with no catch-all variant, so an event
type it does not list fails to deserialize (``unknown variant``); every event struct declares
``sequence_number: u64``, item events ``item_id: String`` and ``output_index: u32``, part events
``content_index: u32``, deltas ``delta: String``, all required. A payload that fails is yielded as
``Err(OpenAIError::JSONDeserialize(..))``: callers that ``?`` their stream (the crate's examples
do) stop there. This is the strict client the ``sequence-missing`` and field rules are for: the
SDKs above deliver the whole answer without sequence numbers, this one does not. The ``Response``
object inside lifecycle events and the output items are not modelled (their required fields are
not read here), so this model can miss failures; it never invents one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .base import ClientModel, Verdict, still_open
from .content import cut_loss
from .stainless import Failure, earliest, facts

if TYPE_CHECKING:
    from ..checks.base import CheckState

_STRICT_FIELDS = frozenset(
    {"sequence_number", "item_id", "output_index", "content_index", "summary_index", "delta"}
)
_PATH = re.compile(r"`([^`.\[]+)` is (missing|\w+)")


def _decode_failures(st: CheckState) -> list[Failure]:
    found: list[Failure] = []
    for fact in facts(st, "sequence-missing")[:1]:
        found.append(Failure("serde", fact.event_index, "missing field `sequence_number`"))
    for fact in facts(st, "unknown-event-type")[:1]:
        found.append(Failure("serde", fact.event_index, f"unknown variant `{fact.event_type}`"))
    for fact in facts(st, "type-missing")[:1]:
        found.append(Failure("serde", fact.event_index, "missing field `type`"))
    for fact in facts(st, "data-not-json")[:1]:
        found.append(Failure("serde", fact.event_index, "the payload is not JSON"))
    for rule in ("field-missing", "field-type", "delta-not-string"):
        for fact in facts(st, rule):
            match = _PATH.search(fact.message)
            if match is None or match.group(1) not in _STRICT_FIELDS:
                continue
            name, got = match.groups()
            text = f"missing field `{name}`" if got == "missing" else f"invalid type: {got}"
            found.append(Failure("serde", fact.event_index, text))
            break
    return found


def predict(st: CheckState) -> Verdict:
    status = st.http_status
    if status is not None and not 200 <= status < 300:
        return Verdict("error", f"OpenAIError::ApiError: HTTP {status}")
    failure = earliest(_decode_failures(st))
    if failure is not None:
        return Verdict(
            "error",
            f"OpenAIError::JSONDeserialize: {failure.value}",
            f"the stream yields Err at row {failure.event_index}; a caller using ? stops there",
        )
    if still_open(st) and st.done_index is None:
        return Verdict("hang", "the event stream stays open: the caller waits for the next event")
    if st.first_error is not None or st.tree.terminal_type == "response.failed":
        return Verdict("error", "the caller receives the error / response.failed event")
    cut = cut_loss(st)
    if cut:
        return Verdict("loss", cut[0], "the caller assembles the deltas it was sent")
    return Verdict("ok", "every event deserializes")


MODEL = ClientModel(
    id="async-openai",
    name="async-openai (Rust)",
    version="main@bcf808a9",
    reads_with="client.responses().create_stream(request)",
    source="64bit/async-openai: async-openai/src/types/responses/stream.rs (commit bcf808a9)",
    verified="modelled from source, not run (no Rust toolchain on this machine)",
    predict=predict,
)
