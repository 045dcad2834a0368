"""`manage.py fake_spotify`: serve the fake Spotify over HTTP (demos, e2e tests, benchmarks)."""

import json
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from spotify.fake import ConfigError, FakeConfig, FakeSpotify
from spotify.fake.server import make_fake_server, root_url


class Command(BaseCommand):
    help = "Serve a fake Spotify (accounts service + Web API) on a threaded HTTP server."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--releases", type=int, help="number of new releases to serve")
        parser.add_argument(
            "--dev-mode", action="store_true", help="behave like a Feb-2026 Development Mode app"
        )
        parser.add_argument(
            "--config",
            help="JSON object of FakeConfig fields, applied over FAKE_SPOTIFY_CONFIG",
        )
        parser.add_argument("--verbose-requests", action="store_true", help="log every request")

    def handle(self, *args: Any, **options: Any) -> None:
        config = self._config(options)
        app = FakeSpotify(config)
        app.state.dataset  # noqa: B018 - build the catalogue now, not on the first request
        server = make_fake_server(
            app,
            options["host"],
            options["port"],
            quiet=not options["verbose_requests"],
        )
        root = root_url(server)
        self.stdout.write(f"Fake Spotify serving {config.release_count} releases at {root}")
        self.stdout.write("Point the app at it with:")
        self.stdout.write(f"  SPOTIFY_API_BASE_URL={root}/v1")
        self.stdout.write(f"  SPOTIFY_ACCOUNTS_BASE_URL={root}")
        self.stdout.write(f"  SPOTIFY_CLIENT_ID={config.client_id}")
        self.stdout.write(f"  SPOTIFY_CLIENT_SECRET={config.client_secret}")
        self.stdout.write(f"  SPOTIFY_REDIRECT_URI={config.redirect_uris[0]}")
        self.stdout.write("Control: GET/POST /_fake/config, POST /_fake/reset, GET /_fake/stats")
        self.stdout.write("Quit with CONTROL-C.")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopping fake Spotify.")
        finally:
            server.server_close()

    def _config(self, options: dict[str, Any]) -> FakeConfig:
        changes: dict[str, Any] = {}
        if options["config"]:
            try:
                parsed = json.loads(options["config"])
            except json.JSONDecodeError as exc:
                raise CommandError(f"--config is not valid JSON: {exc}") from exc
            if not isinstance(parsed, dict):
                raise CommandError("--config must be a JSON object")
            changes.update(parsed)
        if options["releases"] is not None:
            changes["release_count"] = options["releases"]
        if options["dev_mode"]:
            changes["dev_mode"] = True
        try:
            config = FakeConfig.from_env().merged(changes)
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        if not config.redirect_uris:
            # Like a Spotify app, the fake's consent page redirects only to registered URIs.
            config = config.merged({"redirect_uris": [settings.SPOTIFY_REDIRECT_URI]})
        return config
