"""Pages of this area, mounted under /crm/ by ``bizloom.crm.urls`` (names in the "crm" namespace)."""

from django.urls import URLPattern, URLResolver, path

from bizloom.crm.leads import views
from bizloom.crm.leads.lists import LEAD_LIST
from bizloom.platform.listing import list_urls

urlpatterns: list[URLPattern | URLResolver] = [
    # crm:lead_list, crm:lead_export, crm:lead_bulk, crm:lead_views
    *list_urls(LEAD_LIST, "leads/", "lead"),
    path("leads/new/", views.lead_create, name="lead_create"),
    path("leads/<int:pk>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/edit/", views.lead_update, name="lead_update"),
    path("leads/<int:pk>/delete/", views.lead_delete, name="lead_delete"),
    path("leads/<int:pk>/status/", views.lead_status, name="lead_status"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead_convert"),
]
