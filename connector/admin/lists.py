"""The directory and evidence pages' lists, each paged on its own (``paging.Page``, one query
parameter per list) while the other lists' pages and the filter ride along in every link."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connector.admin.paging import Page
from connector.exchange.directory import Directory
from connector.exchange.folding import fold
from connector.store import EvidenceRecord, SignedHead, Store


@dataclass(frozen=True)
class Listed:
    """One list of a page: its rows on this page, and the page (total, links)."""

    rows: list[Any]
    paging: Page


@dataclass(frozen=True)
class _Section:
    name: str
    """The ``Directory`` field."""
    key: Callable[[Any], str]
    """The stable order."""
    searched: Callable[[Any], tuple[str | None, ...]]
    """What the filter looks in (folded)."""


_SECTIONS = (
    _Section("organizations", lambda o: o.organ_id, lambda o: (o.organ_id, o.name, *o.aliases)),
    _Section("systems", lambda s: s.system_id, lambda s: (s.system_id, s.organ_id, s.endpoint)),
    _Section("accounts", lambda a: a.username, lambda a: (a.username, a.organ_id, a.full_name)),
    _Section("procedures", lambda p: p.code, lambda p: (p.code, p.name, p.agency_id)),
)


def directory_lists(directory: Directory, query: Mapping[str, str]) -> dict[str, Listed]:
    """Each section of the directory ordered by its key, filtered by ``q`` (any of its
    identifiers or names, without regard to case or diacritics), paged by ``<section>_page``."""
    wanted = fold(query.get("q", ""))
    lists = {}
    for section in _SECTIONS:
        rows: list[Any] = sorted(getattr(directory, section.name), key=section.key)
        if wanted:
            rows = [r for r in rows if wanted in fold(" ".join(v for v in section.searched(r) if v))]
        page = Page.of("/admin/directory", query, param=f"{section.name}_page", anchor=section.name)
        shown, page = page.rows(rows)
        lists[section.name] = Listed(shown, page)
    return lists


def evidence_lists(store: Store, head_seq: int, query: Mapping[str, str]) -> tuple[Listed, Listed]:
    """The chain's records and the signed heads, newest first, paged by ``page`` and ``heads_page``.

    Records are numbered 1 to the head without gaps (``evidence verify`` reports a gap), so a
    page is a range of sequence numbers, read by the primary key however long the chain."""
    kept = {k: v for k, v in query.items() if k != "verify"}  # paging does not run the audit again
    records = Page.of("/admin/evidence", kept, anchor="records").counted(head_seq)
    until = head_seq - records.offset
    found: list[EvidenceRecord] = store.evidence.records(since=max(until - records.size + 1, 1), until=until)
    heads = Page.of("/admin/evidence", kept, param="heads_page", anchor="heads")
    heads = heads.counted(store.evidence.count_signed_heads())
    signed: list[SignedHead] = store.evidence.signed_heads(limit=heads.size, offset=heads.offset)
    return Listed(found[::-1], records), Listed(signed, heads)
