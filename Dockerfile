# One image for the three services and the portal; docker-compose.yml picks the command (rbn-registry, ...).
# Build: docker build -t rbn-arnsberg .
# On a machine without an image registry, from the local stand-in (deploy/docker/engine.sh images):
#   docker build --build-arg PYTHON_IMAGE=rbn-local/python:3.11-slim -t rbn-arnsberg:local .
# Where PyPI is reached only through a CA of the machine's own, give that CA bundle as a build secret;
# it is mounted over the image's bundle while pip and uv download, and never stored in the image:
#   docker build --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt ...
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never PIP_NO_CACHE_DIR=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=secret,id=ca,target=/etc/ssl/certs/ca-certificates.crt pip install "uv==0.13.9"
WORKDIR /app
# Dependencies first, so code changes do not invalidate this layer.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/registry/pyproject.toml services/registry/
COPY services/conferences/pyproject.toml services/conferences/
COPY services/notifications/pyproject.toml services/notifications/
COPY services/portal/pyproject.toml services/portal/
COPY ops/pyproject.toml ops/
COPY tools/pyproject.toml tools/
RUN --mount=type=secret,id=ca,target=/etc/ssl/certs/ca-certificates.crt uv sync --frozen --no-dev --no-install-workspace
COPY shared shared
COPY services services
COPY ops ops
COPY tools tools
COPY contracts contracts
RUN --mount=type=secret,id=ca,target=/etc/ssl/certs/ca-certificates.crt uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --home-dir /app rbn
WORKDIR /app
COPY --from=build --chown=rbn:rbn /app/.venv /app/.venv
COPY --from=build --chown=rbn:rbn /app/contracts /app/contracts
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1
USER rbn
# Services listen on all interfaces inside the container; the port comes from the environment.
ENV REGISTRY_HTTP_HOST=0.0.0.0 CONFERENCES_HTTP_HOST=0.0.0.0 NOTIFICATIONS_HTTP_HOST=0.0.0.0 \
    PORTAL_HTTP_HOST=0.0.0.0
CMD ["rbn", "--help"]
