"""CRM pages (placeholder until the list/detail/form kit lands)."""

from django.http import HttpRequest, HttpResponse


def account_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse("accounts")


def account_create(request: HttpRequest) -> HttpResponse:
    return HttpResponse("new")


def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse("detail")


def account_update(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse("edit")
