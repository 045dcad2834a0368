"""Mutable per-process state of one fake: current config, call counts, spent codes."""

import secrets
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from spotify.fake.config import FakeConfig
from spotify.fake.data import Dataset, get_dataset
from spotify.fake.tokens import TokenSigner


@dataclass
class FakePlaylist:
    id: str
    owner: str
    name: str
    description: str
    public: bool
    items: list[str] = field(default_factory=list)
    # Spotify changes it on every write to the items.
    snapshot_id: str = ""


class FakeState:
    def __init__(self, config: FakeConfig) -> None:
        self._initial = config
        self._config = config
        self._lock = threading.Lock()
        self._stats: Counter[str] = Counter()
        self._spent_codes: set[str] = set()
        self._playlists: dict[str, FakePlaylist] = {}

    @property
    def config(self) -> FakeConfig:
        return self._config

    @property
    def signer(self) -> TokenSigner:
        return TokenSigner(self._config.signing_secret)

    @property
    def dataset(self) -> Dataset:
        config = self._config
        # Keyed by date, so a long-running fake's releases move along with the calendar.
        anchor = date.fromisoformat(config.today) if config.today else date.today()
        return get_dataset(
            config.release_count,
            anchor,
            extra=config.extra_releases,
            cover_base_url=config.cover_base_url,
        )

    def update(self, changes: Mapping[str, Any]) -> FakeConfig:
        with self._lock:
            self._config = self._config.merged(changes)
            return self._config

    def reset(self) -> FakeConfig:
        with self._lock:
            self._config = self._initial
            self._stats.clear()
            self._spent_codes.clear()
            self._playlists.clear()
            return self._config

    def count(self, key: str) -> None:
        with self._lock:
            self._stats[key] += 1

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._stats)

    def spend_code(self, nonce: str) -> bool:
        """Mark a code used; False when it already was (codes are single-use)."""
        with self._lock:
            if nonce in self._spent_codes:
                return False
            self._spent_codes.add(nonce)
            return True

    def take_counted_fault(self) -> tuple[str, FakeConfig] | None:
        """Atomically consume one pending rate-limit or error-burst response, if any."""
        with self._lock:
            config = self._config
            if config.rate_limit_requests > 0:
                self._config = config.merged(
                    {"rate_limit_requests": config.rate_limit_requests - 1}
                )
                return "rate_limit", config
            if config.error_burst > 0:
                self._config = config.merged({"error_burst": config.error_burst - 1})
                return "error_burst", config
            return None

    # --- playlists (the only data the fake's users write) -------------------------------------

    def playlist_create(
        self, *, owner: str, name: str, description: str, public: bool
    ) -> FakePlaylist:
        with self._lock:
            playlist = FakePlaylist(
                id=_base62_id(), owner=owner, name=name, description=description, public=public
            )
            playlist.snapshot_id = _base62_id()
            self._playlists[playlist.id] = playlist
            return playlist

    def playlist(self, playlist_id: str) -> FakePlaylist | None:
        with self._lock:
            return self._playlists.get(playlist_id)

    def playlists(self) -> list[FakePlaylist]:
        with self._lock:
            return list(self._playlists.values())

    def playlist_items_write(
        self, playlist_id: str, uris: list[str], *, replace: bool
    ) -> str | None:
        """Replaces or extends the items; the new snapshot id, None when the playlist is gone."""
        with self._lock:
            playlist = self._playlists.get(playlist_id)
            if playlist is None:
                return None
            playlist.items = [*([] if replace else playlist.items), *uris]
            playlist.snapshot_id = _base62_id()
            return playlist.snapshot_id

    def playlist_delete(self, playlist_id: str) -> bool:
        """What an owner's unfollow (Spotify's "delete") does here: the playlist is gone."""
        with self._lock:
            return self._playlists.pop(playlist_id, None) is not None


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62_id() -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(22))
