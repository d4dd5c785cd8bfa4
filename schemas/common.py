"""Types every procedure shares (FBU, energy, retention), defined once: the strict base of API bodies, what a step
answers, a deadline, the frozen base of rule books, a fraction, the "no rule for that date" error and the refusal
of a rule between fields."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.text import AsSent

Fraction = Annotated[Decimal, Field(ge=0, le=1, examples=["0.45"])]


class Strict(AsSent):
    """Base of the API bodies: unknown fields refused, text stripped, no NUL characters."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class StepResult(BaseModel):
    """What an update answers: the case (or claim) status after the step."""

    status: str
    message: str


class Deadline(BaseModel):
    """A legal deadline shown to users: what is due, and the Brussels calendar day it falls on."""

    kind: str
    due_on: date


class Frozen(BaseModel):
    """Base of the rule-book models. Frozen, so a book handed to a workflow can never be edited in place; extra
    fields refused, so a typo in the operator's file ("tranche1_cap") fails at load instead of being ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class NoRuleSetError(ValueError):
    """No rule set covers the date: the book does not say what applied then."""


class RuleBetweenFields(ValueError):
    """Each field is valid, but together they break a rule no JSON schema can state (instalments in date order, a
    period that ends after it starts). Raised by a model validator, it is answered as its own documented refusal
    (``inconsistent_fields``), not as a request that breaks the schema."""
