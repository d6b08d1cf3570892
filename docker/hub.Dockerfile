# syntax=docker/dockerfile:1.7
# The hub image of a city (docker/compose.yaml): JupyterHub with sign-in through the LMS, DockerSpawner, the
# idle culler and nbgrader's per-course formgrader services. The proxy (configurable-http-proxy) runs in its
# own container, as on Kubernetes, so this image needs no Node.js. Build from the repository root:
#   docker build -f docker/hub.Dockerfile -t giga-hub:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_FIND_LINKS=/wheels
RUN python -m venv /opt/venv
# docker/base/build.sh's wheelhouse (PIP_NO_INDEX=1: nothing from PyPI); in a plain checkout it holds only its
# README and pip downloads from PyPI. The same first steps in lms, hub and student: one shared layer.
COPY docker/wheelhouse /wheels
ARG PIP_NO_INDEX=0
COPY docker/requirements/hub.txt /tmp/hub.txt
# --no-compile: the bytecode is compiled once, by compileall below (pip's own was deleted and made again)
RUN /opt/venv/bin/pip install --no-compile --require-hashes --only-binary=:all: -r /tmp/hub.txt \
 && /opt/venv/bin/pip uninstall -y pip \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
 && find /opt/venv -path '*/site-packages/*/tests' -type d -prune -exec rm -rf {} + \
 && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="giga-hub" \
      org.opencontainers.image.description="GIGA Learning Platform: JupyterHub (DockerSpawner, KubeSpawner)" \
      org.opencontainers.image.licenses="Apache-2.0"
# /srv/jupyterhub/courses: compose's `courses` volume (shared with the grader) takes this folder's owner
RUN groupadd --system --gid 10002 jupyterhub \
 && useradd --system --uid 10002 --gid jupyterhub --home-dir /srv/jupyterhub --create-home \
      --shell /usr/sbin/nologin jupyterhub \
 && install -d -o 10002 -g 10002 -m 0755 /srv/jupyterhub/courses
COPY --from=build /opt/venv /opt/venv
COPY hub_config /opt/giga/hub_config
# bytecode compiled once here: the hub's user cannot write the venv (each formgrader's start compiled it all)
RUN /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/giga/hub_config
# the platform's lessons, 小学生版 and 中学生版: hub_config.provision seeds each new course with its version
COPY classroom/source /opt/giga/classroom/source
COPY classroom/source-chuu /opt/giga/classroom/source-chuu
# nbgrader finds the platform's configuration in the venv's config folder (exchange, LMS export, sandbox)
RUN mkdir -p /opt/venv/etc/jupyter \
 && printf '%s\n' 'from hub_config.nbgrader_config import configure_nbgrader, settings_from_env' \
      'configure_nbgrader(get_config(), **settings_from_env())  # noqa: F821' \
      > /opt/venv/etc/jupyter/nbgrader_config.py
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/giga \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GIGA_HUB_MODE=docker \
    GIGA_HUB_STATE_DIR=/srv/jupyterhub \
    GIGA_HUB_LESSONS_DIR=/opt/giga/classroom
WORKDIR /srv/jupyterhub
USER 10002
EXPOSE 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8081/hub/health', timeout=4).status != 200)"]
CMD ["jupyterhub", "-f", "/opt/giga/hub_config/jupyterhub_config.py"]
