"""Mounted at ``/settings/numbering/`` with namespace ``numbering``."""

from django.urls import path

from bizloom.platform.numbering import views

app_name = "numbering"

urlpatterns = [
    path("", views.sequence_list, name="sequence_list"),
    path("new/", views.sequence_create, name="sequence_create"),
    path("<int:pk>/", views.sequence_update, name="sequence_update"),
]
