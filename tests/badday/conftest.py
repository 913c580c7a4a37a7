"""The partners' stack (a live connector and both simulators) for these tests, from where it
lives today."""

from tests.partners.conftest import partner_clients, stack  # noqa: F401
