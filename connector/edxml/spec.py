"""Plain-data (JSON) forms of the package model: the ``edxml build --from-json`` spec and the
``inspect --json`` output. Field names are the model's; dates are ``yyyy/MM/dd`` and
timestamps ``yyyy/MM/dd HH:mm:ss`` as in edXML. See docs/edxml.md for the spec format."""

from __future__ import annotations

import dataclasses
import enum
import mimetypes
import types
import typing
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

from connector.edxml.model import Attachment, AttachmentEncoding, DocumentPackage, Package, StatusPackage
from connector.edxml.paths import DATE_FORMAT, TIMESTAMP_FORMAT
from connector.errors import SimpleError


class SpecError(SimpleError, ValueError):
    """A spec that cannot become a package; the message names the offending key."""


def package_from_spec(spec: dict[str, Any], base_dir: Path) -> Package:
    spec = dict(spec)
    kind = spec.pop("type", "document")
    if kind == "status":
        return _convert(StatusPackage, spec, "$")
    if kind != "document":
        raise SpecError(f"$.type: {kind!r} is neither 'document' nor 'status'")
    files = spec.pop("attachments", [])
    spec.setdefault("document_id", str(uuid.uuid4()))
    package = _convert(DocumentPackage, spec, "$")
    package.attachments = [_attachment(item, base_dir, f"$.attachments[{i}]") for i, item in enumerate(files)]
    return package


def _attachment(item: dict[str, Any], base_dir: Path, where: str) -> Attachment:
    if "path" not in item:
        raise SpecError(f"{where}.path: required (the file to attach)")
    path = base_dir / item["path"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{where}.path: cannot read {str(path)!r} ({exc.strerror})") from None
    extra = set(item) - {"path", "name", "content_id", "content_type", "description", "encoding"}
    if extra:
        raise SpecError(f"{where}: unknown key {sorted(extra)[0]!r}")
    name = item.get("name", path.name)
    return Attachment(
        content_id=item.get("content_id", f"cid:{uuid.uuid4()}"),
        name=name,
        data=data,
        content_type=item.get("content_type") or mimetypes.guess_type(name)[0] or "application/octet-stream",
        description=item.get("description"),
        encoding=_convert(AttachmentEncoding, item.get("encoding", "zip"), f"{where}.encoding"),
    )


def _convert(kind: Any, value: Any, where: str) -> Any:  # noqa: C901 - one branch per type family
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return None if value is None else _convert(options[0], value, where)
    if origin is list:
        if not isinstance(value, list):
            raise SpecError(f"{where}: expected a list")
        (item_type,) = typing.get_args(kind)
        return [_convert(item_type, v, f"{where}[{i}]") for i, v in enumerate(value)]
    try:
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                raise SpecError(f"{where}: expected an object")
            hints = typing.get_type_hints(kind)
            names = {f.name for f in dataclasses.fields(kind) if f.init}
            unknown = set(value) - names
            if unknown:
                raise SpecError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(names))})")
            return kind(**{k: _convert(hints[k], v, f"{where}.{k}") for k, v in value.items()})
        if kind is datetime:
            return datetime.strptime(value, TIMESTAMP_FORMAT)
        if kind is date:
            return datetime.strptime(value, DATE_FORMAT).date()
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            return kind(value)
        if kind in (int, bool) and not isinstance(value, kind):
            raise SpecError(f"{where}: expected {kind.__name__}, got {value!r}")
        if kind is str and not isinstance(value, str):
            raise SpecError(f"{where}: expected a string, got {value!r}")
        return value
    except TypeError as exc:
        raise SpecError(f"{where}: {exc}") from None
    except ValueError as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(f"{where}: {value!r} is not valid ({exc})") from None


def to_plain(value: Any) -> Any:
    """The JSON-ready form of a model object; attachment bytes become size and SHA-256."""
    if isinstance(value, Attachment):
        plain = {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "data"}
        return plain | {"size": value.size, "sha256": value.sha256}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.strftime(TIMESTAMP_FORMAT)
    if isinstance(value, date):
        return value.strftime(DATE_FORMAT)
    return value
