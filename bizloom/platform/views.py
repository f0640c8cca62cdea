"""Shell pages: sign-in, home, language switch, global search."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from bizloom.common.htmx import is_htmx
from bizloom.platform import search as global_search
from bizloom.platform import services
from bizloom.platform.forms import LanguageForm


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        language = form.get_user().language
        if language:
            _set_language_cookie(response, language)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        from django.contrib import messages

        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        return response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "platform/home.html")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; remembered on the user and in a cookie."""
    form = LanguageForm(request.POST)
    next_url = request.POST.get("next") or request.headers.get("referer") or reverse("home")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("home")
    response = HttpResponseRedirect(next_url)
    if not form.is_valid():
        return response
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        services.set_user_language(request.user, language)
    _set_language_cookie(response, language)
    return response


@login_required
def search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")[:200]
    groups = global_search.search(request.user, text)
    template = "platform/partials/search_results.html" if is_htmx(request) else "platform/search.html"
    return render(request, template, {"q": text, "groups": groups})


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=False, samesite="Lax",
    )
