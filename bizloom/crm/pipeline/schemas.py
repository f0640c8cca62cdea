"""API schemas of the pipeline: opportunities with their product lines, stage moves, pipelines
with their stages, loss reasons and competitors."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from ninja import Field, FilterLookup, Schema

from bizloom.crm.models import (
    LossReason,
    Opportunity,
    OpportunityLine,
    Pipeline,
    Source,
    Stage,
    StageHistory,
)
from bizloom.crm.schemas import Amount, CustomFields
from bizloom.platform import access
from bizloom.platform.api.listing import ListFilters, OrderingParams
from bizloom.platform.api.pagination import Page
from bizloom.platform.api.schemas import OneOf, ReadSchema, RecordId, WriteSchema, amount_str
from bizloom.platform.customfields import api as custom_api

SourceValue = Annotated[str, OneOf(Source, blank=True)]
KindValue = Annotated[str, OneOf(Stage.Kind)]
Quantity = Annotated[Decimal, Field(max_digits=19, decimal_places=4, allow_inf_nan=False, gt=0,
                                    description="Decimal quantity as a string, e.g. \"2.5\".")]
Price = Annotated[Decimal, Field(max_digits=19, decimal_places=4, allow_inf_nan=False, ge=0,
                                 description="Decimal amount as a string, e.g. \"185000.00\".")]
Percent = Annotated[Decimal, Field(max_digits=5, decimal_places=2, allow_inf_nan=False, ge=0, le=100,
                                   description="Percentage as a string, e.g. \"5.5\".")]
Probability = Annotated[int, Field(ge=0, le=100)]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$",
                                description="ISO 4217 code in upper case, e.g. CNY.")]
Name100 = Annotated[str, Field(max_length=100)]

OPPORTUNITY_ORDERING = {
    "name": "name",
    "account": "account__name",
    "stage": "stage__position",
    "amount": "amount",
    "probability": "probability",
    "expected_close": "expected_close",
    "owner": "owner__username",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "closed_at": "closed_at",
}


def _user(context: dict[str, Any] | None) -> Any:
    request = (context or {}).get("request")
    return getattr(request, "user", None)


# --- opportunities ---------------------------------------------------------------------------------


class LineOut(Schema):
    """A product line. Its prices are null for callers whose roles hide the opportunity's amount
    (they would tell it)."""

    id: int
    position: int
    product_name: str
    description: str
    quantity: str
    unit_price: str | None
    discount_percent: str | None
    delivery_date: date | None
    total: str | None = Field(description="quantity × unit price × (1 − discount), rounded to cents; "
                                          "null when the amount is hidden from you.")

    @staticmethod
    def resolve_quantity(obj: OpportunityLine) -> str | None:
        return amount_str(obj.quantity)

    @staticmethod
    def resolve_unit_price(obj: OpportunityLine, context: dict[str, Any] | None = None) -> str | None:
        return amount_str(obj.unit_price) if _shows_amount(context) else None

    @staticmethod
    def resolve_discount_percent(obj: OpportunityLine, context: dict[str, Any] | None = None) -> str | None:
        return amount_str(obj.discount_percent, 2) if _shows_amount(context) else None

    @staticmethod
    def resolve_total(obj: OpportunityLine, context: dict[str, Any] | None = None) -> str | None:
        return amount_str(obj.total, 2) if _shows_amount(context) else None


def _shows_amount(context: dict[str, Any] | None) -> bool:
    user = _user(context)
    return user is None or access.field_policy(user, Opportunity, "view").shows("amount")


class OpportunityOut(ReadSchema):
    id: int
    name: str
    account: int
    contact: int | None
    owner: int | None = Field(description="Id of the owning user.")
    pipeline: int
    stage: int
    status: str = Field(description="The stage's kind: open, won or lost.")
    probability: int
    amount: str = Field(description="Decimal amount as a string; the lines' total when there are lines.")
    weighted_amount: str | None = Field(description="amount × probability, rounded to cents.")
    currency: str
    expected_close: date | None
    source: str
    campaign: str
    next_step: str
    description: str
    competitors: list[int]
    loss_reason: int | None
    loss_note: str
    closed_at: datetime | None
    stage_changed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lines: list[LineOut]
    custom_fields: dict[str, Any] = Field(description="Custom field values by key (decimals as strings).")

    @staticmethod
    def resolve_account(obj: Opportunity) -> int:
        return obj.account_id

    @staticmethod
    def resolve_contact(obj: Opportunity) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_owner(obj: Opportunity) -> int | None:
        return obj.owner_id

    @staticmethod
    def resolve_pipeline(obj: Opportunity) -> int:
        return obj.pipeline_id

    @staticmethod
    def resolve_stage(obj: Opportunity) -> int:
        return obj.stage_id

    @staticmethod
    def resolve_status(obj: Opportunity) -> str:
        return str(obj.stage.kind)

    @staticmethod
    def resolve_loss_reason(obj: Opportunity) -> int | None:
        return obj.loss_reason_id

    @staticmethod
    def resolve_amount(obj: Opportunity) -> str | None:
        return amount_str(obj.amount)

    @staticmethod
    def resolve_weighted_amount(obj: Opportunity, context: dict[str, Any] | None = None) -> str | None:
        user = _user(context)
        if user is not None and not access.field_policy(user, Opportunity, "view").shows("amount"):
            return None  # it would tell the hidden amount
        return amount_str(obj.weighted_amount, 2)

    @staticmethod
    def resolve_competitors(obj: Opportunity) -> list[int]:
        return sorted(c.pk for c in obj.competitors.all())

    @staticmethod
    def resolve_lines(obj: Opportunity) -> list[OpportunityLine]:
        return list(obj.lines.order_by("position", "pk"))

    @staticmethod
    def resolve_custom_fields(obj: Opportunity, context: dict[str, Any] | None = None) -> dict[str, Any]:
        return custom_api.output(obj, _user(context))


class OpportunityPage(Page[OpportunityOut]):
    """A page of opportunities."""


class LineIn(WriteSchema):
    """One product line."""

    access_model: ClassVar[str] = "crm.OpportunityLine"

    product_name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=500)
    quantity: Quantity = Decimal(1)
    unit_price: Price = Decimal(0)
    discount_percent: Percent = Decimal(0)
    delivery_date: date | None = None


class OpportunityPatch(WriteSchema):
    """Any subset of an opportunity's fields; fields left out keep their value. ``lines`` replaces
    every product line (the amount then follows them); ``stage`` or ``pipeline`` moves the
    opportunity (the stage rules apply: 422 when required fields are missing)."""

    access_model: ClassVar[str] = "crm.Opportunity"

    name: str = Field("", min_length=1, max_length=200)
    account: RecordId | None = None
    contact: RecordId | None = None
    owner: RecordId | None = None
    pipeline: RecordId | None = None
    stage: RecordId | None = None
    probability: Probability | None = None
    amount: Amount | None = None
    currency: Currency = "CNY"
    expected_close: date | None = None
    source: SourceValue = ""
    campaign: str = Field("", max_length=200)
    next_step: str = Field("", max_length=200)
    description: str = Field("", max_length=20_000)
    competitors: list[RecordId] = Field(default_factory=list, max_length=50)
    loss_reason: RecordId | None = None
    loss_note: str = Field("", max_length=2000)
    lines: list[LineIn] | None = Field(None, max_length=200)
    custom_fields: CustomFields = Field(default_factory=dict)


class OpportunityIn(OpportunityPatch):
    """A new opportunity: ``account`` is required (an account you may see); pipeline defaults to
    the default pipeline, stage to its first open stage, probability to the stage's, owner to
    you. With ``lines`` the amount is their total."""

    name: str = Field(min_length=1, max_length=200)
    account: RecordId


class LinesIn(WriteSchema):
    """All product lines of an opportunity (replacing the current ones)."""

    access_model: ClassVar[str] = "crm.Opportunity"

    lines: list[LineIn] = Field(default_factory=list, max_length=200)


class MoveIn(WriteSchema):
    """The stage to move to (of the opportunity's pipeline); a lost stage needs ``loss_reason``."""

    access_model: ClassVar[str] = "crm.Opportunity"

    stage: RecordId
    loss_reason: RecordId | None = None
    loss_note: str = Field("", max_length=2000)


class OpportunityFilters(ListFilters):
    search_fields = ("name__icontains", "account__name__icontains")

    pipeline: Annotated[RecordId | None, FilterLookup("pipeline_id")] = None
    stage: Annotated[RecordId | None, FilterLookup("stage_id")] = None
    status: Annotated[KindValue | None, FilterLookup("stage__kind")] = None
    account: Annotated[RecordId | None, FilterLookup("account_id")] = None
    owner: Annotated[RecordId | None, FilterLookup("owner_id")] = None
    expected_close_from: Annotated[date | None, FilterLookup("expected_close__gte")] = None
    expected_close_to: Annotated[date | None, FilterLookup("expected_close__lte")] = None


class OpportunityOrdering(OrderingParams):
    pass


class HistoryOut(Schema):
    id: int
    stage: int
    entered_at: datetime
    entered_by: int | None
    left_at: datetime | None
    left_by: int | None
    amount: str | None = Field(description="The amount on entry; null when the amount is hidden from you.")
    probability: int

    @staticmethod
    def resolve_stage(obj: StageHistory) -> int:
        return obj.stage_id

    @staticmethod
    def resolve_entered_by(obj: StageHistory) -> int | None:
        return obj.entered_by_id

    @staticmethod
    def resolve_left_by(obj: StageHistory) -> int | None:
        return obj.left_by_id

    @staticmethod
    def resolve_amount(obj: StageHistory, context: dict[str, Any] | None = None) -> str | None:
        return amount_str(obj.amount) if _shows_amount(context) else None  # it would tell the hidden amount


# --- settings ---------------------------------------------------------------------------------------


class StageOut(ReadSchema):
    id: int
    pipeline: int
    name: str
    name_zh_hans: str
    name_zh_hant: str
    label: str = Field(description="The name in the request's language.")
    position: int
    kind: str
    probability: int
    required_fields: list[str]
    is_active: bool

    @staticmethod
    def resolve_pipeline(obj: Stage) -> int:
        return obj.pipeline_id

    @staticmethod
    def resolve_label(obj: Stage) -> str:
        return obj.label()


class PipelineOut(ReadSchema):
    id: int
    name: str
    name_zh_hans: str
    name_zh_hant: str
    label: str = Field(description="The name in the request's language.")
    is_default: bool
    is_active: bool
    position: int
    stages: list[StageOut]

    @staticmethod
    def resolve_label(obj: Pipeline) -> str:
        return obj.label()

    @staticmethod
    def resolve_stages(obj: Pipeline) -> list[Stage]:
        return sorted(obj.stages.all(), key=lambda s: (s.position, s.pk))


class StagePatch(WriteSchema):
    """Any subset of a stage's fields."""

    access_model: ClassVar[str] = "crm.Stage"

    name: Name100 = ""
    name_zh_hans: Name100 = ""
    name_zh_hant: Name100 = ""
    position: int = Field(0, ge=0, le=1_000_000)
    kind: KindValue = Stage.Kind.OPEN.value
    probability: Probability = 10
    required_fields: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=100)
    is_active: bool = True


class StageIn(StagePatch):
    """A new stage (at the end unless ``position`` is given)."""


class PipelinePatch(WriteSchema):
    """Any subset of a pipeline's fields."""

    access_model: ClassVar[str] = "crm.Pipeline"

    name: Name100 = ""
    name_zh_hans: Name100 = ""
    name_zh_hant: Name100 = ""
    is_default: bool = False
    is_active: bool = True
    position: int = Field(0, ge=0, le=1_000_000)


class PipelineIn(PipelinePatch):
    """A new pipeline with ``stages`` (in order) or, without, the standard six stages. It needs
    an active open, won and lost stage."""

    stages: list[StageIn] | None = Field(None, max_length=50)


class LossReasonOut(ReadSchema):
    id: int
    name: str
    name_zh_hans: str
    name_zh_hant: str
    label: str = Field(description="The name in the request's language.")
    is_active: bool

    @staticmethod
    def resolve_label(obj: LossReason) -> str:
        return obj.label()


class LossReasonIn(WriteSchema):
    """A loss reason: a name in at least one language."""

    access_model: ClassVar[str] = "crm.LossReason"

    name: Name100 = ""
    name_zh_hans: Name100 = ""
    name_zh_hant: Name100 = ""
    is_active: bool = True


class CompetitorOut(ReadSchema):
    id: int
    name: str
    website: str
    strengths: str
    weaknesses: str
    is_active: bool


class CompetitorPatch(WriteSchema):
    """Any subset of a competitor's fields."""

    access_model: ClassVar[str] = "crm.Competitor"

    name: str = Field("", min_length=1, max_length=200)
    website: str = Field("", max_length=200)
    strengths: str = Field("", max_length=20_000)
    weaknesses: str = Field("", max_length=20_000)
    is_active: bool = True


class CompetitorIn(CompetitorPatch):
    """A new competitor (unique name, ignoring case)."""

    name: str = Field(min_length=1, max_length=200)

