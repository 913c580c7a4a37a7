"""Secrets at rest: the passwords PasswordDigest needs in plain text server-side are stored
encrypted (Fernet: AES-128-CBC + HMAC-SHA256, from the pinned ``cryptography``).

The key comes from the environment variable ``CONNECTOR_SECRET_KEY`` (a Fernet key) when set,
else from a key file (``secret_key_file``, default ``DATA_DIR/secret.key``, made on first use with
mode 0600). Every process sharing a database must use the same key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from connector.errors import SimpleError

KEY_ENV = "CONNECTOR_SECRET_KEY"


class SecretKeyError(SimpleError, ValueError):
    """No usable key: the message names the variable or file."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise SecretKeyError("the secret key is not a Fernet key (32 url-safe base64 bytes)") from None

    @classmethod
    def load(cls, key_file: Path, environ: dict[str, str] | os._Environ[str] | None = None) -> SecretBox:
        env = os.environ if environ is None else environ
        if env.get(KEY_ENV):
            return cls(env[KEY_ENV].encode())
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL: two processes starting at once never write two different keys.
            try:
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as out:
                    out.write(Fernet.generate_key())
        try:
            return cls(key_file.read_bytes().strip())
        except OSError as exc:
            raise SecretKeyError(f"cannot read the secret key file {key_file}: {exc.strerror}") from None

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode("utf-8"))

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode("utf-8")
        except InvalidToken:
            raise SecretKeyError(
                f"a stored secret does not open with this key (was {KEY_ENV} or the key file changed?)"
            ) from None
