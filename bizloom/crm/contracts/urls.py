"""Pages of this area, mounted under /crm/ by ``bizloom.crm.urls`` (names in the "crm" namespace)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
