# syntax=docker/dockerfile:1.7
# The LMS image (FastAPI + SQLModel, `giga` command). Build from the repository root:
#   docker build -f docker/lms.Dockerfile -t giga-lms:0.1.0 .
# Stage 1 installs the locked dependencies and the project into a venv and makes the self-hosted web font
# (a WOFF2 subset of BIZ UD P Gothic, SIL OFL); stage 2 copies only the venv: no compiler, no apt lists,
# no full 4.6 MB TTF in the image that runs, and none of the authoring tools the server never imports:
# SudachiDict (193 MB, the second dictionary of `giga items lint --readings`) and fontTools (29 MB, the font
# subset above). Measured: 922 MB with them.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_FIND_LINKS=/wheels
RUN python -m venv /opt/venv
# docker/base/build.sh's wheelhouse (PIP_NO_INDEX=1: nothing from PyPI); in a plain checkout it holds only its
# README and pip downloads from PyPI. The same first steps in lms, hub and student: one shared layer.
COPY docker/wheelhouse /wheels
ARG PIP_NO_INDEX=0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-morisawa-bizud-gothic=1.05-2 \
 && rm -rf /var/lib/apt/lists/*
COPY docker/requirements/lms.txt /tmp/lms.txt
# unidic-lite (the dictionary of the furigana reader) is published as a source archive only
# --no-compile: the bytecode is compiled once, by compileall below
RUN /opt/venv/bin/pip install --no-compile --require-hashes --only-binary=:all: --no-binary=unidic-lite -r /tmp/lms.txt
WORKDIR /src
COPY pyproject.toml README.md ./
COPY reading_tests ./reading_tests
COPY hub_config ./hub_config
COPY lms ./lms
RUN /opt/venv/bin/python lms/static/fonts/fetch_fonts.py \
 && test -s lms/static/fonts/BIZUDPGothic-Regular.subset.woff2 \
 && rm -f lms/static/fonts/*.ttf \
 && /opt/venv/bin/pip install --no-compile --no-deps . \
 && /opt/venv/bin/pip uninstall -y sudachipy sudachidict-core fonttools \
 && /opt/venv/bin/pip uninstall -y pip \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
 && find /opt/venv -path '*/site-packages/*/tests' -type d -prune -exec rm -rf {} + \
 && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="giga-lms" \
      org.opencontainers.image.description="GIGA Learning Platform: LMS (FastAPI)" \
      org.opencontainers.image.licenses="Apache-2.0"
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# pg_dump/pg_restore for `giga backup` / `giga restore`: major 15, the compose database's (it must be at least
# the server's). Not pinned to a patch release: bookworm-security replaces those, and old ones vanish.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*
# /backups owned by the user: a new named volume mounted there (compose's `backups`) takes this owner, or
# `giga backup` cannot write into it (found when the city first ran)
RUN groupadd --system --gid 10001 giga \
 && useradd --system --uid 10001 --gid giga --home-dir /srv/giga --create-home --shell /usr/sbin/nologin giga \
 && install -d -o giga -g giga -m 0750 /backups
# with its bytecode, compiled at build time (uid 10001 cannot write the venv): without it every process —
# each worker, `giga db upgrade`, `giga backup` — compiled what it imports at each start (`import lms.main`
# took 20-25 s instead of 8-10 s on the loaded 2-core machine)
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GIGA_ENVIRONMENT=production \
    GIGA_HTTPS=true \
    GIGA_LOG_FORMAT=json \
    GIGA_PG_BIN_DIR=/usr/lib/postgresql/15/bin \
    GIGA_BACKUP_DIR=/backups
# No FORWARDED_ALLOW_IPS: X-Forwarded-For is believed only from GIGA_TRUSTED_PROXIES (compose: Caddy's network)
WORKDIR /srv/giga
USER 10001
EXPOSE 8000
# A worker's start (imports, item bank) took 70 s on a loaded 2-core machine: failures in the first three
# minutes do not count, or compose's `depends_on: service_healthy` gives up on a server that is still starting.
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
# Workers: GIGA_WORKERS (compose sets it; on Kubernetes one or two per pod, more pods instead). The workers
# share their /metrics counters through PROMETHEUS_MULTIPROC_DIR, emptied at every start (lms/ops/metrics.py).
CMD ["sh", "-c", "export PROMETHEUS_MULTIPROC_DIR=/tmp/giga-metrics && rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && exec giga serve --host 0.0.0.0 --port 8000 --workers \"${GIGA_WORKERS:-4}\""]
