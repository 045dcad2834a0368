"""Mutable per-process state of one fake: current config, call counts, spent codes."""

import threading
from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any

from spotify.fake.config import FakeConfig
from spotify.fake.data import Dataset, get_dataset
from spotify.fake.tokens import TokenSigner


class FakeState:
    def __init__(self, config: FakeConfig) -> None:
        self._initial = config
        self._config = config
        self._lock = threading.Lock()
        self._stats: Counter[str] = Counter()
        self._spent_codes: set[str] = set()

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
