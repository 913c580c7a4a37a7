"""Paging for the console's lists: page numbers from the query string, the total, and links to
other pages that keep every other filter.

A page past the last (``?page=99`` of 61 rows at 50 a page) shows the last page, and says so:
``asked`` keeps the number asked for, and the pager names it beside the last page's link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar
from urllib.parse import urlencode

PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # a page number past this is read as this (an offset the databases can hold)
T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    number: int
    """From 1; never past the last page once ``counted``."""
    total: int
    path: str
    query: tuple[tuple[str, str], ...]
    """The filters (and other lists' pages), without this list's page and a done notice."""
    size: int = PAGE_SIZE
    param: str = "page"
    """The query parameter of this list's page (a console page may show several lists)."""
    anchor: str = ""
    """The list's element id: its links return to it."""
    asked: int | None = None
    """The page asked for when it was past the last one."""

    @classmethod
    def of(
        cls, path: str, query: Mapping[str, str], size: int = PAGE_SIZE, param: str = "page", anchor: str = ""
    ) -> Page:
        """The requested page; its total is filled in by ``counted`` once the store says it."""
        try:
            number = min(max(int(query.get(param, "1")), 1), MAX_PAGE)
        except ValueError:
            number = 1
        kept = tuple((k, v) for k, v in query.items() if k not in (param, "done") and v)
        return cls(number, 0, path, kept, size, param, anchor)

    def counted(self, total: int) -> Page:
        """With its total; a page past the last becomes the last (read its rows after this)."""
        counted = replace(self, total=total)
        if self.number > counted.pages:
            return replace(counted, number=counted.pages, asked=self.number)
        return counted

    def rows(self, rows: Sequence[T]) -> tuple[list[T], Page]:
        """This page of a list held whole (e.g. the directory), and the page counted."""
        page = self.counted(len(rows))
        return list(rows[page.offset : page.offset + page.size]), page

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
        query = (*self.query, (self.param, str(number))) if number > 1 else self.query
        fragment = f"#{self.anchor}" if self.anchor else ""
        return f"{self.path}?{urlencode(query)}{fragment}" if query else f"{self.path}{fragment}"

    @property
    def here(self) -> str:
        """This page's own address: where an action on it returns to."""
        return self.link(self.number)
