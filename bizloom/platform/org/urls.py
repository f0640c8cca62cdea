"""URLs of the organisation pages; mounted at /settings/org/ under the ``org`` namespace."""

from django.urls import path

from bizloom.platform.org import views

app_name = "org"

urlpatterns = [
    path("", views.home, name="home"),
    path("departments/new/", views.department_edit, name="department_create"),
    path("departments/<int:pk>/", views.department_edit, name="department_edit"),
    path("teams/new/", views.team_edit, name="team_create"),
    path("teams/<int:pk>/", views.team_edit, name="team_edit"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("roles/new/", views.role_create, name="role_create"),
    path("roles/<int:pk>/", views.role_edit, name="role_edit"),
    path("share/<int:content_type_id>/<int:object_id>/", views.record_share, name="record_share"),
    path("view-as/", views.view_as_start, name="view_as_start"),
    path("view-as/stop/", views.view_as_stop, name="view_as_stop"),
]
