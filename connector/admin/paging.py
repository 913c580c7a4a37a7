"""Paging for the console's lists: page numbers from the query string, the total, and links to
other pages that keep every other filter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    number: int
    """From 1."""
    total: int
    path: str
    query: tuple[tuple[str, str], ...]
    """The filters, without ``page``."""
    size: int = PAGE_SIZE

    @classmethod
    def of(cls, path: str, query: Mapping[str, str], size: int = PAGE_SIZE) -> Page:
        """The requested page; its total is filled in by ``counted`` once the store says it."""
        try:
            number = max(int(query.get("page", "1")), 1)
        except ValueError:
            number = 1
        kept = tuple((k, v) for k, v in query.items() if k not in ("page", "done") and v)
        return cls(number, 0, path, kept, size)

    def counted(self, total: int) -> Page:
        return Page(self.number, total, self.path, self.query, self.size)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max((self.total + self.size - 1) // self.size, 1)

    @property
    def first(self) -> int:
        """The first row shown, counted from 1 (0 when there is none)."""
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)

    def link(self, number: int) -> str:
        query = (*self.query, ("page", str(number))) if number > 1 else self.query
        return f"{self.path}?{urlencode(query)}" if query else self.path

    @property
    def here(self) -> str:
        """This page's own address: where an action on it returns to."""
        return self.link(self.number)
