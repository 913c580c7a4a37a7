"""The one place spyne is imported from, made to work on Python 3.11–3.13.

spyne 2.14 (its last release, 2022) bundles a ``six`` whose meta-path importer uses the
``find_module`` API removed in Python 3.12, and imports ``cgi`` (removed in 3.13; the
``legacy-cgi`` package restores it). Aliasing ``spyne.util.six`` to the real ``six`` before
spyne loads fixes the first; everything else imports spyne through this module so the shim is
applied exactly once and spyne can be replaced in one place.
"""

from __future__ import annotations

import operator
import sys
import warnings
from collections import defaultdict
from typing import Any

import six


def _install_six_alias() -> None:
    if "spyne.util.six" in sys.modules:
        return
    # spyne calls six.get_function_name, which newer six no longer has.
    if not hasattr(six, "get_function_name"):
        six.get_function_name = operator.attrgetter("__name__")  # type: ignore[attr-defined]
    sys.modules["spyne.util.six"] = six
    sys.modules["spyne.util.six.moves"] = six.moves
    for name in ("urllib", "urllib.parse", "http_cookies", "collections_abc", "http_client"):
        try:
            module = getattr(six.moves, name.split(".")[0])
            if "." in name:
                module = getattr(module, name.split(".")[1])
        except AttributeError:
            continue
        sys.modules[f"spyne.util.six.moves.{name}"] = module


_install_six_alias()

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import spyne  # noqa: E402
    from spyne import Application, ComplexModel, Fault, ServiceBase, rpc  # noqa: E402
    from spyne.model.binary import ByteArray  # noqa: E402
    from spyne.model.complex import Array  # noqa: E402
    from spyne.model.primitive import Date, DateTime, Integer, Unicode  # noqa: E402
    from spyne.protocol.soap import Soap11, Soap12  # noqa: E402
    from spyne.server.wsgi import WsgiApplication  # noqa: E402

# spyne runs a full gc.collect() after a request whenever a second has passed since the last
# one, to close attachment files it holds (the connector gives it none). With the connector's
# heap that pause took ~80 ms of every second under load. Without it, what spyne's reference
# cycles hold waits for Python's rare full collection: ``release_when_closed`` breaks them.
spyne.const.MIN_GC_INTERVAL = float("inf")

_CONTEXT_PARTS = ("transport", "inprot_ctx", "outprot_ctx", "event", "aux")


def release_when_closed(application: Application) -> Application:
    """Break the reference cycles of ``application``'s request contexts once each is closed, so
    that what a request held is freed when its answer is out, not at Python's next full
    collection (which an idle server may not run for hours).

    A spyne context is a cycle (its transport, protocol and event parts point back at it) that
    holds the request: its envelope, tree and arguments, the package among them. A fault is
    another: the context holds the error, the error's traceback holds the frames of the call,
    and they hold the context (and, through the fault's ``__context__``, the domain error's
    frames with the package, its decoded attachments and the request). Left to the collector,
    a series of large requests kept the server ~340 MiB above its idle size
    (docs/performance.md, "Memory after large requests")."""
    application.event_manager.add_listener("method_context_closed", _release)
    return application


def _release(ctx: Any) -> None:
    for error in (ctx.in_error, ctx.out_error):
        _drop_tracebacks(error)
    for name in _CONTEXT_PARTS:
        part = getattr(ctx, name, None)
        if getattr(part, "parent", None) is ctx:
            part.parent = None
        # A protocol context's factory of sub-contexts closes over the context it was made for:
        # the first one, which spyne copies for the call and never closes (it holds the parsed
        # envelope too).
        subcontexts = getattr(part, "_subctx", None)
        if isinstance(subcontexts, defaultdict):
            subcontexts.default_factory = None


def _drop_tracebacks(error: BaseException | None) -> None:
    """The tracebacks of ``error`` and of the errors it was raised from or while handling. (An
    unexpected error's log line prints the traceback kept in ``RequestContext.exc_info``.)"""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        error.__traceback__ = None
        error = error.__cause__ or error.__context__


def binary(value: object) -> bytes:
    """A ``ByteArray`` value as bytes: spyne hands base64Binary over as a sequence of chunks."""
    return value if isinstance(value, bytes) else b"".join(value or [])  # type: ignore[arg-type]


__all__ = [
    "spyne",
    "Application",
    "Array",
    "ByteArray",
    "ComplexModel",
    "Date",
    "DateTime",
    "Fault",
    "Integer",
    "ServiceBase",
    "Soap11",
    "Soap12",
    "Unicode",
    "WsgiApplication",
    "binary",
    "release_when_closed",
    "rpc",
]
