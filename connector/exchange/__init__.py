"""The exchange domain: what a dossier's documents go through, with no framework imports.

``states`` (the exchange state machine), ``directory`` (organisations, systems, accounts,
procedures), ``routing`` (where a document goes), ``requests`` (what the operations take and
return), ``pipeline`` (verify, validate), ``receipts``, ``authorisation`` (what a system may do),
and the operations on ``service.ExchangeService``: ``send`` (sendDocument and amendments),
``publish`` (publishResult), ``status`` (updateStatus, getStatus) and ``pull`` (a pull system's
queue). Import the submodule you need: this package re-exports nothing, so the store (which
keeps the domain's records) and the domain can both import it without a circle.
"""
