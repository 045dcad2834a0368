from django.urls import path

from catalog import feeds, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("feeds/releases.atom", feeds.release_feed, name="release-feed"),
    path("feeds/me/<str:token>.atom", feeds.following_feed, name="following-feed"),
    path("artists/<str:spotify_id>/", views.artist_detail, name="artist-detail"),
    path("sync/", views.sync_card, name="sync-card"),
    path("sync/refresh/", views.sync_refresh, name="sync-refresh"),
]
