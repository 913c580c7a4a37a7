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
# heap that pause took ~80 ms of every second under load; Python's own collector suffices.
spyne.const.MIN_GC_INTERVAL = float("inf")


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
    "rpc",
]
