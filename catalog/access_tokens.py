"""A user's secrets for reading their own data without a session: personal API tokens
(`Authorization: Bearer ...`) and the private feed's URL token. Each is 32 random bytes; only its
SHA-256 is looked up, so a leaked database does not give the tokens away."""

import hashlib
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from catalog.models import FeedToken, PersonalToken

# Recognisable in logs and secret scanners; not part of the secret.
PERSONAL_TOKEN_PREFIX = "snr_"
# Not written again within this many seconds of the last write: a polling client would
# otherwise write on every request.
LAST_USED_RESOLUTION_SECONDS = 60


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def personal_token_create(*, user: Any, name: str = "") -> str:
    """A new token for the user's API answers, returned once: only its hash is stored."""
    token = PERSONAL_TOKEN_PREFIX + secrets.token_urlsafe(32)
    PersonalToken.objects.create(
        user=user, name=name[:100], token_hash=token_hash(token), prefix=token[:12]
    )
    return token


def personal_token_revoke(*, token_id: int, user: Any) -> None:
    """Deletes one of the user's tokens. Raises PersonalToken.DoesNotExist for a token that is
    not theirs (or no longer exists): the caller answers 404 and learns nothing else."""
    deleted, _ = PersonalToken.objects.filter(pk=token_id, user=user).delete()
    if not deleted:
        raise PersonalToken.DoesNotExist


def personal_token_user(*, token: str) -> AbstractBaseUser | None:
    """The active user a personal token belongs to, or None; notes when it was last used."""
    found = (
        PersonalToken.objects.filter(token_hash=token_hash(token), user__is_active=True)
        .select_related("user")
        .first()
    )
    if found is None:
        return None
    now = timezone.now()
    if (
        found.last_used_at is None
        or (now - found.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        PersonalToken.objects.filter(pk=found.pk).update(last_used_at=now)
    user: AbstractBaseUser = found.user
    return user


def feed_token_get_or_create(*, user: Any) -> str:
    """The user's private feed token, made on first use."""
    existing = FeedToken.objects.filter(user=user).first()
    if existing is not None:
        return existing.token
    return feed_token_rotate(user=user)


def feed_token_rotate(*, user: Any) -> str:
    """A new feed token for the user; the old feed URL stops working at once."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        FeedToken.objects.update_or_create(
            user=user,
            defaults={
                "token": token,
                "token_hash": token_hash(token),
                "created_at": timezone.now(),
            },
        )
    return token


def feed_token_revoke(*, user: Any) -> bool:
    """No feed URL at all for the user until they ask for a new one."""
    deleted, _ = FeedToken.objects.filter(user=user).delete()
    return bool(deleted)


def feed_token_user(*, token: str) -> AbstractBaseUser | None:
    """The active user a feed token belongs to, or None."""
    user: AbstractBaseUser | None = (
        get_user_model()
        .objects.filter(feed_token__token_hash=token_hash(token), is_active=True)
        .first()
    )
    return user
