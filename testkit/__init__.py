"""Tooling shared by the tests and the benchmarks: signed packages, a live connector, hostile
certificates, raw SOAP envelopes, processes, ports and the one way to read the connector's
documented fault codes. Never imported by the product (``connector``, ``signing``), and never
importing ``tests`` or ``bench`` itself (``tests/test_architecture.py``)."""
