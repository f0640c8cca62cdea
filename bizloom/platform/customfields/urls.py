"""Mounted at ``/settings/custom-fields/`` with namespace ``customfields``."""

from django.urls import path

from bizloom.platform.customfields import views

app_name = "customfields"

urlpatterns = [
    path("", views.field_list, name="list"),
    path("new/", views.field_create, name="create"),
    path("<int:pk>/", views.field_update, name="update"),
    path("<int:pk>/toggle/", views.field_toggle, name="toggle"),
    path("<int:pk>/delete/", views.field_delete, name="delete"),
]
