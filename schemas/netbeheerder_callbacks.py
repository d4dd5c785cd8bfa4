"""One data model per callback type: what the API checks a netbeheerder callback against before taking it in.

A discriminated union on ``type`` (``CALLBACK_IN``): a missing or wrongly typed field is refused at the edge with
a 422 that names it (``data.due_on``), instead of reaching the case workflow. Types are strict (a date is an ISO
date string, an amount a decimal string or number, a switch a JSON boolean); fields this engine does not use are
allowed, so a netbeheerder can add some without breaking the integration. Pure: the workflow sandbox may import it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel as _Model
from pydantic import ConfigDict, Field, TypeAdapter

from schemas.netbeheerder import CallbackEnvelope

Amount = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2, examples=["155.00"])]
InvoiceId = Annotated[str, Field(min_length=1, max_length=100)]
Nis = Annotated[str, Field(pattern=r"^[0-9]{5}$", description="For a household without a case: its municipality.")]


class _Data(_Model):
    model_config = ConfigDict(strict=True, extra="allow")


class NoData(_Data):
    pass


class InvoiceIssuedData(_Data):
    invoice_id: InvoiceId
    due_on: date
    amount: Amount | None = None
    municipality_nis: Nis | None = None


class InvoicePaidData(_Data):
    invoice_id: InvoiceId


class InvoiceUnpaidData(_Data):
    invoice_id: InvoiceId | None = None
    due_on: date | None = None
    municipality_nis: Nis | None = None


class DebtUpdatedData(_Data):
    total_debt: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2, examples=["149.99"])]
    municipality_nis: Nis | None = None


class AmountData(_Data):
    amount: Amount


class MinimalSupplyData(_Data):
    on: bool
    reason: Annotated[str, Field(max_length=500)] | None = None


class DisconnectionData(_Data):
    on_date: date | None = None


class TakeoverConfirmed(CallbackEnvelope):
    type: Literal["takeover_confirmed"]
    data: NoData = Field(default_factory=NoData)


class PrepaymentActivated(CallbackEnvelope):
    type: Literal["prepayment_activated"]
    data: NoData = Field(default_factory=NoData)


class InvoiceIssued(CallbackEnvelope):
    type: Literal["invoice_issued"]
    data: InvoiceIssuedData


class InvoicePaid(CallbackEnvelope):
    type: Literal["invoice_paid"]
    data: InvoicePaidData


class InvoiceUnpaid(CallbackEnvelope):
    type: Literal["invoice_unpaid"]
    data: InvoiceUnpaidData = Field(default_factory=InvoiceUnpaidData)


class DebtUpdated(CallbackEnvelope):
    type: Literal["debt_updated"]
    data: DebtUpdatedData


class TopupLoaded(CallbackEnvelope):
    type: Literal["topup_loaded"]
    data: AmountData


class EmergencyCreditGranted(CallbackEnvelope):
    type: Literal["emergency_credit_granted"]
    data: AmountData


class MinimalSupplySwitched(CallbackEnvelope):
    type: Literal["minimal_supply_switched"]
    data: MinimalSupplyData


class CustomerLeft(CallbackEnvelope):
    type: Literal["customer_left"]
    data: NoData = Field(default_factory=NoData)


class DisconnectionDone(CallbackEnvelope):
    type: Literal["disconnection_done"]
    data: DisconnectionData = Field(default_factory=DisconnectionData)


CallbackIn = Annotated[
    TakeoverConfirmed | PrepaymentActivated | InvoiceIssued | InvoicePaid | InvoiceUnpaid | DebtUpdated
    | TopupLoaded | EmergencyCreditGranted | MinimalSupplySwitched | CustomerLeft | DisconnectionDone,
    Field(discriminator="type"),
]
CALLBACK_IN: TypeAdapter[CallbackIn] = TypeAdapter(CallbackIn)
