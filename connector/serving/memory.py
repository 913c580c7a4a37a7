"""Memory that comes back after bursts of large requests (glibc's malloc; a no-op elsewhere).

A large send passes through many transient copies (body, envelope tree, base64 text, decoded
bytes: docs/benchmarks-soak.md measures it). glibc keeps what is freed in per-thread arenas and
raises its mmap threshold after each large free, so a burst of 5 MB requests on 8 server threads
leaves hundreds of MB resident and idle. Two measures, both set in ``Settings``:

- ``malloc_arena_max``: at most this many arenas (``mallopt(M_ARENA_MAX)``), set before the
  server's threads start, so the threads share a few heaps instead of keeping one each;
- ``trim_after_bytes``: after a request whose body is at least this large, ``malloc_trim(0)``
  hands the free pages of every arena back to the kernel (a few milliseconds, only then);
- ``malloc_mmap_threshold``: blocks at least this large are mapped and unmapped directly
  (``mallopt(M_MMAP_THRESHOLD)``). glibc otherwise raises the threshold after each large free,
  after which a package-sized block comes from the heap, stays resident when freed and may be
  copied when it grows: one 27 MB send then peaked anywhere between 3.8 and 6.6 copies of the
  package, and steadily at 3.4 with the threshold pinned at 4 MiB, at the same speed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform
from collections.abc import Callable, Iterable, Iterator
from typing import Any

log = logging.getLogger(__name__)

_M_ARENA_MAX = -8  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3


def _glibc() -> Any | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC = _glibc()


def _mallopt(parameter: int, value: int) -> bool:
    """Set a glibc malloc parameter; 0 (or not glibc) leaves glibc's default."""
    return _LIBC is not None and value > 0 and bool(_LIBC.mallopt(parameter, value))


def limit_arenas(count: int) -> bool:
    """At most ``count`` malloc arenas for the process (0: leave glibc's default, 8 per core)."""
    return _mallopt(_M_ARENA_MAX, count)


def pin_mmap_threshold(size: int) -> bool:
    """Map blocks of ``size`` bytes or more directly, always (0: leave glibc's sliding threshold)."""
    return _mallopt(_M_MMAP_THRESHOLD, size)


def trim() -> bool:
    """Return free heap pages to the kernel; True when some were released."""
    return bool(_LIBC.malloc_trim(0)) if _LIBC is not None else False


class _Closing:
    """The response body, trimming once the server has closed it (the request's copies are gone)."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self._body = body

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._body = ()
            trim()


class TrimAfterLargeRequests:
    """WSGI middleware: ``malloc_trim`` after each request whose body is ``threshold`` bytes or more."""

    def __init__(self, app: Callable[..., Iterable[bytes]], threshold: int) -> None:
        self.app = app
        self.threshold = threshold

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = self.app(environ, start_response)
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        if self.threshold <= 0 or size < self.threshold or _LIBC is None:
            return body
        return _Closing(body)
