"""Notification pages: the bell partial, the list (mark read, mark all read) and the preferences."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bizloom.platform.notifications import selectors, services
from bizloom.platform.notifications.forms import PreferencesForm

PAGE_SIZE = 50


@login_required
@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    """The top bar's bell with the unread count (an HTMX partial polled every 60 s)."""
    response = render(request, "notifications/_bell.html", {"unread": selectors.unread_count(request.user)})
    response["Cache-Control"] = "no-store"
    return response


def _list_or_partial(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.list_notifications(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "notifications": page.object_list, "unread": selectors.unread_count(request.user)}
    template = "notifications/_list.html" if getattr(request, "htmx", False) else "notifications/list.html"
    return render(request, template, context)


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first, unread ones highlighted."""
    return _list_or_partial(request)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's notifications read (404 for another user's)."""
    notification = selectors.get_notification(request.user, pk)
    services.mark_read(notification, actor=request.user)
    if getattr(request, "htmx", False):
        return _list_or_partial(request)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    """Mark every notification of the user read."""
    count = services.mark_all_read(actor=request.user)
    if not getattr(request, "htmx", False):
        messages.success(request, _("%(count)s notifications marked as read.") % {"count": count})
        return redirect("notifications:list")
    return _list_or_partial(request)


@login_required
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a notification read and go to what it is about (only to a URL on this site)."""
    notification = selectors.get_notification(request.user, pk)
    services.mark_read(notification, actor=request.user)
    if notification.url and url_has_allowed_host_and_scheme(notification.url, allowed_hosts={request.get_host()},
                                                            require_https=request.is_secure()):
        return redirect(notification.url)
    return redirect("notifications:list")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """Per kind of notification: whether to show it in the app and whether to e-mail it."""
    form = PreferencesForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.set_preferences(request.user, form.choices(), actor=request.user)
        messages.success(request, _("Your notification preferences were saved."))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})
