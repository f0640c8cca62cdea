"""Mounted at ``/timeline/`` with namespace ``timeline``."""

from django.urls import path

from bizloom.platform.timeline import views

app_name = "timeline"

urlpatterns = [
    path("attachments/<int:pk>/download", views.attachment_download, name="attachment_download"),
    path("<int:content_type_id>/<str:object_id>/", views.panel, name="panel"),
    path("<int:content_type_id>/<str:object_id>/comments/", views.comment_create, name="comment_create"),
    path("<int:content_type_id>/<str:object_id>/attachments/", views.attachment_create, name="attachment_create"),
]
