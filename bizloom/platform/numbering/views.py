"""Numbering settings (staff only): list sequences with a preview, create and edit them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from bizloom.common.errors import ValidationFailed
from bizloom.platform.forms_kit import apply_domain_error, require_or_403
from bizloom.platform.numbering import services
from bizloom.platform.numbering.forms import SequenceForm
from bizloom.platform.numbering.models import NumberSequence


def _require_staff(request: HttpRequest) -> None:
    """Managing sequences is the ``numbering.change_numbersequence`` permission (administrators)."""
    require_or_403(request.user, NumberSequence, "change")


def _preview(sequence: NumberSequence) -> str:
    try:
        return services.preview(sequence.pattern, sequence.reset_period)
    except ValidationFailed:
        return "—"


@login_required
@require_GET
def sequence_list(request: HttpRequest) -> HttpResponse:
    """Every sequence with its pattern, reset period and what the next number would look like."""
    _require_staff(request)
    sequences = [{"sequence": s, "preview": _preview(s)} for s in NumberSequence.objects.all()]
    return render(request, "numbering/sequence_list.html", {"sequences": sequences})


@login_required
@require_http_methods(["GET", "POST"])
def sequence_create(request: HttpRequest) -> HttpResponse:
    """Define a new sequence."""
    _require_staff(request)
    form = SequenceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sequence = services.create_sequence(form.cleaned_data, actor=request.user)
        except ValidationFailed as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, _("Sequence “%(sequence)s” created.") % {"sequence": sequence})
            return redirect("numbering:sequence_list")
    status = 422 if request.method == "POST" else 200
    return render(request, "numbering/sequence_form.html", {"form": form, "title": _("New number sequence")},
                  status=status)


@login_required
@require_http_methods(["GET", "POST"])
def sequence_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a sequence's name, pattern and reset period; its counters continue."""
    _require_staff(request)
    sequence = get_object_or_404(NumberSequence, pk=pk)
    initial = {"name": sequence.name, "pattern": sequence.pattern, "reset_period": sequence.reset_period}
    form = SequenceForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_sequence(sequence, form.cleaned_data, actor=request.user)
        except ValidationFailed as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, _("Sequence “%(sequence)s” saved.") % {"sequence": sequence})
            return redirect("numbering:sequence_list")
    status = 422 if request.method == "POST" else 200
    return render(request, "numbering/sequence_form.html",
                  {"form": form, "sequence": sequence,
                   "title": _("Edit %(sequence)s") % {"sequence": sequence.doc_type}}, status=status)
