"""Errors of the simulators' actions (the SOAP side answers ``PartnerRejection`` instead)."""

from __future__ import annotations


class ActionRefused(ValueError):
    """A screen action that the item's state does not allow (e.g. issuing an unsigned draft),
    or that names an unknown item or account."""
