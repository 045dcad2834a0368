from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from catalog.metrics import CatalogCollector
from observability.metrics import metrics_view
from project.api import api
from spotify.conf import DEMO_AUTHORIZE_PATH
from spotify.views import demo_authorize

handler500 = "project.middleware.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics_view(collectors=[CatalogCollector()]), name="metrics"),
    path("api/", api.urls),
    path("auth/", include("spotify.urls")),
    # Sign-in for every user (django-axes counts the failures, as on the admin's); logging out is
    # POST only (LogoutView refuses GET).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Demo mode's consent page (the view answers 404 outside demo mode).
    path(
        f"{DEMO_AUTHORIZE_PATH.strip('/')}/authorize",
        demo_authorize,
        name="spotify_demo_authorize",
    ),
    path("", include("catalog.urls")),
]
