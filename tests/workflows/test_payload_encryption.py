"""Every payload in a Temporal history is encrypted: the raw history holds no case data and no personal data."""

from __future__ import annotations

import ast
import base64
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Stack, eventually
from tests.energy_helpers import EnergyDriver
from tests.fbu_helpers import Driver
from vangnet.security.codec import AesGcmCodec, CodecKeyError

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"

PLAINTEXT = [b"Eloi", b"Janssens", b"85073003328", b"BE71096123456769", b"BE68539007547034", b"Samira",
             b"Sint-Pietersnieuwstraat", b"2400.00", b"44021", b"fbu-2022", b"private"]

LOCAL_ACTIVITY_META = {"seq", "attempt", "activity_id", "activity_type", "complete_time", "backoff",
                       "original_schedule_time", "activation_index"}


def patch_ids() -> set[str]:
    """Every id a workflow passes to ``workflow.patched``, read from the workflow modules' own constants."""
    ids: set[str] = set()
    for path in WORKFLOWS.glob("*.py"):
        module = importlib.import_module(f"workflows.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "patched"
                    and isinstance(node.args[0], ast.Name)):
                ids.add(getattr(module, node.args[0].id))
    return ids


PATCH_IDS = patch_ids()


def payloads(node: Any) -> Iterator[dict[str, Any]]:
    """Every payload in a raw history, except what the SDK core writes outside the data converter, checked to hold no
    case data: a patch's marker and ``TemporalChangeVersion`` search attribute, a local activity's timing."""
    if isinstance(node, dict):
        if "data" in node and "metadata" in node:
            yield node
        for key, value in node.items():
            if key == "markerRecordedEventAttributes" and value.get("markerName") == "core_patch":
                (marker,) = value["details"]["patch-data"]["payloads"]
                patch = json.loads(base64.b64decode(marker["data"]))
                assert patch["id"] in PATCH_IDS and patch == {"id": patch["id"], "deprecated": False}, patch
                continue
            if key == "markerRecordedEventAttributes" and value.get("markerName") == "core_local_activity":
                (meta,) = value["details"]["data"]["payloads"]  # which activity ran when; its result stays sealed
                assert set(json.loads(base64.b64decode(meta["data"]))) <= LOCAL_ACTIVITY_META
                yield from payloads(value["details"]["result"])
                continue
            if key == "TemporalChangeVersion":
                assert set(json.loads(base64.b64decode(value["data"]))) <= PATCH_IDS
                continue
            yield from payloads(value)
    elif isinstance(node, list):
        for value in node:
            yield from payloads(value)


async def test_raw_histories_are_encrypted(stack: Stack) -> None:
    d = Driver(stack)
    case_id, _ = await d.in_force_case()
    claim = await eventually(lambda: d.claim(case_id, "initial"))
    await d.decide(claim["claim_id"], "reject", "Attest ontbreekt")  # starts the claim's workflow, from the log
    energy = EnergyDriver(stack)
    energy_case, _ = await energy.open("gas")
    await energy.step(energy_case, "close", {"reason": "moved"})  # an update and its events in the history too
    for workflow_id in (case_id, claim["claim_id"], energy_case):
        history = await stack.env.client.get_workflow_handle(workflow_id).fetch_history()
        raw = json.loads(history.to_json())
        found = list(payloads(raw))
        assert len(found) >= 3
        for p in found:
            assert base64.b64decode(p["metadata"]["encoding"]) == b"binary/encrypted"
            data = base64.b64decode(p.get("data", ""))
            for secret in PLAINTEXT:
                assert secret not in data, (workflow_id, secret)
        text = history.to_json().encode()
        for secret in PLAINTEXT[:7]:
            assert secret not in text


async def test_codec_round_trip_rotation_and_wrong_key() -> None:
    from temporalio.api.common.v1 import Payload

    old = AesGcmCodec({"k1": b"1" * 32}, "k1")
    rotated = AesGcmCodec({"k1": b"1" * 32, "k2": b"2" * 32}, "k2")
    original = [Payload(metadata={"encoding": b"json/plain"}, data=b'{"name": "Samira"}')]
    sealed_old = await old.encode(original)
    sealed_new = await rotated.encode(original)
    assert sealed_new[0].metadata["encryption-key-id"] == b"k2"
    assert await rotated.decode(sealed_old) == original  # old payloads stay readable after rotation
    assert await rotated.decode(sealed_new) == original
    with pytest.raises(CodecKeyError):
        await old.decode(sealed_new)
    assert await rotated.decode(original) == original  # unencrypted (older) payloads pass through
    with pytest.raises(CodecKeyError):
        AesGcmCodec({"k1": b"short"}, "k1")


async def test_codec_endpoint_is_for_administrators(stack: Stack) -> None:
    from google.protobuf.json_format import MessageToDict
    from temporalio.api.common.v1 import Payload, Payloads

    from tests.conftest import TEST_CODEC

    sealed = await TEST_CODEC.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')])
    body = MessageToDict(Payloads(payloads=sealed))
    r = await stack.api.post("/codec/decode", json=body, headers=stack.token("admin"))
    assert r.status_code == 200
    assert base64.b64decode(r.json()["payloads"][0]["data"]) == b'"hello"'
    for role, org in (("ocmw", "ocmw-44021"), ("auditor", None), ("wonen-vlaanderen", None)):
        assert (await stack.api.post("/codec/decode", json=body, headers=stack.token(role, org))).status_code == 403
    assert (await stack.api.post("/codec/decode", json=body)).status_code == 401
