"""The project URLs plus the outbox page where the project will include it (/settings/events/)."""

from django.urls import include, path

urlpatterns = [
    path("settings/events/", include("bizloom.platform.events.urls")),
    path("", include("bizloom.urls")),  # by name: the platform layer does not import the project
]
