# syntax=docker/dockerfile:1
# Multi-stage: the dependencies are built into a virtualenv in one stage, which the runtime stage
# copies whole; the runtime has no pip cache and no build leftovers, and runs as a non-root user.

FROM python:3.13-slim AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
# Only pyproject.toml: this layer is rebuilt when the dependencies change, not on every code edit.
COPY pyproject.toml .
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install -r requirements.txt


FROM python:3.13-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PORT=8000
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
       --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=deps /opt/venv /opt/venv
# The source as it is (see .dockerignore), owned by root: the app user can read it, not change it.
COPY . .
# Hashed, compressed static files for whitenoise. Settings need a SECRET_KEY to load; this one
# exists only for this build step and is not in the image's environment.
RUN SECRET_KEY=collectstatic-build-only DATABASE_URL=postgres://build@127.0.0.1/build \
    python manage.py collectstatic --noinput --verbosity 0

USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/scripts/healthcheck"]
CMD ["/app/scripts/start-web"]
