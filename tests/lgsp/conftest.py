"""The provincial topology's tests reuse the live stack of tests/partners (a connector and both
partner simulators on 127.0.0.1) and the service fixtures of tests/service."""

from tests.partners.conftest import partner_clients, stack  # noqa: F401
from tests.service.conftest import runtime, service, signed  # noqa: F401
