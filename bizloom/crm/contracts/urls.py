"""Pages of this area, mounted under /crm/ by ``bizloom.crm.urls`` (names in the "crm" namespace)."""

from django.urls import URLPattern, URLResolver, path

from bizloom.crm.contracts import views
from bizloom.crm.contracts.lists import CONTRACT_LIST
from bizloom.platform.listing import list_urls

urlpatterns: list[URLPattern | URLResolver] = [
    # crm:contract_list, crm:contract_export, crm:contract_bulk, crm:contract_views
    *list_urls(CONTRACT_LIST, "contracts/", "contract"),
    path("contracts/new/", views.contract_create, name="contract_create"),
    path("contracts/<int:pk>/", views.contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/edit/", views.contract_update, name="contract_update"),
    path("contracts/<int:pk>/delete/", views.contract_delete, name="contract_delete"),
    path("contracts/<int:pk>/activate/", views.contract_activate, name="contract_activate"),
    path("contracts/<int:pk>/terminate/", views.contract_terminate, name="contract_terminate"),
    path("contracts/<int:pk>/signed-document/", views.contract_signed_document, name="contract_signed_document"),
]
