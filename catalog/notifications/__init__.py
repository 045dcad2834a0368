"""Notifications through Apprise: after a sync that finds new releases, or as a daily or weekly
digest, one message per target (ntfy, Gotify, Discord, Telegram, Matrix, email...), sent by the
django-q2 worker.

services (queue, send, record, pause), tasks (what the worker runs), content (the message cut to
each service's limits), transport (one Apprise send, guarded), validators (which URLs a user's
target may have)."""
