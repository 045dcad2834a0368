from django.apps import AppConfig


class SpotifyConfig(AppConfig):
    name = "spotify"
    verbose_name = "Spotify connection"
