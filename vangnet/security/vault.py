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


    async def rewrap(self, conn: asyncpg.Connection, batch: int = 500) -> int:
        """Wrap up to ``batch`` subjects' data keys under the active master key (after a master-key rotation);
        returns how many were rewrapped. The data itself is not touched: only the small wrapped key changes,
        so an old master key can be retired once no row names it."""
        rows = await conn.fetch(
            "SELECT subject_id, master_key, wrapped_key FROM subject_keys WHERE master_key <> $1 "
            "AND wrapped_key IS NOT NULL ORDER BY subject_id LIMIT $2 FOR UPDATE SKIP LOCKED", self._active, batch)
        for row in rows:
            old = self._masters.get(row["master_key"])
            if old is None:
                raise VaultError(f"master key '{row['master_key']}' is needed to rewrap subject keys but is not "
                                 "configured; keep it listed until the rewrap is done")
            subject_id, wrapped = row["subject_id"], bytes(row["wrapped_key"])
            data_key = old.decrypt(wrapped[:NONCE], wrapped[NONCE:], subject_id.encode())
            nonce = os.urandom(NONCE)
            rewrapped = nonce + self._masters[self._active].encrypt(nonce, data_key, subject_id.encode())
            await conn.execute("UPDATE subject_keys SET master_key = $2, wrapped_key = $3 WHERE subject_id = $1",
                               subject_id, self._active, rewrapped)
        return len(rows)

    async def master_key_use(self, conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, int]:
        """How many live subject keys each master key wraps."""
        rows = await conn.fetch("SELECT master_key, count(*) AS n FROM subject_keys WHERE wrapped_key IS NOT NULL "
                                "GROUP BY master_key ORDER BY master_key")
        return {r["master_key"]: r["n"] for r in rows}


async def erase(conn: asyncpg.Connection | asyncpg.Pool, subject_id: str) -> bool:
    """Delete the subject's data key for good; True when it existed and was not erased yet."""
    done = await conn.execute(
        "UPDATE subject_keys SET wrapped_key = NULL, erased_at = now() WHERE subject_id = $1 AND erased_at IS NULL",
        subject_id)
    return done.endswith(" 1")

