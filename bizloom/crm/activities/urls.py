"""Pages of this area, mounted under /crm/ by ``bizloom.crm.urls`` (names in the "crm" namespace)."""

from django.urls import URLPattern, URLResolver, path

from bizloom.crm.activities import views
from bizloom.crm.activities.lists import ACTIVITY_LIST
from bizloom.platform.listing import list_urls

urlpatterns: list[URLPattern | URLResolver] = [
    # crm:activity_list, crm:activity_export, crm:activity_bulk, crm:activity_views
    *list_urls(ACTIVITY_LIST, "activities/", "activity"),
    path("activities/new/", views.activity_create, name="activity_create"),
    path("activities/<int:pk>/", views.activity_detail, name="activity_detail"),
    path("activities/<int:pk>/edit/", views.activity_update, name="activity_update"),
    path("activities/<int:pk>/delete/", views.activity_delete, name="activity_delete"),
    path("activities/<int:pk>/complete/", views.activity_complete, name="activity_complete"),
    path("activities/<int:pk>/cancel/", views.activity_cancel, name="activity_cancel"),
    path("activities/<int:pk>/check-in/", views.activity_check_in, name="activity_check_in"),
    path("activities/quick/<str:record_type>/<int:record_id>/", views.activity_quick_create,
         name="activity_quick_create"),
    path("my-day/", views.my_day, name="activity_my_day"),
    path("calendar/", views.activity_calendar, name="activity_calendar"),
    path("calendar/feed/", views.calendar_feed, name="activity_calendar_feed"),
    path("calendar/feed/<str:token>.ics", views.calendar_feed_ics, name="activity_calendar_feed_ics"),
]
