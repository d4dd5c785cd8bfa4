"""No poison input: every callback type is checked at the edge against its own data model, and a malformed
callback that reaches a case workflow anyway (sent straight to it) is recorded as rejected while the case goes on.

Tried as a netbeheerder integration would: each type with each required field missing, and with each field of the
wrong type, correctly signed: all refused with a 422 naming the field; nothing stored, nothing forwarded.
"""

from __future__ import annotations

from typing import Any, get_args

import pytest
from pydantic import BaseModel
from temporalio.client import WorkflowExecutionStatus

from schemas.netbeheerder import Callback
from schemas.netbeheerder_callbacks import CallbackIn
from tests.conftest import eventually
from tests.energy_helpers import EnergyDriver, callback
from workflows.energy_case import EnergyCaseWorkflow

MEMBERS: list[type[BaseModel]] = list(get_args(get_args(CallbackIn)[0]))
VALID: dict[str, Any] = {"invoice_id": "inv-1", "due_on": "2027-01-15", "amount": "42.00", "total_debt": "149.99",
                         "on": True, "reason": "debt", "on_date": "2027-03-01", "municipality_nis": "44021"}
WRONG: dict[str, Any] = {"invoice_id": 7, "due_on": "15/01/2027", "amount": "twelve", "total_debt": True,
                         "on": "yes", "reason": 3, "on_date": 20270301, "municipality_nis": "Gent"}


def data_fields(member: type[BaseModel]) -> tuple[type[BaseModel], list[str]]:
    data_model = member.model_fields["data"].annotation
    assert isinstance(data_model, type) and issubclass(data_model, BaseModel)
    return data_model, list(data_model.model_fields)


def kind(member: type[BaseModel]) -> str:
    return str(get_args(member.model_fields["type"].annotation)[0])


def test_every_callback_type_has_a_data_model() -> None:
    assert sorted(kind(m) for m in MEMBERS) == sorted(get_args(Callback.model_fields["type"].annotation))


MISSING = [(kind(m), f) for m in MEMBERS for f, info in data_fields(m)[0].model_fields.items() if info.is_required()]
WRONGLY_TYPED = [(kind(m), f) for m in MEMBERS for f in data_fields(m)[1]]


@pytest.mark.parametrize(("type_", "field"), MISSING)
async def test_a_required_field_missing_is_refused_at_the_edge(stack, type_: str, field: str) -> None:
    e = EnergyDriver(stack)
    data = {k: v for k, v in VALID.items() if k in data_fields(_member(type_))[1] and k != field}
    body = callback(e.new_ean(), type_, data=data)
    r = await e.post_callback(body)
    assert r.status_code == 422 and f"data.{field}" in r.json()["detail"], (r.status_code, r.text)
    stored = await stack.pool.fetchval("SELECT 1 FROM netbeheerder_callbacks WHERE event_id = $1", body["event_id"])
    assert stored is None


@pytest.mark.parametrize(("type_", "field"), WRONGLY_TYPED)
async def test_a_field_of_the_wrong_type_is_refused_at_the_edge(stack, type_: str, field: str) -> None:
    e = EnergyDriver(stack)
    data = {k: v for k, v in VALID.items() if k in data_fields(_member(type_))[1]}
    data[field] = WRONG[field]
    r = await e.post_callback(callback(e.new_ean(), type_, data=data))
    assert r.status_code == 422 and f"data.{field}" in r.json()["detail"], (r.status_code, r.text)


def _member(type_: str) -> type[BaseModel]:
    return next(m for m in MEMBERS if kind(m) == type_)


async def test_a_malformed_callback_sent_straight_to_the_workflow_leaves_it_running(stack) -> None:
    e = EnergyDriver(stack)
    case_id, code = await e.open("gas")
    handle = stack.env.client.get_workflow_handle(case_id)
    bad = Callback.model_validate(callback(code, "invoice_issued", data={"invoice_id": "inv-9"}))  # no due_on
    await handle.signal(EnergyCaseWorkflow.netbeheerder_callback, bad)
    rejected = await e.wait_for(case_id, "CallbackRejected")
    assert rejected[0]["data"]["event_id"] == bad.event_id
    await handle.signal("netbeheerder_callback", {"type": "no-such-type", "data": [1, 2]})  # not even a Callback
    good = Callback.model_validate(callback(code, "debt_updated", data={"total_debt": "80.00"}))
    await handle.signal(EnergyCaseWorkflow.netbeheerder_callback, good)
    await e.wait_for(case_id, "DebtUpdated")

    async def running() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    assert await eventually(running)
    print(f"verified: {case_id} recorded CallbackRejected, ignored a non-callback signal, applied the next one")
