"""The one data converter used by the API, the worker, the replayer and the CLI.

Pydantic models travel as JSON; failures keep their attributes encoded so that a message can never leak data
into the history once a payload codec is configured.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from pydantic import SecretStr

    from vangnet.settings import Settings
    from vangnet.vault import Vault

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """Pydantic JSON payloads, failures with encoded attributes, and (when given) the encrypting codec."""
    return dataclasses.replace(
        pydantic_data_converter,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
        payload_codec=codec,
    )


def _keys(configured: Mapping[str, SecretStr], active: str | None, key_file: Path) -> tuple[dict[str, bytes], str]:
    """The keys and the active key id from the settings, or else from the embedded default's key file."""
    from vangnet.codec import load_or_create_keys, parse_keys

    if configured:
        keys = parse_keys({k: v.get_secret_value() for k, v in configured.items()})
        return keys, active or next(iter(keys))
    return load_or_create_keys(key_file)


def vault_for(settings: Settings) -> Vault:
    """The vault for personal data at rest, with the master keys from the settings or var/keys."""
    from vangnet.vault import Vault

    return Vault(*_keys(settings.master_keys, settings.master_active_key,
                        settings.var_dir / "keys" / "master-keys.json"))


def codec_for(settings: Settings) -> PayloadCodec:
    """The payload codec from the settings, or the embedded default's key file under var/keys."""
    from vangnet.codec import AesGcmCodec

    return AesGcmCodec(*_keys(settings.payload_keys, settings.payload_active_key,
                              settings.var_dir / "keys" / "payload-keys.json"))
