"""Pages of this area, mounted under /crm/ by ``bizloom.crm.urls`` (names in the "crm" namespace)."""

from django.urls import URLPattern, URLResolver, path

from bizloom.crm.pipeline import views
from bizloom.crm.pipeline.lists import OPPORTUNITY_LIST
from bizloom.platform.listing import list_urls

urlpatterns: list[URLPattern | URLResolver] = [
    # crm:opportunity_list, crm:opportunity_export, crm:opportunity_bulk, crm:opportunity_views
    *list_urls(OPPORTUNITY_LIST, "opportunities/", "opportunity"),
    path("opportunities/new/", views.opportunity_create, name="opportunity_create"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_update, name="opportunity_update"),
    path("opportunities/<int:pk>/delete/", views.opportunity_delete, name="opportunity_delete"),
    path("opportunities/<int:pk>/move/", views.opportunity_move, name="opportunity_move"),
    # the kanban board
    path("pipeline/board/", views.board_default, name="pipeline_board_default"),
    path("pipeline/<int:pk>/board/", views.pipeline_board, name="pipeline_board"),
    # settings
    path("pipelines/", views.pipeline_list, name="pipeline_list"),
    path("pipelines/new/", views.pipeline_create, name="pipeline_create"),
    path("pipelines/<int:pk>/", views.pipeline_detail, name="pipeline_detail"),
    path("pipelines/<int:pk>/edit/", views.pipeline_update, name="pipeline_update"),
    path("pipelines/<int:pk>/delete/", views.pipeline_delete, name="pipeline_delete"),
    path("pipelines/<int:pk>/stages/new/", views.stage_create, name="stage_create"),
    path("pipelines/stages/<int:pk>/edit/", views.stage_update, name="stage_update"),
    path("pipelines/stages/<int:pk>/delete/", views.stage_delete, name="stage_delete"),
    path("pipelines/loss-reasons/new/", views.lossreason_create, name="lossreason_create"),
    path("pipelines/loss-reasons/<int:pk>/edit/", views.lossreason_update, name="lossreason_update"),
    path("pipelines/loss-reasons/<int:pk>/delete/", views.lossreason_delete, name="lossreason_delete"),
    path("pipelines/competitors/new/", views.competitor_create, name="competitor_create"),
    path("pipelines/competitors/<int:pk>/edit/", views.competitor_update, name="competitor_update"),
    path("pipelines/competitors/<int:pk>/delete/", views.competitor_delete, name="competitor_delete"),
]
