"""Security events: one log line each on the ``connector.security`` logger, as ``key=value``
pairs an operator can grep or ship to a SIEM. Never a password, digest, nonce or Authorization
header: only the event, the claimed username, the client address, the method and the reason."""

from __future__ import annotations

import logging

log = logging.getLogger("connector.security")


def security_event(event: str, level: int = logging.WARNING, **fields: object) -> None:
    details = " ".join(f"{k}={_quoted(v)}" for k, v in fields.items() if v is not None)
    log.log(level, "security event=%s %s", event, details)


def _quoted(value: object) -> str:
    text = str(value)[:200].replace("\n", " ").replace('"', "'")  # a username is the caller's input: keep lines whole
    return f'"{text}"' if (" " in text or not text) else text
