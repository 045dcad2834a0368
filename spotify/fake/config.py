"""FakeConfig: the fake's credentials, dataset size, token behaviour and injected faults."""

import dataclasses
import json
import os
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Self, Union, get_args, get_origin, get_type_hints

ENV_VAR = "FAKE_SPOTIFY_CONFIG"


class ConfigError(ValueError):
    """A config change names an unknown field or has a value of the wrong type."""


@dataclass(slots=True)
class FakeConfig:
    # --- credentials and tokens
    client_id: str = "demo-client-id"
    client_secret: str = "demo-client-secret"
    # Signs tokens and codes; fixed so several processes serving one fake accept each other's.
    signing_secret: str = "fake-spotify-signing-secret"
    token_ttl_seconds: int = 3600
    rotate_refresh_tokens: bool = False
    refresh_tokens_revoked: bool = False
    # Empty: any https URI or http loopback-IP URI is accepted (Spotify rejects `localhost`).
    redirect_uris: list[str] = field(default_factory=list)
    user_display_name: str = "Zoë Ångström ✦ 星"
    # --- dataset
    release_count: int = 100
    # ISO date the generated release dates are relative to; None means today.
    today: str | None = None
    # How many artists each fake account follows (a deterministic pick per account, capped at
    # the dataset's artists).
    followed_artist_count: int = 12
    # Scopes the user took back in Spotify's settings: endpoints needing them answer 403.
    revoked_scopes: list[str] = field(default_factory=list)
    # Releases added on top of release_count (the demo's growth: see spotify/demo.py). Generated
    # like the others, so the catalogue with more is a superset of the one with fewer.
    extra_releases: int = 0
    # Where generated cover art is served (a path on our own site in demo mode, so that
    # pictures work offline and under the CSP); None keeps the recorded i.scdn.co images.
    cover_base_url: str | None = None
    # --- faults (only on /v1 paths, filtered by fault_paths)
    rate_limit_requests: int = 0
    retry_after_seconds: int = 1
    error_burst: int = 0
    error_status: int = 502
    persistent_error_status: int | None = None
    slow_seconds: float = 0.0
    dev_mode: bool = False
    malformed_json: bool = False
    # Path prefixes (e.g. "/v1/artists") the faults apply to; empty means all of /v1.
    fault_paths: list[str] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Self:
        return cls().merged(values)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read `FAKE_SPOTIFY_CONFIG` (a JSON object); defaults when unset."""
        raw = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
        if not raw:
            return cls()
        try:
            values = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{ENV_VAR} is not valid JSON: {exc}") from exc
        if not isinstance(values, dict):
            raise ConfigError(f"{ENV_VAR} must be a JSON object")
        return cls.from_mapping(values)

    def merged(self, changes: Mapping[str, Any]) -> Self:
        """A copy with `changes` applied; raises ConfigError on unknown fields or bad types."""
        hints = get_type_hints(type(self))
        coerced: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in hints:
                raise ConfigError(f"Unknown config field: {name}")
            coerced[name] = _coerce(name, hints[name], value)
        updated = dataclasses.replace(self, **coerced)
        updated.validate()
        return updated

    def validate(self) -> None:
        if self.release_count < 0 or self.extra_releases < 0 or self.followed_artist_count < 0:
            raise ConfigError(
                "release_count, extra_releases and followed_artist_count must be >= 0"
            )
        if self.token_ttl_seconds < 0 or self.retry_after_seconds < 0 or self.slow_seconds < 0:
            raise ConfigError("durations must be >= 0")
        for status in (self.error_status, self.persistent_error_status):
            if status is not None and not 400 <= status <= 599:
                raise ConfigError("error statuses must be 4xx or 5xx")
        if self.today is not None:
            try:
                date.fromisoformat(self.today)
            except ValueError as exc:
                raise ConfigError("today must be an ISO date") from exc

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(name: str, hint: Any, value: Any) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [option for option in options if option is not type(None)]
        return _coerce(name, inner, value)
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name} must be a list of strings")
        return list(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be a boolean")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{name} must be a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string")
        return value
    raise ConfigError(f"{name} cannot be set")  # pragma: no cover - every field type is handled
