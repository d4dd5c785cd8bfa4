"""The one data converter used by the API, the worker, the replayer and the CLI.

Pydantic models travel as JSON; failures keep their attributes encoded so that a message can never leak data
into the history once a payload codec is configured.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from vangnet.platform.settings import Settings
from vangnet.security.codec import AesGcmCodec, load_or_create_keys, parse_keys
from vangnet.security.vault import Vault


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """Pydantic JSON payloads, failures with encoded attributes, and (when given) the encrypting codec."""
    return dataclasses.replace(
        pydantic_data_converter,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
        payload_codec=codec,
    )


def _keys(configured: Mapping[str, SecretStr], active: str | None, key_file: Path) -> tuple[dict[str, bytes], str]:
    """The keys and the active key id from the settings, or else from the embedded default's key file."""
    if configured:
        keys = parse_keys({k: v.get_secret_value() for k, v in configured.items()})
        return keys, active or next(iter(keys))
    return load_or_create_keys(key_file)


def vault_for(settings: Settings) -> Vault:
    """The vault for personal data at rest, with the master keys from the settings or var/keys."""
    return Vault(*_keys(settings.master_keys, settings.master_active_key,
                        settings.var_dir / "keys" / "master-keys.json"))


def codec_for(settings: Settings) -> PayloadCodec:
    """The payload codec from the settings, or the embedded default's key file under var/keys."""
    return AesGcmCodec(*_keys(settings.payload_keys, settings.payload_active_key,
                              settings.var_dir / "keys" / "payload-keys.json"))
