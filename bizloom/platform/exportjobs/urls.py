"""Mounted at ``/exports/`` with namespace ``exportjobs``."""

from django.urls import path

from bizloom.platform.exportjobs import views

app_name = "exportjobs"

urlpatterns = [
    path("<int:pk>/", views.job_detail, name="detail"),
    path("<int:pk>/download/", views.job_download, name="download"),
]
