"""The import declaration of opportunities with their product lines (issue #5).

Plain keyword arguments of ``ImportDeclaration`` (CRM sits below integration in the layers),
registered through ``integration.imports.declarations.EXTRA_MODULES``. Writes go through
``bizloom.crm.pipeline.services``, so stage rules (required fields, loss reasons), stage
history, the amount that follows the lines, audit entries and events all apply.

**One row per product line.** Rows with the same opportunity key — the external id (of the
batch's source), else the name and the account — are one opportunity: each row carries the
opportunity's columns and at most one product line (product, quantity, unit price, discount,
delivery date). The engine processes rows one by one (``row_by_row``), in file order, so the
first row of an opportunity creates or updates it and every following row updates it:

* the product lines an opportunity has in one file **replace** its lines, in file order: the
  k-th row with a product sets the lines to the file's first k lines (so when the last row
  of the opportunity is read, its lines are exactly the file's);
* except that as long as the file's lines are the same as the first lines already stored,
  nothing is written (a file re-imported unchanged gives "unchanged" rows). A consequence:
  a file giving, unchanged, only the first of an opportunity's stored lines leaves the later
  ones in place;
* rows without a product leave the lines alone; with lines the amount is their total (an
  amount column is then ignored on those rows, and refused by the services when it differs
  from the total of stored lines).

The first row of a new opportunity reports "create", the following ones "update" (of the
record the first one created); undo deletes what the batch created and restores the fields
and the product lines of updated opportunities (a row that sets lines keeps the lines it
replaced: ``snapshot_lines``).

The account is found by tax id, external id or name among the accounts the importer may
see; the contact among the account's contacts (or any readable contact); the pipeline and
stage by name in any language (default: the default pipeline and its first open stage; a
stage alone is looked for in the opportunity's pipeline, then the default one, then any).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bizloom.common.errors import ValidationFailed
from bizloom.crm import importkit
from bizloom.crm.models import Opportunity, OpportunityLine, Pipeline, Source, Stage
from bizloom.crm.pipeline import selectors, services
from bizloom.platform import access
from bizloom.platform.audit.services import to_json

OPPORTUNITY_IMPORT_FIELDS = ["name", "account", "contact", "pipeline", "stage", "probability", "amount", "currency",
                             "expected_close", "source", "campaign", "next_step", "description", "owner"]
LINE_LABELS = {
    "product": _("product"),
    "quantity": _("quantity"),
    "unit_price": _("unit price"),
    "discount": _("discount (%)"),
    "delivery_date": _("requested delivery date"),
}
LINE_KEYS = {"product": "product_name", "quantity": "quantity", "unit_price": "unit_price",
             "discount": "discount_percent", "delivery_date": "delivery_date"}
SYNONYMS = {
    "name": ("商机名称", "商机", "机会名称", "项目名称", "opportunity", "opportunity name", "deal", "deal name"),
    "account": ("客户", "客户名称", "公司", "公司名称", "所属客户", "company", "account name", "customer"),
    "contact": ("联系人", "联系人姓名", "contact name"),
    "pipeline": ("销售流程", "管道", "销售管道", "pipeline name", "sales process"),
    "stage": ("阶段", "销售阶段", "商机阶段", "sales stage", "deal stage"),
    "probability": ("赢率", "成交概率", "概率", "win probability", "probability"),
    "amount": ("金额", "商机金额", "预计金额", "deal amount", "value"),
    "currency": ("币种", "货币"),
    "expected_close": ("预计成交日期", "预计签约日期", "成交日期", "close date", "expected close"),
    "source": ("来源", "商机来源", "渠道", "lead source"),
    "campaign": ("市场活动", "活动", "campaign name"),
    "next_step": ("下一步", "下一步计划", "next action"),
    "description": ("描述", "说明", "备注", "notes", "remarks"),
    "owner": ("负责人", "销售", "所有人", "opportunity owner", "sales rep"),
    "product": ("产品", "产品名称", "商品", "品名", "product name", "item", "sku"),
    "quantity": ("数量", "qty", "quantity"),
    "unit_price": ("单价", "价格", "unit price", "price"),
    "discount": ("折扣", "折扣率", "折扣(%)", "discount", "discount %", "discount percent"),
    "delivery_date": ("交货日期", "交付日期", "要求交期", "交期", "delivery date", "requested delivery"),
}
MARKER = "updated_at"
"""A data key whose value the engine compares before and after a row: it changes exactly when the
row wrote something (the update writes nothing when nothing differs), product lines included."""
_PRIVATE = ("id", MARKER)
_FILE_LINES = "crm.opportunity:file-lines"


class RowData(dict[str, Any]):
    """The data of one row, with the product line (not a field of the opportunity) and the
    per-run record of the lines this file gave each opportunity (shared by every row)."""

    line: dict[str, Any] | None = None
    file_lines: dict[int, dict[str, Any]]


def build_opportunity(values: Mapping[str, str], context: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The ``create_opportunity``/``update_opportunity`` data of one row, its product line aside."""
    data = RowData()
    data.file_lines = context.cache.setdefault(_FILE_LINES, {})
    cells = dict(importkit.clean(values))
    line: dict[str, Any] = {}
    account = importkit.row_account(cells, data, context, errors)
    pipeline: Pipeline | None = None
    if "pipeline" in cells:
        found = importkit.translated(Pipeline, cells["pipeline"], selectors.list_pipelines(active_only=True))
        if len(found) == 1:
            pipeline = data["pipeline"] = found[0]
        else:
            errors["pipeline"] = (gettext("No active pipeline “%(value)s”.") if not found else
                                  gettext("“%(value)s” names more than one pipeline.")) % {"value": cells["pipeline"]}
    existing = _existing(cells.get("name"), account, context, errors)
    for key, text in cells.items():
        try:
            if key in ("account", "pipeline"):
                continue
            if key == "contact":
                data[key] = importkit.find_contact(text, context, account)
            elif key == "stage":
                data[key] = _stage(text, pipeline, existing)
            elif key == "probability":
                data[key] = importkit.parse_int(text, context, low=0, high=100)
            elif key == "amount":
                data[key] = context.parse_decimal(text)
            elif key == "currency":
                data[key] = text.upper()
            elif key == "expected_close":
                data[key] = context.parse_date(text)
            elif key == "source":
                data[key] = context.parse_choice(text, Source.choices)
            elif key == "owner":
                data[key] = context.resolve_user(text, Opportunity)
            elif key in ("quantity", "unit_price", "discount"):
                line[LINE_KEYS[key]] = context.parse_decimal(text.rstrip("%％"))
            elif key == "delivery_date":
                line[LINE_KEYS[key]] = context.parse_date(text)
            elif key == "product":
                line[LINE_KEYS[key]] = text
            else:
                data[key] = text
        except ValueError as exc:
            errors[key] = str(exc)
    if line and "product_name" not in line:
        errors.setdefault("product", gettext("Name the product of this line (or leave the line's cells empty)."))
    if line:
        data.line = {"product_name": "", "description": "", "quantity": Decimal(1), "unit_price": Decimal(0),
                     "discount_percent": Decimal(0), "delivery_date": None, **line}
    if existing is not None:
        data["id"] = existing.pk
    data[MARKER] = None
    return data


def _existing(name: str | None, account: Any, context: Any, errors: dict[str, str]) -> Opportunity | None:
    """The readable opportunity of ``account`` named ``name`` (read from the database: rows above may
    have created it), or None; several of them is an error asking for the external id."""
    if not name or account is None:
        return None
    found = list(selectors.list_opportunities(context.user, "view").filter(account=account, name=name.strip())
                 .select_related(None).order_by("pk")[:2])
    if len(found) > 1:
        errors["name"] = gettext("%(account)s has several opportunities named “%(value)s”; use the external id.") % {
            "account": account, "value": name}
        return None
    return found[0] if found else None


def _stage(text: str, pipeline: Pipeline | None, existing: Opportunity | None) -> Stage:
    stages = Stage.objects.filter(is_active=True, pipeline__is_active=True).select_related("pipeline")
    if pipeline is not None:
        stages = stages.filter(pipeline=pipeline)
    found = importkit.translated(Stage, text, stages.order_by("pipeline__position", "pipeline_id", "position", "pk"))
    if len(found) > 1:
        default = services.default_pipeline()
        for preferred in (existing.pipeline_id if existing is not None else None, default.pk if default else None):
            narrowed = [stage for stage in found if stage.pipeline_id == preferred]
            if len(narrowed) == 1:
                return narrowed[0]  # type: ignore[no-any-return]
        raise ValueError(gettext("“%(value)s” is a stage of several pipelines; give the pipeline too.")
                         % {"value": text})
    if not found:
        raise ValueError(gettext("No active stage “%(value)s”%(where)s.") % {
            "value": text, "where": gettext(" in the pipeline “%(pipeline)s”") % {"pipeline": pipeline}
            if pipeline is not None else ""})
    return found[0]  # type: ignore[no-any-return]


# --- writes: the row's fields, then its product line ----------------------------------------------


def _line_values(line: OpportunityLine | Mapping[str, Any]) -> tuple[Any, ...]:
    def get(name: str) -> Any:
        return line.get(name) if isinstance(line, Mapping) else getattr(line, name)

    return (str(get("product_name") or "").strip(), str(get("description") or "").strip(),
            Decimal(get("quantity") if get("quantity") is not None else 1), Decimal(get("unit_price") or 0),
            Decimal(get("discount_percent") or 0), get("delivery_date"))


def _as_dict(line: OpportunityLine) -> dict[str, Any]:
    return {name: getattr(line, name) for name in services.LINE_FIELDS}


def _lines_to_write(opportunity: Opportunity | None, data: RowData) -> tuple[list[dict[str, Any]] | None, Any]:
    """The lines the row sets (None: leave them) and the file's record of this opportunity's lines."""
    if data.line is None:
        return None, None
    stored = [_as_dict(line) for line in opportunity.lines.order_by("position", "pk")] if opportunity else []
    record = data.file_lines.get(opportunity.pk) if opportunity is not None else None
    if record is None:
        record = {"before": stored, "file": []}
    file_lines = [*record["file"], data.line]
    before = record["before"]
    count = len(file_lines)
    same_so_far = [_line_values(x) for x in file_lines] == [_line_values(x) for x in before[:count]]
    wanted = [*file_lines, *before[count:]] if same_so_far else file_lines
    if [_line_values(x) for x in wanted] == [_line_values(x) for x in stored]:
        return None, (record, file_lines)
    return wanted, (record, file_lines)


def _remember(opportunity: Opportunity, data: RowData, pending: Any) -> None:
    if pending is not None:
        record, file_lines = pending
        record["file"] = file_lines
        data.file_lines[opportunity.pk] = record


def snapshot_lines(opportunity: Opportunity, data: Mapping[str, Any]) -> dict[str, Any]:
    """The stored product lines and the amount (which follows them), as JSON, when the row may change
    the lines (kept for an undo)."""
    if not isinstance(data, RowData) or data.line is None:
        return {}
    return {"amount": to_json(opportunity.amount),
            "lines": [{name: to_json(getattr(line, name)) for name in services.LINE_FIELDS}
                      for line in opportunity.lines.order_by("position", "pk")]}


def _service_data(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in _PRIVATE}


def create_opportunity(data: Mapping[str, Any], actor: Any) -> Opportunity:
    """``create_opportunity`` with the row's fields and its product line (if any)."""
    row = data if isinstance(data, RowData) else RowData(data)
    values = _service_data(row)
    lines, pending = _lines_to_write(None, row) if isinstance(data, RowData) else (None, None)
    if lines:
        values["lines"] = lines
        values.pop("amount", None)
    opportunity = services.create_opportunity(values, actor=actor)
    if isinstance(data, RowData):
        _remember(opportunity, row, pending)
    return opportunity


def update_opportunity(opportunity: Opportunity, data: Mapping[str, Any], actor: Any) -> Opportunity:
    """``update_opportunity`` with the fields that differ and the lines this row sets; nothing is
    written when nothing differs (the row is then "unchanged")."""
    fields = _service_data(data)
    restored_lines = fields.pop("lines", None)
    values = importkit.changed(opportunity, fields)
    if isinstance(data, RowData):
        lines, pending = _lines_to_write(opportunity, data)
    else:  # an undo restoring the fields, and the lines a row replaced (snapshot_lines)
        lines, pending = restored_lines, None
    if lines is not None:
        values["lines"] = lines
        if lines or isinstance(data, RowData):  # the amount follows the lines; none restored: the amount as it was
            values.pop("amount", None)
    if "stage" in values and "pipeline" not in values and values["stage"].pipeline_id != opportunity.pipeline_id:
        values["pipeline"] = values["stage"].pipeline
    if values:
        if not access.allows(actor, opportunity, "change"):  # the engine checked; kept for direct callers
            message = gettext("You may not change %(record)s.") % {"record": opportunity}
            raise ValidationFailed(message, fields={"__all__": [message]})
        opportunity = services.update_opportunity(opportunity, values, actor=actor)
    if isinstance(data, RowData):
        _remember(opportunity, data, pending)
    return opportunity


IMPORT_DECLARATIONS: list[dict[str, Any]] = [{
    "key": "crm.opportunity",
    "model": Opportunity,
    "label": _("Opportunities with product lines"),
    "snapshot_extra": snapshot_lines,
    "field_names": OPPORTUNITY_IMPORT_FIELDS,
    "extra_labels": LINE_LABELS,
    "required": ("name",),
    "synonyms": SYNONYMS,
    "build": build_opportunity,
    "create": create_opportunity,
    "update": update_opportunity,
    "delete": lambda opportunity, actor: services.delete_opportunity(opportunity, actor=actor),
    "natural_keys": ("id",),
    "custom_fields": True,
    "row_by_row": True,
}]
