from django.urls import path

from catalog import feeds, me_views, views
from catalog.notifications import views as notification_views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("feeds/releases.atom", feeds.release_feed, name="release-feed"),
    path("feeds/me/<str:token>.atom", feeds.following_feed, name="following-feed"),
    path("artists/<str:spotify_id>/", views.artist_detail, name="artist-detail"),
    path("sync/", views.sync_card, name="sync-card"),
    path("sync/refresh/", views.sync_refresh, name="sync-refresh"),
    path("following/", me_views.following, name="following"),
    path("me/", me_views.me, name="me"),
    path("me/follows/refresh/", me_views.follows_refresh, name="me-follows-refresh"),
    path("me/tokens/", me_views.token_create, name="me-token-create"),
    path("me/tokens/revoke/", me_views.token_revoke, name="me-token-revoke"),
    path("me/feed/", me_views.feed_url_rotate, name="me-feed-rotate"),
    path("me/feed/revoke/", me_views.feed_url_revoke, name="me-feed-revoke"),
    path("me/playlist/on/", me_views.playlist_on, name="me-playlist-on"),
    path("me/playlist/update/", me_views.playlist_refresh, name="me-playlist-update"),
    path("me/playlist/off/", me_views.playlist_off, name="me-playlist-off"),
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
