"""The connector's operations, framework-free: the SOAP layer translates to and from these.

sendDocument and publishResult carry signed edXML document packages; updateStatus carries
status packages; getStatus reads the timeline; the pull operations (``pull.PullQueue``,
``ExchangeService.pull``) serve systems that cannot host an endpoint. Every write operation is
idempotent by message id. Each operation lives in its own module around the shared ``steps``.
"""

from __future__ import annotations

from connector.auth.caller import Caller
from connector.exchange import publish, send, status
from connector.exchange.pipeline import StageTimings
from connector.exchange.pull import PullQueue
from connector.exchange.requests import (
    ExchangeView,
    PublishResultRequest,
    SendDocumentRequest,
    SignedReceipt,
    UpdateStatusRequest,
)
from connector.exchange.steps import Operation, ServiceConfig, Steps
from connector.store import Store

__all__ = ["ExchangeService", "Operation", "ServiceConfig"]


class ExchangeService:
    """The connector's operations, independent of SOAP: each takes a request record and returns
    a signed receipt (or a view), or raises ``ConnectorError`` with a documented fault code.

    Contract of every write operation (``send_document``, ``publish_result``, ``update_status``):

    - **Idempotent by message id.** The same id with the same content returns the original
      receipt without doing anything again; the same id with other content is
      ``DUPLICATE_MESSAGE``.
    - **Only what was signed is used.** The package's signature is verified first, and every
      fact the operation acts on is read from the signed bytes (see ``pipeline.accept_package``).
    - **All or nothing.** The exchange, its package, the event, the idempotency record and the
      outbox items are stored in one transaction; a refused request changes nothing.
    """

    def __init__(self, store: Store, config: ServiceConfig) -> None:
        self.store = store
        self.config = config
        self.steps = Steps(store, config)
        self.pull = PullQueue(store)
        """listPending, fetchPending and acknowledge (``connector/exchange/pull.py``)."""

    def send_document(
        self, request: SendDocumentRequest, caller: Caller, timings: StageTimings | None = None
    ) -> SignedReceipt:
        """sendDocument (``send.send_document``; amendments: ``lifecycle``)."""
        return send.send_document(self.steps, request, caller, timings)

    def publish_result(
        self, request: PublishResultRequest, caller: Caller, timings: StageTimings | None = None
    ) -> SignedReceipt:
        """publishResult (``publish.publish_result``)."""
        return publish.publish_result(self.steps, request, caller, timings)

    def update_status(
        self, request: UpdateStatusRequest, caller: Caller, timings: StageTimings | None = None
    ) -> SignedReceipt:
        """updateStatus (``status.update_status``)."""
        return status.update_status(self.steps, request, caller, timings)

    def get_status(
        self, caller: Caller, message_id: str | None = None, dossier_code: str | None = None
    ) -> ExchangeView:
        """getStatus (``status.get_status``)."""
        return status.get_status(self.steps, caller, message_id, dossier_code)
