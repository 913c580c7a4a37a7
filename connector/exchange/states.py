"""The exchange state machine: which business status may follow which.

An exchange starts ``ACCEPTED`` when the connector takes a dossier's document. Status packages
(edXML status codes) move it forward; ``publishResult`` finishes it with the issued result.
A finished, refused, taken-back or revoked exchange never moves again, and no status moves an
exchange backwards (e.g. "arrived" after "assigned"). A revocation (edXML BussinessDocType 1)
ends the exchange as ``REVOKED``; an update (2) is recorded without changing the state.

The recall (thu hồi, the national axis's 13/15/16): 13 from the sender asks for the document back
(``TAKEN_BACK``: nothing else may happen to it meanwhile); the receiver answers 15 (recall
accepted: ``RECALLED``, final) or 16 (recall refused: the exchange goes back to the state it had
before the 13 and carries on). Outside a pending recall, 15/16 answer an update/revoke request:
they are recorded in the timeline without changing the state, whatever the state (the answer to
a revocation arrives after it). Transport delivery (did the partner system get the bytes?) is
tracked by the outbox, never here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from connector.edxml import StatusCode
from connector.errors import ErrorCode, SimpleError


class ExchangeState(enum.StrEnum):
    ACCEPTED = "accepted"  # taken by the connector, on its way to the agency
    ARRIVED = "arrived"  # 01
    REFUSED = "refused"  # 02
    REGISTERED = "registered"  # 03
    ASSIGNED = "assigned"  # 04
    IN_PROGRESS = "in_progress"  # 05
    FINISHED = "finished"  # 06, or publishResult
    TAKEN_BACK = "taken_back"  # 13: the sender recalls it (lấy lại / thu hồi); 15 or 16 answers
    RECALLED = "recalled"  # 15 after 13: the receiver gave the document back
    REVOKED = "revoked"  # the sender revoked the document (BussinessDocType 1, thu hồi)


class DocumentKind(enum.StrEnum):
    INCOMING = "INCOMING"  # Văn bản đến: the agency clerk's registration queue
    OUTGOING = "OUTGOING"  # Văn bản đi: the handling officer's drafts


STATE_OF_CODE: dict[StatusCode, ExchangeState] = {
    StatusCode.ARRIVED: ExchangeState.ARRIVED,
    StatusCode.REFUSED: ExchangeState.REFUSED,
    StatusCode.ACCEPTED: ExchangeState.REGISTERED,
    StatusCode.ASSIGNED: ExchangeState.ASSIGNED,
    StatusCode.IN_PROGRESS: ExchangeState.IN_PROGRESS,
    StatusCode.FINISHED: ExchangeState.FINISHED,
    StatusCode.TAKEN_BACK: ExchangeState.TAKEN_BACK,
}

_RANK = {
    ExchangeState.ACCEPTED: 0,
    ExchangeState.ARRIVED: 1,
    ExchangeState.REGISTERED: 2,
    ExchangeState.ASSIGNED: 3,
    ExchangeState.IN_PROGRESS: 3,  # reassigning during processing is normal: 04 <-> 05
    ExchangeState.FINISHED: 4,
}


def state_before_recall(states: list[ExchangeState]) -> ExchangeState | None:
    """The state an exchange had before its pending recall: ``states`` are its timeline's
    states in order; the answer is the last one before the last run of ``TAKEN_BACK``."""
    index = len(states)
    while index > 0 and states[index - 1] is ExchangeState.TAKEN_BACK:
        index -= 1
    return states[index - 1] if index > 0 else None


TERMINAL = frozenset({ExchangeState.FINISHED, ExchangeState.REFUSED, ExchangeState.RECALLED, ExchangeState.REVOKED})
# Ended, or waiting for the answer to a recall: no status but 15/16 moves it, nothing is amended.
CLOSED = TERMINAL | {ExchangeState.TAKEN_BACK}


@dataclass(frozen=True)
class Transition:
    new_state: ExchangeState
    changes_state: bool


class IllegalTransitionError(SimpleError, ValueError):
    """A status that is not a legal next state; the message says why."""

    code = ErrorCode.ILLEGAL_TRANSITION


def next_state(current: ExchangeState, code: StatusCode, before_recall: ExchangeState | None = None) -> Transition:
    """The state after status ``code``; raises ``IllegalTransitionError`` saying why not.
    ``before_recall``: the state before the pending recall's 13 (where a 16 returns to)."""
    current = ExchangeState(current)
    if current is ExchangeState.TAKEN_BACK and code is StatusCode.CHANGE_ACCEPTED:
        return Transition(ExchangeState.RECALLED, changes_state=True)
    if current is ExchangeState.TAKEN_BACK and code is StatusCode.CHANGE_REFUSED:
        back = before_recall if before_recall is not None and before_recall not in CLOSED else ExchangeState.ACCEPTED
        return Transition(back, changes_state=True)
    if code in (StatusCode.CHANGE_ACCEPTED, StatusCode.CHANGE_REFUSED):
        return Transition(current, changes_state=False)
    if current in CLOSED:
        raise IllegalTransitionError(
            f"the exchange is {current.value}; status {code.value} ({code.label}) cannot follow"
        )
    target = STATE_OF_CODE[code]
    if target in CLOSED:
        return Transition(target, changes_state=True)
    if _RANK[target] < _RANK[current]:
        raise IllegalTransitionError(
            f"status {code.value} ({code.label}) would move the exchange back from {current.value} to {target.value}"
        )
    return Transition(target, changes_state=target is not current)


def can_amend(current: ExchangeState) -> str | None:
    """None when the sender may still update or revoke the document, else the reason it may not:
    once the exchange has ended (finished, refused, taken back, revoked) the document is closed."""
    if current in CLOSED:
        return f"the exchange is {current.value}"
    return None


def can_publish_result(current: ExchangeState, has_result: bool) -> str | None:
    """None when a result may be published now, else the reason it may not. A system may report
    06 (finished) before it publishes the result file: the result is still welcome then."""
    if has_result:
        return "the exchange already has its result"
    if current in (ExchangeState.REFUSED, ExchangeState.TAKEN_BACK, ExchangeState.RECALLED, ExchangeState.REVOKED):
        return f"the exchange is {current.value}"
    return None
