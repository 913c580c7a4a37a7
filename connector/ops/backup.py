"""A backup of one connector: the SQLite database (a consistent online copy through sqlite3's
backup API, WAL included, while the server runs) and the key material – ``secret.key`` (it
decrypts the stored passwords), the keys directory (development keys, the CA) and the evidence
keys (the HMAC keys that authenticate the evidence chain, docs/evidence.md) – in one
``.tar.gz`` with a manifest of SHA-256 digests; and its restore into a new data directory.

With PostgreSQL the database is not in the archive: ``pg_dump`` backs it up (docs/operations.md,
"Backup and restore"); the archive then holds the key material alone and says so.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy.engine import make_url

from connector.clock import utcnow
from connector.config import Settings
from connector.errors import SimpleError

FORMAT = "connector-backup/1"
MANIFEST = "MANIFEST.json"
DATABASE = "connector.db"
SECRET_KEY = "secret.key"
KEYS = "keys"
EVIDENCE_KEYS = "evidence-keys"


class BackupError(SimpleError):
    """A backup that cannot be written, or an archive that cannot be restored; the message says why."""


@dataclass
class BackupReport:
    path: Path
    files: dict[str, str] = field(default_factory=dict)  # archive name -> sha256
    database: str = "sqlite"  # or "postgresql: not included (pg_dump)"


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file of ``settings``, or None for another database (PostgreSQL)."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite":
        return None
    return Path(url.database or "")


def write_backup(settings: Settings, out: Path) -> BackupReport:
    report = BackupReport(out)
    members: dict[str, bytes] = {}
    db = sqlite_path(settings)
    if db is None:
        report.database = "postgresql: not included; back it up with pg_dump (docs/operations.md)"
    else:
        if not db.is_file():
            raise BackupError(f"no database at {db}: check --data-dir or --config")
        members[DATABASE] = _online_copy(db)
    secret = settings.effective_secret_key_file
    if secret.is_file():
        members[SECRET_KEY] = secret.read_bytes()
    for prefix, directory in (
        (KEYS, settings.effective_keys_dir),
        (EVIDENCE_KEYS, settings.effective_evidence_keys_dir),
    ):
        if directory.is_dir():
            for path in sorted(p for p in directory.rglob("*") if p.is_file()):
                members[f"{prefix}/{path.relative_to(directory).as_posix()}"] = path.read_bytes()
    report.files = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    manifest = {
        "format": FORMAT,
        "created": utcnow().isoformat(),
        "database": report.database,
        "files": report.files,
    }
    members = {MANIFEST: json.dumps(manifest, indent=2).encode(), **members}
    tmp = out.with_name(out.name + ".partial")
    try:
        with tarfile.open(tmp, "w:gz") as archive:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o600
                info.mtime = int(utcnow().timestamp())
                archive.addfile(info, io.BytesIO(data))
        tmp.chmod(0o600)  # it holds the secret key and private keys
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"cannot write {out}: {exc.strerror}") from None
    return report


def _online_copy(db: Path) -> bytes:
    """A consistent copy of a live SQLite database (the backup API sees committed pages only,
    the WAL's included), read back as bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / DATABASE
        source = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot copy {db}: {exc}") from None
        finally:
            target.close()
            source.close()
        return copy.read_bytes()


def restore_backup(settings: Settings, archive_path: Path) -> BackupReport:
    """Restore into ``settings``' (new) data directory; refuses to overwrite anything."""
    members = _read_archive(archive_path)
    manifest = json.loads(members.pop(MANIFEST))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive_path}: not a connector backup ({manifest.get('format')!r})")
    files: dict[str, str] = manifest.get("files", {})
    if set(files) != set(members):
        raise BackupError(f"{archive_path}: the files do not match the manifest")
    for name, data in members.items():
        if hashlib.sha256(data).hexdigest() != files[name]:
            raise BackupError(f"{archive_path}: {name} is damaged (SHA-256 differs from the manifest)")
    targets = {name: _target(settings, name) for name in members}
    if DATABASE in members and sqlite_path(settings) is None:
        raise BackupError("the backup holds a SQLite database but the configuration names another database")
    taken = [str(path) for path in targets.values() if path.exists()]
    if taken:
        raise BackupError(f"will not overwrite {taken[0]}: restore into a new data directory")
    for name, path in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(members[name])
        if name != DATABASE:
            path.chmod(0o600)
    return BackupReport(archive_path, files, manifest.get("database", "sqlite"))


def _target(settings: Settings, name: str) -> Path:
    if name == DATABASE:
        return sqlite_path(settings) or settings.data_dir / DATABASE
    if name == SECRET_KEY:
        return settings.effective_secret_key_file
    if PurePosixPath(name).parts[0] == EVIDENCE_KEYS:
        return settings.effective_evidence_keys_dir / PurePosixPath(name).relative_to(EVIDENCE_KEYS)
    return settings.effective_keys_dir / PurePosixPath(name).relative_to(KEYS)


def _read_archive(path: Path) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for info in archive:
                if not info.isfile() or not _allowed(info.name):
                    raise BackupError(f"{path}: unexpected member {info.name!r}")
                stream = archive.extractfile(info)
                members[info.name] = stream.read() if stream else b""
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"cannot read {path}: {exc}") from None
    if MANIFEST not in members:
        raise BackupError(f"{path}: no {MANIFEST}")
    return members


def _allowed(name: str) -> bool:
    if name in (MANIFEST, DATABASE, SECRET_KEY):
        return True
    parts = PurePosixPath(name).parts
    return (
        len(parts) >= 2
        and parts[0] in (KEYS, EVIDENCE_KEYS)
        and all(p not in ("", ".", "..") for p in parts)
        and "\\" not in name
    )
