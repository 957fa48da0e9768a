# Multi-stage, non-root image with a health check.
# Build: docker build -t peerline .   Run: see deploy/compose.yaml and the README.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# The dependencies exactly as locked (versions and hashes; `bash scripts/lock` makes it),
# in a layer of their own, so a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
# The project itself, as a wheel: app/ with its data files and migrations.
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir --no-deps .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home /srv peerline
WORKDIR /srv
COPY --from=build /opt/venv /opt/venv
COPY web_client ./web_client
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PEERLINE_ENV=production \
    WEB_CLIENT_DIR=/srv/web_client
USER peerline
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# Migrations run once from the `migrate` service in compose, not on every start.
CMD ["peerline", "serve", "--host", "0.0.0.0", "--port", "8000"]
