"""Outbox page; included under ``/settings/events/`` by the project URLconf."""

from django.urls import path

from bizloom.platform.events import views

app_name = "events"

urlpatterns = [
    path("", views.outbox, name="outbox"),
    path("<int:pk>/retry/", views.outbox_retry, name="outbox_retry"),
]
