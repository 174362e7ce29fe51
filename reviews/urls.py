"""The review queue and page, mounted under admin/review/ (videogen/urls.py). admin_view makes them
staff-only (anonymous users get the admin login) and keeps them out of caches."""

from django.contrib import admin
from django.urls import path

from reviews import compliance_views, edit_views, views

app_name = "reviews"

urlpatterns = [
    path("", admin.site.admin_view(views.queue), name="queue"),
    path(
        "compliance/",
        admin.site.admin_view(compliance_views.compliance_report),
        name="compliance",
    ),
    path("<uuid:task_id>/", admin.site.admin_view(views.task_review), name="task"),
    path("<uuid:task_id>/decide/", admin.site.admin_view(views.decide), name="decide"),
    path("<uuid:task_id>/next/", admin.site.admin_view(views.next_action), name="next"),
    path(
        "<uuid:task_id>/storyboard/",
        admin.site.admin_view(edit_views.storyboard_edit),
        name="storyboard",
    ),
    path(
        "<uuid:task_id>/metadata/", admin.site.admin_view(edit_views.metadata_edit), name="metadata"
    ),
    path(
        "<uuid:task_id>/thumbnail/",
        admin.site.admin_view(edit_views.thumbnail_pick),
        name="thumbnail",
    ),
]
