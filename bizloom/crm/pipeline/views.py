"""Pipeline pages: opportunity detail and form (with the product-line editor), stage moves,
the kanban board and the pipeline settings. Thin: selectors read, services write."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F, Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bizloom.common.errors import DomainError
from bizloom.crm import selectors as crm_selectors
from bizloom.crm.models import Account, Competitor, LossReason, Opportunity, OpportunityLine, Pipeline, Stage
from bizloom.crm.pipeline import selectors, services
from bizloom.crm.pipeline.forms import (
    CompetitorForm,
    LineFormSet,
    LossReasonForm,
    MoveForm,
    OpportunityForm,
    PipelineForm,
    StageForm,
)
from bizloom.crm.pipeline.lists import OPPORTUNITY_DETAIL
from bizloom.platform import access
from bizloom.platform.customfields.detail import with_custom_fields
from bizloom.platform.customfields.forms import split_custom_values
from bizloom.platform.detail import render_detail
from bizloom.platform.forms_kit import (
    apply_domain_error,
    apply_field_policy,
    form_page,
    form_policy,
    htmx_redirect,
    require_or_403,
)
from bizloom.platform.models import Department, Team, User
from bizloom.platform.requests import actor_of
from bizloom.platform.templatetags.bizloom import format_money

Kind = Stage.Kind


def _detail_url(opportunity: Opportunity) -> str:
    return reverse("crm:opportunity_detail", args=[opportunity.pk])


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


def _int_param(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and 0 < len(text) < 19 else None


# --- detail -----------------------------------------------------------------------------------------


def _contract_url(opportunity: Opportunity, user: Any) -> str:
    """"New contract" for a won opportunity, when the contracts pages exist and the user may add one."""
    if opportunity.stage.kind != Kind.WON:
        return ""
    try:
        from bizloom.crm.models import Contract

        if not access.can(user, Contract, "add"):
            return ""
        return reverse("crm:contract_create") + f"?opportunity={opportunity.pk}"
    except NoReverseMatch:
        return ""


def _stage_path(opportunity: Opportunity) -> list[dict[str, Any]]:
    """The pipeline's stages in order, marking those passed, the current one and the rest."""
    stages = [s for s in opportunity.pipeline.stages.order_by("position", "pk")
              if s.is_active or s.pk == opportunity.stage_id]
    current = opportunity.stage
    open_stages = [s for s in stages if s.kind == Kind.OPEN]
    reached = {h for h in opportunity.stage_history.values_list("stage_id", flat=True)}
    path = []
    for stage in stages:
        if stage.kind != Kind.OPEN and stage.pk != current.pk:
            continue
        state = "current" if stage.pk == current.pk else (
            "done" if stage.pk in reached or (current.kind != Kind.OPEN) or (
                current.kind == Kind.OPEN and open_stages.index(stage) < open_stages.index(current)) else "todo")
        path.append({"stage": stage, "state": state})
    return path


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One opportunity: fields, product lines with totals, stage path and history, competitors,
    the won/lost and move actions; 403 without view permission, 404 outside scope."""
    require_or_403(request.user, Opportunity, "view")
    opportunity = selectors.get_opportunity(request.user, pk)
    config = with_custom_fields(OPPORTUNITY_DETAIL)
    policy = access.field_policy(request.user, Opportunity, "view")
    if not policy.shows("amount"):  # the weighted amount and the lines would tell it
        config = dataclasses.replace(config, groups=[
            dataclasses.replace(g, fields=[f for f in g.fields if getattr(f, "name", f) != "weighted_amount"])
            for g in config.groups])
    lines = list(selectors.opportunity_lines(opportunity))
    can_change = access.allows(request.user, opportunity, "change")
    stages = list(opportunity.pipeline.stages.filter(is_active=True).order_by("position", "pk"))
    context = {
        "opportunity": opportunity,
        "show_amounts": policy.shows("amount"),
        "lines": lines,
        "lines_total": sum((line.total for line in lines), start=type(opportunity.amount)(0)),
        "history": list(selectors.stage_history(opportunity)),
        "stage_path": _stage_path(opportunity),
        "competitors": list(opportunity.competitors.order_by("name")),
        "can_change": can_change,
        "move_url": reverse("crm:opportunity_move", args=[opportunity.pk]),
        "move_stages": [s for s in stages if s.pk != opportunity.stage_id],
        "won_stage": next((s for s in stages if s.kind == Kind.WON), None),
        "lost_stage": next((s for s in stages if s.kind == Kind.LOST), None),
        "loss_reasons": list(selectors.list_loss_reasons(active_only=True)),
        "contract_url": _contract_url(opportunity, request.user),
        "account_url": (reverse("crm:account_detail", args=[opportunity.account_id])
                        if access.allows(request.user, opportunity.account, "view") else ""),
    }
    return render_detail(request, config, opportunity, extra_context=context)


# --- create / edit ----------------------------------------------------------------------------------


def _line_errors(formset: Any, kept: list[forms.BaseForm], error: DomainError, form: forms.BaseForm) -> None:
    """Put ``lines.<i>.<field>`` errors of a refusal on the line rows that were sent (kept rows)."""
    for name, field_messages in list(error.fields.items()):
        if not name.startswith("lines"):
            continue
        parts = name.split(".")
        row = kept[int(parts[1])] if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(kept) else None
        for message in field_messages:
            if row is not None and len(parts) > 2 and parts[2] in row.fields:
                row.add_error(parts[2], message)
            else:
                form.add_error(None, message)
        del error.fields[name]


def _opportunity_data(form: OpportunityForm, policy: access.FieldPolicy, lines: list[dict[str, Any]],
                      *, creating: bool) -> dict[str, Any]:
    data = {k: v for k, v in form.cleaned_data.items() if k not in policy.unwritable}
    for name in ("owner", "pipeline", "probability", "amount"):
        if name in data and data[name] is None:
            del data[name]
    if lines:
        data.pop("amount", None)  # the lines' total
    if "competitors" in data:
        data["competitors"] = list(data["competitors"])
    data["lines"] = lines
    if creating and not lines:
        del data["lines"]
    return split_custom_values(data)


def _opportunity_form_page(request: HttpRequest, *, instance: Opportunity | None, title: str, cancel_url: str,
                           save: Callable[[dict[str, Any]], Opportunity], initial: Mapping[str, Any] | None = None,
                           success_message: str) -> HttpResponse:
    """The opportunity form with its product-line editor; field rules as in the platform form kit."""
    policy = form_policy(request.user, OpportunityForm, instance)
    queryset = instance.lines.order_by("position", "pk") if instance is not None else OpportunityLine.objects.none()
    form: OpportunityForm
    formset: Any
    if request.method == "POST":
        form = OpportunityForm(request.POST, instance=instance, user=request.user)
        formset = LineFormSet(request.POST, queryset=queryset, prefix="lines")
        forged = apply_field_policy(form, policy)
        if forged:
            form.add_error(None, _("You may not change these fields: %(fields)s.") % {"fields": ", ".join(forged)})
        elif form.is_valid() and formset.is_valid():
            kept: list[forms.BaseForm] = list(formset.kept_forms())
            try:
                opportunity = save(_opportunity_data(form, policy, formset.lines(), creating=instance is None))
            except DomainError as error:
                _line_errors(formset, kept, error, form)
                if error.fields or not any(f.errors for f in kept):
                    apply_domain_error(form, error)
            else:
                messages.success(request, success_message % {"object": opportunity})
                return htmx_redirect(request, _detail_url(opportunity))
    else:
        form = OpportunityForm(instance=instance, user=request.user, initial=dict(initial or {}))
        formset = LineFormSet(queryset=queryset, prefix="lines")
        apply_field_policy(form, policy)
    return render(request, "crm/pipeline/opportunity_form.html", {
        "form": form, "formset": formset, "title": title, "cancel_url": cancel_url, "object": instance,
        "form_action": request.get_full_path(), "show_amounts": access.field_policy(
            request.user, Opportunity, "view").shows("amount")})


@login_required
def opportunity_create(request: HttpRequest) -> HttpResponse:
    """New opportunity (``?account=<id>`` preselects an account the user may view); the creator
    owns it unless another owner is chosen."""
    require_or_403(request.user, Opportunity, "add")
    initial: dict[str, Any] = {}
    account_id = _int_param(request.GET.get("account"))
    if account_id is not None:
        initial["account"] = crm_selectors.list_accounts(request.user).filter(pk=account_id).first()
    return _opportunity_form_page(
        request, instance=None, title=_("New opportunity"), initial=initial,
        cancel_url=reverse("crm:opportunity_list"), success_message=_("%(object)s was created."),
        save=lambda data: services.create_opportunity(data, actor=actor_of(request)))


@login_required
def opportunity_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit an opportunity the user may change (fields and product lines)."""
    require_or_403(request.user, Opportunity, "change")
    opportunity = selectors.get_opportunity(request.user, pk, "change")
    return _opportunity_form_page(
        request, instance=opportunity, title=_("Edit %(opportunity)s") % {"opportunity": opportunity},
        cancel_url=_detail_url(opportunity), success_message=_("%(object)s was saved."),
        save=lambda data: services.update_opportunity(opportunity, data, actor=actor_of(request)))


@login_required
@require_POST
def opportunity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an opportunity, or explain why not (still referred to)."""
    require_or_403(request.user, Opportunity, "delete")
    opportunity = selectors.get_opportunity(request.user, pk, "delete")
    name = str(opportunity)
    try:
        services.delete_opportunity(opportunity, actor=actor_of(request))
    except DomainError as error:
        messages.error(request, error.message)
        return htmx_redirect(request, _detail_url(opportunity))
    messages.success(request, _("%(opportunity)s was deleted.") % {"opportunity": name})
    return htmx_redirect(request, reverse("crm:opportunity_list"))


# --- stage moves ----------------------------------------------------------------------------------


def _board_filters(request: HttpRequest, params: Mapping[str, Any]) -> dict[str, Any]:
    """The kanban filters from query (or posted ``board_*``) parameters: owner (id or "mine"),
    team, department, close period or from/to dates."""
    def get(name: str) -> str:
        value = params.get(name) or params.get(f"board_{name}") or ""
        return str(value).strip()[:40]

    filters: dict[str, Any] = {}
    owner = get("owner")
    if owner == "mine":
        filters["owner"] = request.user
    elif (owner_id := _int_param(owner)) is not None:
        filters["owner"] = User.objects.filter(pk=owner_id).first()
    if (team_id := _int_param(get("team"))) is not None:
        filters["team"] = Team.objects.filter(pk=team_id).first()
    if (department_id := _int_param(get("department"))) is not None:
        filters["department"] = Department.objects.filter(pk=department_id).first()
    start, end = _period(get("period"))
    for name, default in (("close_from", start), ("close_to", end)):
        try:
            filters[name] = dt.date.fromisoformat(get(name)) if get(name) else default
        except ValueError:
            filters[name] = default
    return {k: v for k, v in filters.items() if v is not None}


PERIODS = ("this_month", "next_month", "this_quarter", "next_quarter", "this_year", "overdue")


def _period(name: str) -> tuple[dt.date | None, dt.date | None]:
    today = timezone.localdate()

    def month_start(year: int, month: int) -> dt.date:
        return dt.date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)

    if name == "this_month":
        return month_start(today.year, today.month), month_start(today.year, today.month + 1) - dt.timedelta(1)
    if name == "next_month":
        return month_start(today.year, today.month + 1), month_start(today.year, today.month + 2) - dt.timedelta(1)
    quarter = (today.month - 1) // 3 * 3 + 1
    if name == "this_quarter":
        return month_start(today.year, quarter), month_start(today.year, quarter + 3) - dt.timedelta(1)
    if name == "next_quarter":
        return month_start(today.year, quarter + 3), month_start(today.year, quarter + 6) - dt.timedelta(1)
    if name == "this_year":
        return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    if name == "overdue":
        return None, today - dt.timedelta(1)
    return None, None


def _totals_json(totals: selectors.Totals, *, show_amounts: bool = True) -> dict[str, Any]:
    """A column's totals for the board script; the count only when the amount is hidden from the user."""
    if not show_amounts:
        return {"count": totals.count, "amount": "", "weighted": "", "other": []}
    return {"count": totals.count, "amount": format_money(totals.amount),
            "weighted": format_money(totals.weighted),
            "other": [f"{format_money(a, c)} ({format_money(w, c)})" for c, a, w in totals.other_sorted]}


def _refusal(request: HttpRequest, opportunity: Opportunity, error: DomainError) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"ok": False, "message": error.message, "code": error.code,
                             "fields": error.fields}, status=error.status if 400 <= error.status < 500 else 409)
    messages.error(request, error.message)
    return HttpResponseRedirect(_safe_next(request, _detail_url(opportunity)))


@login_required
@require_POST
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move an opportunity to a stage (``stage``, ``loss_reason``, ``loss_note``) through the
    ``move_stage`` service. Answers JSON when asked (the board: the refusal's message and code,
    or the new totals of every column) and redirects otherwise (the detail page, the "Move to…" menu)."""
    require_or_403(request.user, Opportunity, "change")
    opportunity = selectors.get_opportunity(request.user, pk, "change")
    form = MoveForm(request.POST, pipeline=opportunity.pipeline)
    if not form.is_valid():
        fields = {name: [str(m) for m in errors] for name, errors in form.errors.items()}
        message = " ".join(m for errors in fields.values() for m in errors)
        return _refusal(request, opportunity, DomainError(message, code="validation_failed", fields=fields))
    data = form.cleaned_data
    try:
        opportunity = services.move_stage(opportunity, data["stage"], actor=actor_of(request),
                                          loss_reason=data.get("loss_reason"), loss_note=data.get("loss_note") or "")
    except DomainError as error:
        return _refusal(request, opportunity, error)
    message = _("%(opportunity)s moved to “%(stage)s”.") % {"opportunity": opportunity, "stage": opportunity.stage}
    if _wants_json(request):
        columns = selectors.board(request.user, opportunity.pipeline, **_board_filters(request, request.POST))
        show = access.field_policy(request.user, Opportunity, "view").shows("amount")
        return JsonResponse({"ok": True, "message": message, "stage": opportunity.stage_id,
                             "probability": opportunity.probability,
                             "columns": {str(c.stage.pk): _totals_json(c.totals, show_amounts=show) for c in columns}})
    messages.success(request, message)
    return HttpResponseRedirect(_safe_next(request, _detail_url(opportunity)))


# --- the board ---------------------------------------------------------------------------------------


@login_required
def board_default(request: HttpRequest) -> HttpResponse:
    """The board of the default pipeline."""
    require_or_403(request.user, Opportunity, "view")
    pipeline = services.default_pipeline() or Pipeline.objects.order_by("position", "pk").first()
    if pipeline is None:
        messages.info(request, _("Create a pipeline first."))
        return redirect("crm:opportunity_list")
    return redirect("crm:pipeline_board", pk=pipeline.pk)


@login_required
def pipeline_board(request: HttpRequest, pk: int) -> HttpResponse:
    """The kanban board of one pipeline: a column per stage with count, amount and weighted
    amount (company currency; others noted), cards the user may view, draggable when the user
    may change them; filters by owner, team, department and expected close."""
    require_or_403(request.user, Opportunity, "view")
    pipeline = selectors.get_pipeline(pk)
    filters = _board_filters(request, request.GET)
    columns = selectors.board(request.user, pipeline, **filters)
    policy = access.field_policy(request.user, Opportunity, "view")
    move_choices = [c.stage for c in columns if c.stage.is_active]
    return render(request, "crm/pipeline/board.html", {
        "pipeline": pipeline, "pipelines": selectors.list_pipelines(active_only=True), "columns": columns,
        "move_choices": move_choices, "loss_reasons": list(selectors.list_loss_reasons(active_only=True)),
        "show_amounts": policy.shows("amount"), "company_currency": _company_currency(),
        "owners": User.objects.filter(is_active=True).order_by("username"),
        "teams": Team.objects.order_by("name"), "departments": Department.objects.order_by("path"),
        "periods": [(p, _period_label(p)) for p in PERIODS],
        "params": {name: request.GET.get(name, "")[:40] for name in
                   ("owner", "team", "department", "period", "close_from", "close_to")},
        "can_add": access.can(request.user, Opportunity, "add"),
    })


def _company_currency() -> str:
    from django.conf import settings

    return str(settings.COMPANY_CURRENCY)


def _period_label(name: str) -> str:
    return {"this_month": _("This month"), "next_month": _("Next month"), "this_quarter": _("This quarter"),
            "next_quarter": _("Next quarter"), "this_year": _("This year"), "overdue": _("Overdue")}[name]


# --- settings ---------------------------------------------------------------------------------------


def _settings_page(request: HttpRequest, form_class: type[forms.ModelForm[Any]], *, model: type[Model], action: str,
                   save: Callable[[Mapping[str, Any]], Any], success_url: Callable[[Any], str], title: str,
                   cancel_url: str, instance: Model | None = None,
                   form_kwargs: Mapping[str, Any] | None = None) -> HttpResponse:
    require_or_403(request.user, model, action)
    return form_page(request, form_class, save=save, success_url=success_url, instance=instance, title=title,
                     cancel_url=cancel_url, success_message=_("%(object)s was saved."), form_kwargs=form_kwargs)


def _settings_url(*_args: Any) -> str:
    return reverse("crm:pipeline_list")


@login_required
def pipeline_list(request: HttpRequest) -> HttpResponse:
    """Pipeline settings: pipelines with their stages, loss reasons and competitors."""
    require_or_403(request.user, Pipeline, "view")
    user = request.user
    return render(request, "crm/pipeline/settings.html", {
        "pipelines": selectors.list_pipelines(), "loss_reasons": selectors.list_loss_reasons(),
        "competitors": selectors.list_competitors(),
        "can": {f"{action}_{key}": access.can(user, model, action)
                for key, model in (("pipeline", Pipeline), ("reason", LossReason), ("competitor", Competitor))
                for action in ("add", "change", "delete")},
    })


@login_required
def pipeline_create(request: HttpRequest) -> HttpResponse:
    """New pipeline; it starts with the standard stages."""
    return _settings_page(request, PipelineForm, model=Pipeline, action="add", title=_("New pipeline"),
                          save=lambda data: services.create_pipeline(data, actor=actor_of(request)),
                          success_url=lambda p: reverse("crm:pipeline_detail", args=[p.pk]),
                          cancel_url=_settings_url())


@login_required
def pipeline_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One pipeline: its stages (kind, probability, required fields), to edit, add or remove."""
    require_or_403(request.user, Pipeline, "view")
    pipeline = selectors.get_pipeline(pk)
    labels = dict(services.requirable_fields())
    stages = [{"stage": s, "required": [labels.get(n, n) for n in s.required_fields or []],
               "in_use": services.stage_in_use(s)} for s in pipeline.stages.order_by("position", "pk")]
    return render(request, "crm/pipeline/pipeline_detail.html", {
        "pipeline": pipeline, "stages": stages, "can_change": access.can(request.user, Pipeline, "change"),
        "can_delete": access.can(request.user, Pipeline, "delete")})


@login_required
def pipeline_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a pipeline's names, position, default and active flags."""
    pipeline = selectors.get_pipeline(pk)
    return _settings_page(request, PipelineForm, model=Pipeline, action="change", instance=pipeline,
                          title=_("Edit %(pipeline)s") % {"pipeline": pipeline},
                          save=lambda data: services.update_pipeline(pipeline, data, actor=actor_of(request)),
                          success_url=lambda p: reverse("crm:pipeline_detail", args=[p.pk]),
                          cancel_url=reverse("crm:pipeline_detail", args=[pipeline.pk]))


def _post_action(request: HttpRequest, model: type[Model], action: str, run: Callable[[], None], *, done: str,
                 success_url: str, failure_url: str) -> HttpResponse:
    require_or_403(request.user, model, action)
    try:
        run()
    except DomainError as error:
        messages.error(request, error.message)
        return htmx_redirect(request, failure_url)
    messages.success(request, done)
    return htmx_redirect(request, success_url)


@login_required
@require_POST
def pipeline_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a pipeline never used (else explain: deactivate it)."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    return _post_action(request, Pipeline, "delete",
                        lambda: services.delete_pipeline(pipeline, actor=actor_of(request)),
                        done=_("%(pipeline)s was deleted.") % {"pipeline": pipeline}, success_url=_settings_url(),
                        failure_url=reverse("crm:pipeline_detail", args=[pipeline.pk]))


@login_required
def stage_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a stage to a pipeline."""
    pipeline = selectors.get_pipeline(pk)
    back = reverse("crm:pipeline_detail", args=[pipeline.pk])
    return _settings_page(request, StageForm, model=Pipeline, action="change",
                          title=_("New stage of %(pipeline)s") % {"pipeline": pipeline},
                          save=lambda data: services.create_stage(pipeline, data, actor=actor_of(request)),
                          success_url=lambda s: back, cancel_url=back)


@login_required
def stage_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a stage."""
    stage = selectors.get_stage(pk)
    back = reverse("crm:pipeline_detail", args=[stage.pipeline_id])
    return _settings_page(request, StageForm, model=Pipeline, action="change", instance=stage,
                          title=_("Edit stage %(stage)s") % {"stage": stage},
                          save=lambda data: services.update_stage(stage, data, actor=actor_of(request)),
                          success_url=lambda s: back, cancel_url=back)


@login_required
@require_POST
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a stage never used (else explain: deactivate it)."""
    stage = selectors.get_stage(pk)
    back = reverse("crm:pipeline_detail", args=[stage.pipeline_id])
    return _post_action(request, Pipeline, "change", lambda: services.delete_stage(stage, actor=actor_of(request)),
                        done=_("%(stage)s was deleted.") % {"stage": stage}, success_url=back, failure_url=back)


@login_required
def lossreason_create(request: HttpRequest) -> HttpResponse:
    """New loss reason."""
    return _settings_page(request, LossReasonForm, model=LossReason, action="add", title=_("New loss reason"),
                          save=lambda data: services.create_loss_reason(data, actor=actor_of(request)),
                          success_url=_settings_url, cancel_url=_settings_url())


@login_required
def lossreason_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a loss reason."""
    reason = get_object_or_404(LossReason, pk=pk)
    return _settings_page(request, LossReasonForm, model=LossReason, action="change", instance=reason,
                          title=_("Edit %(reason)s") % {"reason": reason},
                          save=lambda data: services.update_loss_reason(reason, data, actor=actor_of(request)),
                          success_url=_settings_url, cancel_url=_settings_url())


@login_required
@require_POST
def lossreason_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an unused loss reason (else explain: deactivate it)."""
    reason = get_object_or_404(LossReason, pk=pk)
    return _post_action(request, LossReason, "delete",
                        lambda: services.delete_loss_reason(reason, actor=actor_of(request)),
                        done=_("%(reason)s was deleted.") % {"reason": reason}, success_url=_settings_url(),
                        failure_url=_settings_url())


@login_required
def competitor_create(request: HttpRequest) -> HttpResponse:
    """New competitor."""
    return _settings_page(request, CompetitorForm, model=Competitor, action="add", title=_("New competitor"),
                          save=lambda data: services.create_competitor(data, actor=actor_of(request)),
                          success_url=_settings_url, cancel_url=_settings_url())


@login_required
def competitor_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a competitor."""
    competitor = get_object_or_404(Competitor, pk=pk)
    return _settings_page(request, CompetitorForm, model=Competitor, action="change", instance=competitor,
                          title=_("Edit %(competitor)s") % {"competitor": competitor},
                          save=lambda data: services.update_competitor(competitor, data, actor=actor_of(request)),
                          success_url=_settings_url, cancel_url=_settings_url())


@login_required
@require_POST
def competitor_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a competitor no opportunity names (else explain: deactivate it)."""
    competitor = get_object_or_404(Competitor, pk=pk)
    return _post_action(request, Competitor, "delete",
                        lambda: services.delete_competitor(competitor, actor=actor_of(request)),
                        done=_("%(competitor)s was deleted.") % {"competitor": competitor},
                        success_url=_settings_url(), failure_url=_settings_url())


# --- the account's section ---------------------------------------------------------------------------

ACCOUNT_OPPORTUNITIES_SHOWN = 50
ACCOUNT_CLOSED_SHOWN = 10


def account_section(account: Account, user: Any) -> dict[str, Any] | None:
    """The "Opportunities" section of an account's page: its open opportunities the user may
    view, with totals, the most recently won or lost ones below them, and "New opportunity"
    (``?account=<id>``). None without view permission."""
    if not access.can(user, Opportunity, "view"):
        return None
    opportunities = list(selectors.list_account_opportunities(user, account))
    closed = (selectors.list_account_opportunities(user, account, open_only=False)
              .exclude(stage__kind=Stage.Kind.OPEN).select_related("stage")
              .order_by(F("closed_at").desc(nulls_last=True), "-pk")[:ACCOUNT_CLOSED_SHOWN])
    policy = access.field_policy(user, Opportunity, "view")
    return {
        "rows": [{"opportunity": o, "url": _detail_url(o)} for o in opportunities[:ACCOUNT_OPPORTUNITIES_SHOWN]],
        "closed_rows": [{"opportunity": o, "url": _detail_url(o)} for o in closed],
        "count": len(opportunities),
        "totals": selectors.totals(opportunities),
        "show_amounts": policy.shows("amount"),
        "company_currency": _company_currency(),
        "add_url": (reverse("crm:opportunity_create") + f"?account={account.pk}"
                    if access.can(user, Opportunity, "add") else ""),
        "list_url": reverse("crm:opportunity_list") + "?" + urlencode({"account__name": account.name}),
    }
