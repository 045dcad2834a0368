"""Webhooks: after a sync that finds releases never seen before, one signed POST per matching
endpoint, sent by the django-q2 worker so the sync never waits for a receiver.

services (queue, sign, record), tasks (what the worker runs), transport (the pinned,
deadline-bound POST), validators (which addresses a webhook may reach)."""
