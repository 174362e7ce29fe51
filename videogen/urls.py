from django.contrib import admin
from django.urls import include, path

from pipeline import control_room
from pipeline import views as pipeline_views
from videogen import views

admin.site.site_header = "videogen control room"
admin.site.site_title = "videogen"
admin.site.index_title = "Control room"
# "View site" opens what the operator is here for: the queue of what waits for a person.
admin.site.site_url = "/admin/review/"
# The control-room bar on every page links what an operator uses; the model sidebar would take a
# sixth of a 1366 px window from the tables (the admin index still lists every model).
admin.site.enable_nav_sidebar = False

# The control-room pages live under admin/ and use the admin's login (admin_view); they come
# before admin.site.urls so the admin's catch-all never shadows them.
control_room = [
    path("review/", include("reviews.urls")),
    path("media/<path:relative>", admin.site.admin_view(pipeline_views.media), name="media"),
    path("dashboard/", admin.site.admin_view(control_room.dashboard), name="dashboard"),
    path("spend/", admin.site.admin_view(control_room.spend), name="spend"),
    path("spend/export.csv", admin.site.admin_view(control_room.spend_export), name="spend-export"),
    path("quota/", admin.site.admin_view(control_room.quota), name="quota"),
]

urlpatterns = [
    # /health (the web's liveness) is answered by videogen.middleware.HealthProbeMiddleware.
    path("status", views.status, name="status"),
    path("admin/", include(control_room)),
    path("admin/", admin.site.urls),
]
