"""Encryption of every Temporal payload (AES-256-GCM), so histories hold no readable case data.

Each encrypted payload names its key in the metadata (``encryption-key-id``): new payloads use the active key,
older ones stay readable as long as their key is listed, which is how keys rotate. Payloads that were written
before encryption was switched on pass through unchanged.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class CodecKeyError(ValueError):
    """A payload names a key that is not configured, or a key is malformed."""


class AesGcmCodec(PayloadCodec):
    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        if active not in keys:
            raise CodecKeyError(f"the active payload key '{active}' is not among the configured keys")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise CodecKeyError(f"payload key '{key_id}' must be 32 bytes (AES-256), not {len(key)}")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = active

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self._active]
        out = []
        for p in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, p.SerializeToString(), self._active.encode())
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: self._active.encode()}, data=nonce + sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p)
                continue
            key_id = p.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise CodecKeyError(f"payload encrypted with unknown key '{key_id}'")
            plain = cipher.decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], key_id.encode())
            out.append(Payload.FromString(plain))
        return out


def new_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def parse_keys(raw: Mapping[str, str]) -> dict[str, bytes]:
    try:
        return {key_id: base64.b64decode(value, validate=True) for key_id, value in raw.items()}
    except ValueError as exc:
        raise CodecKeyError("payload keys must be base64-encoded") from exc


def load_or_create_keys(path: Path) -> tuple[dict[str, bytes], str]:
    """The embedded default's key file ``{"active": id, "keys": {id: base64}}``, created on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"active": "k1", "keys": {"k1": new_key()}}))
        path.chmod(0o600)
    data = json.loads(path.read_text())
    return parse_keys(data["keys"]), str(data["active"])
