"""Personal data at rest: sealed per data subject (envelope encryption), erasable by deleting one key.

Each subject (a tenant, a landlord, a household) gets its own AES-256-GCM data key, stored only wrapped by a
master key from the settings. ``erase`` deletes the wrapped key: the events and rows stay, the personal fields
can never be opened again and read as ``ERASED``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ERASED = "erased"
NONCE = 12


class VaultError(RuntimeError):
    """A master key is missing or data does not open."""


class Vault:
    def __init__(self, master_keys: Mapping[str, bytes], active: str) -> None:
        if active not in master_keys:
            raise VaultError(f"the active master key '{active}' is not configured")
        self._masters = {k: AESGCM(v) for k, v in master_keys.items()}
        self._active = active

    async def seal(self, conn: asyncpg.Connection | asyncpg.Pool, data: Mapping[str, Any]) -> tuple[str, bytes]:
        """A new subject with its own data key; returns the subject id and the sealed data."""
        subject_id = "sub-" + uuid.uuid4().hex
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(NONCE)
        wrapped = nonce + self._masters[self._active].encrypt(nonce, data_key, subject_id.encode())
        await conn.execute("INSERT INTO subject_keys (subject_id, master_key, wrapped_key) VALUES ($1, $2, $3)",
                           subject_id, self._active, wrapped)
        nonce = os.urandom(NONCE)
        sealed = nonce + AESGCM(data_key).encrypt(nonce, json.dumps(data).encode(), subject_id.encode())
        return subject_id, sealed

    async def open(self, conn: asyncpg.Connection | asyncpg.Pool, subject_id: str, sealed: bytes
                   ) -> dict[str, Any] | None:
        """The data, or None when the subject was erased."""
        row = await conn.fetchrow("SELECT master_key, wrapped_key FROM subject_keys WHERE subject_id = $1", subject_id)
        if row is None or row["wrapped_key"] is None:
            return None
        master = self._masters.get(row["master_key"])
        if master is None:
            raise VaultError(f"master key '{row['master_key']}' is needed to open this data but is not configured")
        wrapped = bytes(row["wrapped_key"])
        data_key = master.decrypt(wrapped[:NONCE], wrapped[NONCE:], subject_id.encode())
        plain = AESGCM(data_key).decrypt(sealed[:NONCE], sealed[NONCE:], subject_id.encode())
        result: dict[str, Any] = json.loads(plain)
        return result


async def erase(conn: asyncpg.Connection | asyncpg.Pool, subject_id: str) -> bool:
    """Delete the subject's data key for good; True when it existed and was not erased yet."""
    done = await conn.execute(
        "UPDATE subject_keys SET wrapped_key = NULL, erased_at = now() WHERE subject_id = $1 AND erased_at IS NULL",
        subject_id)
    return done.endswith(" 1")

