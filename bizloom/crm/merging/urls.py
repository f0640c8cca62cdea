"""Pages of this area, mounted under /crm/ by ``bizloom.crm.urls`` (names in the "crm" namespace)."""

from django.urls import URLPattern, URLResolver, path

from bizloom.crm.merging import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("duplicates/", views.duplicate_list, name="duplicate_list"),
    path("duplicates/scan/", views.duplicate_scan, name="duplicate_scan"),
    path("duplicates/<int:pk>/dismiss/", views.duplicate_dismiss, name="duplicate_dismiss"),
    # reverse("crm:merge_start", args=["account", "12,34"]): the first id is kept unless ?survivor= says otherwise
    path("merge/<slug:kind>/<str:ids>/", views.merge_start, name="merge_start"),
]
