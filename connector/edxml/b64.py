"""Strict base64: the alphabet, whitespace between characters, and padding only at the end.

Python's lenient decoder drops characters outside the alphabet and everything after the first
padding, so ``"PGE+!!!!"`` would become ``b"<a>"``: a sender's corruption silently "cleaned". Here
every such input is refused with the first offending offset.
"""

from __future__ import annotations

import binascii
import re

from connector.errors import SimpleError

_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=\s]")
_PADDING_INSIDE = re.compile(r"=+\s*[^=\s]")
_WHITESPACE = str.maketrans("", "", " \t\r\n")


class Base64Error(SimpleError, ValueError):
    """The text is not strict base64; the message says what and where."""


def strict_b64decode(text: str) -> bytes:
    """Decode base64 that may be wrapped in lines (as MIME writers do), refusing anything else."""
    try:
        return binascii.a2b_base64(text, strict_mode=True)  # the common case: one line, no whitespace
    except (binascii.Error, ValueError):
        pass
    bad = _NOT_BASE64.search(text)
    if bad:
        raise Base64Error(f"character {bad.group()!r} at offset {bad.start()} is not base64")
    inside = _PADDING_INSIDE.search(text)
    if inside:
        raise Base64Error(f"padding '=' at offset {inside.start()} is followed by more data")
    try:
        return binascii.a2b_base64(text.translate(_WHITESPACE), strict_mode=True)
    except binascii.Error as exc:
        raise Base64Error(f"not valid base64 ({exc})") from None
