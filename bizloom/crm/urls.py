from django.urls import include, path

from bizloom.crm import views
from bizloom.crm.lists import ACCOUNT_LIST, CONTACT_LIST
from bizloom.platform.listing import list_urls

app_name = "crm"

urlpatterns = [
    # crm:account_list, crm:account_export, crm:account_bulk, crm:account_views
    *list_urls(ACCOUNT_LIST, "accounts/", "account"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", views.account_update, name="account_update"),
    path("accounts/<int:pk>/delete/", views.account_delete, name="account_delete"),
    # crm:contact_list, crm:contact_export, crm:contact_bulk, crm:contact_views
    *list_urls(CONTACT_LIST, "contacts/", "contact"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_update, name="contact_update"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact_delete"),
    # one include per area; each area's URL names carry its prefix (crm:opportunity_list, ...)
    path("", include("bizloom.crm.pipeline.urls")),
    path("", include("bizloom.crm.forecast.urls")),
    path("", include("bizloom.crm.leads.urls")),
    path("", include("bizloom.crm.merging.urls")),
    path("", include("bizloom.crm.activities.urls")),
    path("", include("bizloom.crm.contracts.urls")),
]
