"""The project's URLs plus this issue's apps, for tests while they are not mounted in bizloom/urls.py yet."""

from django.urls import include, path

from bizloom.urls import urlpatterns as project_urlpatterns

_MOUNTS = [
    ("notifications", path("notifications/", include("bizloom.platform.notifications.urls"))),
    ("timeline", path("timeline/", include("bizloom.platform.timeline.urls"))),
    ("numbering", path("settings/numbering/", include("bizloom.platform.numbering.urls"))),
]


def _mounted_namespaces(patterns: list) -> set[str]:  # type: ignore[type-arg]
    return {getattr(p, "namespace", None) or "" for p in patterns}


urlpatterns = [p for ns, p in _MOUNTS if ns not in _mounted_namespaces(project_urlpatterns)] + list(
    project_urlpatterns)
