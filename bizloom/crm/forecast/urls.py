"""Pages of this area, mounted under /crm/ by ``bizloom.crm.urls`` (names in the "crm" namespace)."""

from django.urls import URLPattern, URLResolver, path

from bizloom.crm.forecast import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("forecast/", views.forecast_report, name="forecast_report"),
    path("pipeline-analysis/", views.pipeline_analysis_report, name="pipeline_analysis_report"),
    path("targets/", views.target_list, name="target_list"),
    path("targets/save/", views.target_save, name="target_save"),
]
