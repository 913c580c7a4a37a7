"""What a directory import changes: merge (the default) or replace, and the list of changes.

An import **merges** by default: a record of the file is matched to the stored one by its key
(an organisation's ``organ_id``, a system's ``system_id``, ...); the fields the file names replace
the stored ones, the fields it leaves out keep their stored values, and records absent from the
file stay. ``replace`` makes the file the whole directory: records absent from it are removed and
a field it leaves out takes its default. Either way the result and the changes are computed here,
before anything is written, so ``--dry-run`` prints exactly what an import would do.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

from connector.exchange.directory import RECORD_TYPES, Directory

KEYS: dict[str, tuple[str, ...]] = {
    "organizations": ("organ_id",),
    "systems": ("system_id",),
    "accounts": ("username",),
    "username_map": ("onestop_username",),
    "procedures": ("code",),
}


class ChangeKind(enum.StrEnum):
    ADD = "add"
    CHANGE = "change"
    REMOVE = "remove"


@dataclass(frozen=True)
class FieldChange:
    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class DirectoryChange:
    kind: ChangeKind
    section: str
    key: str
    fields: tuple[FieldChange, ...] = ()

    def describe(self) -> str:
        sign = {ChangeKind.ADD: "+", ChangeKind.CHANGE: "~", ChangeKind.REMOVE: "-"}[self.kind]
        line = f"{sign} {self.section} {self.key}"
        if self.fields:
            line += ": " + ", ".join(f"{f.name} {_show(f.old)} -> {_show(f.new)}" for f in self.fields)
        return line


@dataclass(frozen=True)
class DirectoryPlan:
    """The directory after the import, and what differs from the one before it."""

    result: Directory
    changes: tuple[DirectoryChange, ...]

    def summary(self) -> str:
        n = {kind: sum(1 for c in self.changes if c.kind is kind) for kind in ChangeKind}
        return f"{n[ChangeKind.ADD]} added, {n[ChangeKind.CHANGE]} changed, {n[ChangeKind.REMOVE]} removed"

    def changed(self, section: str) -> list[Any]:
        """The records of ``section`` to write (added or changed)."""
        keys = {c.key for c in self.changes if c.section == section and c.kind is not ChangeKind.REMOVE}
        return [r for r in getattr(self.result, section) if key_of(section, r) in keys]

    def removed(self, section: str) -> list[str]:
        return [c.key for c in self.changes if c.section == section and c.kind is ChangeKind.REMOVE]


def key_of(section: str, record: Any) -> str:
    return "/".join(str(getattr(record, name)) for name in KEYS[section])


def plan_import(current: Directory, incoming: Directory, *, replace: bool = False) -> DirectoryPlan:
    result = Directory()
    changes: list[DirectoryChange] = []
    for section in RECORD_TYPES:
        stored = {key_of(section, r): r for r in getattr(current, section)}
        named = incoming.named.get(section)
        merged: dict[str, Any] = {} if replace else dict(stored)
        for i, record in enumerate(getattr(incoming, section)):
            key = key_of(section, record)
            before = stored.get(key)
            if before is not None and not replace and named is not None:
                given = named[i]
                record = dataclasses.replace(
                    before, **{f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name in given}
                )
            merged[key] = record
        for key, record in merged.items():
            before = stored.get(key)
            if before is None:
                changes.append(DirectoryChange(ChangeKind.ADD, section, key))
            elif before != record:
                changes.append(DirectoryChange(ChangeKind.CHANGE, section, key, _field_changes(before, record)))
        changes.extend(DirectoryChange(ChangeKind.REMOVE, section, key) for key in stored if key not in merged)
        setattr(result, section, list(merged.values()))
    return DirectoryPlan(result, tuple(changes))


def _field_changes(before: Any, after: Any) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(f.name, getattr(before, f.name), getattr(after, f.name))
        for f in dataclasses.fields(before)
        if getattr(before, f.name) != getattr(after, f.name)
    )


def _show(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, tuple):
        value = ";".join(value)
    return repr(value) if value is not None else "-"
