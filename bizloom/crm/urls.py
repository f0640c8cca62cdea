from django.urls import path

from bizloom.crm import views
from bizloom.crm.lists import ACCOUNT_LIST
from bizloom.platform.listing import list_urls

app_name = "crm"

urlpatterns = [
    # crm:account_list, crm:account_export, crm:account_bulk, crm:account_views
    *list_urls(ACCOUNT_LIST, "accounts/", "account"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", views.account_update, name="account_update"),
    path("accounts/<int:pk>/delete/", views.account_delete, name="account_delete"),
]
