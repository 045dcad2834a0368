"""What operators see: request ids and log context, request metrics, /metrics, Sentry.

A base layer like spotify/: it imports no other app of the project, so any of them may use it."""
