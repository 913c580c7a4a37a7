"""What a Spyne method reaches besides its arguments, in one typed place.

spyne hands each method its ``ctx`` (a ``MethodContext``), whose ``udc`` is spyne's slot for an
application's own data. The connector puts exactly one thing there: a ``CallContext`` (the
service and the authenticated caller), made by the protocol once the caller is authenticated
(``HardenedSoap11(bind=...)``, given by the serving layer) and read by the methods with
``CallContext.of(ctx)``. Nothing else travels on ``ctx`` or on the spyne application. The
per-request log context is the HTTP layer's and lives in the WSGI environ (``connector.ops.logs``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from connector.auth import Caller
from connector.errors import ErrorCode
from connector.exchange.service import ExchangeService
from connector.soap.faults import ConnectorFault


@dataclass(frozen=True)
class CallContext:
    service: ExchangeService
    caller: Caller

    @staticmethod
    def of(ctx: Any) -> CallContext:
        """The call's context; a method reached without one (no authentication) is refused."""
        bound = ctx.udc
        if not isinstance(bound, CallContext):
            raise ConnectorFault(ErrorCode.UNAUTHENTICATED, "authentication failed: no credentials", "Envelope/Header")
        return bound


# (the envelope's wsse:Security headers, the WSGI environ) -> the call's context, or a ConnectorError
Bind = Callable[[list[etree._Element], dict[str, Any]], CallContext]
