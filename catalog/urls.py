from django.urls import path

from catalog import feeds, views
from catalog.notifications import views as notification_views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("feeds/releases.atom", feeds.release_feed, name="release-feed"),
    path("feeds/me/<str:token>.atom", feeds.following_feed, name="following-feed"),
    path("artists/<str:spotify_id>/", views.artist_detail, name="artist-detail"),
    path("sync/", views.sync_card, name="sync-card"),
    path("sync/refresh/", views.sync_refresh, name="sync-refresh"),
    path("notifications/", notification_views.notifications_page, name="notifications"),
    path(
        "notifications/targets/",
        notification_views.notification_target_add,
        name="notification-target-add",
    ),
    path(
        "notifications/targets/<int:pk>/test/",
        notification_views.notification_target_test,
        name="notification-target-test",
    ),
    path(
        "notifications/targets/<int:pk>/remove/",
        notification_views.notification_target_remove,
        name="notification-target-remove",
    ),
    path(
        "notifications/targets/<int:pk>/resume/",
        notification_views.notification_target_resume_view,
        name="notification-target-resume",
    ),
]
