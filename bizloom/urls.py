"""Top-level URL map: the web UI, the admin and the REST API."""

from django.contrib import admin
from django.urls import include, path

from bizloom.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("crm/", include("bizloom.crm.urls")),
    path("settings/events/", include("bizloom.platform.events.urls")),
    path("settings/org/", include("bizloom.platform.org.urls")),
    path("settings/custom-fields/", include("bizloom.platform.customfields.urls")),
    path("settings/", include("bizloom.integration.urls")),
    path("notifications/", include("bizloom.platform.notifications.urls")),
    path("timeline/", include("bizloom.platform.timeline.urls")),
    path("settings/numbering/", include("bizloom.platform.numbering.urls")),
    path("exports/", include("bizloom.platform.exportjobs.urls")),
    path("imports/", include("bizloom.integration.imports.urls")),
    path("", include("bizloom.platform.urls")),
]
