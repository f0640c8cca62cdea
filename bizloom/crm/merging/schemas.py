"""API schemas of the duplicate queue and the merge tool."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Schema

from bizloom.crm.models import DuplicatePair
from bizloom.platform.api.pagination import Page
from bizloom.platform.api.schemas import OneOf, RecordId, WriteSchema

Kind = Annotated[str, OneOf(["account", "contact", "lead"])]
PairRule = Annotated[str, OneOf(DuplicatePair.Rule)]
PairStatus = Annotated[str, OneOf(DuplicatePair.Status)]
MAX_OTHERS = 9


class RecordRef(Schema):
    id: int
    name: str


class PairOut(Schema):
    id: int
    type: str = Field(description="account, contact or lead.")
    rule: str = Field(description="tax_id, email, phone or name.")
    value: str = Field(description="The shared (normalised) value; empty when its field is hidden from you.")
    status: str
    first: RecordRef
    second: RecordRef
    detected_at: datetime
    resolved_at: datetime | None


class PairPage(Page[PairOut]):
    """A page of possible duplicates."""


class PairFilters(Schema):
    type: Kind | None = None
    rule: PairRule | None = None
    status: PairStatus = DuplicatePair.Status.OPEN.value


class ScanOut(Schema):
    queued: bool
    detail: str


class MergeSelection(WriteSchema):
    """Which records to merge: ``survivor`` is kept, ``others`` are merged into it and deleted."""

    type: Kind
    survivor: RecordId
    others: list[RecordId] = Field(min_length=1, max_length=MAX_OTHERS)


class MergeIn(MergeSelection):
    """The merge itself: ``chosen`` maps a field (custom fields as ``cf_<key>``) to the id of the
    record whose value to keep; fields left out keep the preview's default."""

    chosen: dict[Annotated[str, Field(max_length=100)], RecordId] = Field(default_factory=dict, max_length=200)


class FieldValue(Schema):
    record: int
    value: str


class FieldChoiceOut(Schema):
    name: str
    label: str
    values: list[FieldValue]
    chosen: int = Field(description="Id of the record whose value is kept by default.")
    differs: bool


class MoveOut(Schema):
    label: str
    count: int


class PreviewOut(Schema):
    type: str
    survivor: RecordRef
    others: list[RecordRef]
    fields: list[FieldChoiceOut]
    moves: list[MoveOut] = Field(description="References that will be moved to the survivor.")


class MergeOut(Schema):
    type: str
    survivor: RecordRef
    merged: list[int]


def ref(record: Any) -> dict[str, Any]:
    """``{"id", "name"}`` of a record."""
    return {"id": record.pk, "name": str(record)}
