from django.urls import path

from bizloom.integration.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.batch_list, name="list"),
    path("new/", views.upload, name="upload"),
    path("<int:pk>/", views.batch_detail, name="detail"),
    path("<int:pk>/status/", views.batch_status, name="status"),
    path("<int:pk>/encoding/", views.batch_encoding, name="encoding"),
    path("<int:pk>/mapping/", views.batch_mapping, name="mapping"),
    path("<int:pk>/dry-run/", views.batch_dry_run, name="dry_run"),
    path("<int:pk>/run/", views.batch_run, name="run"),
    path("<int:pk>/undo/", views.batch_undo, name="undo"),
    path("<int:pk>/errors.csv", views.batch_errors, name="errors"),
]
