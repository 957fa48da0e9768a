# Multi-stage, non-root image with a health check.
# Build: docker build -t peerline .   Run: see deploy/compose.yaml
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir .

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
