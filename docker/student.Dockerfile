# syntax=docker/dockerfile:1.7
# The student image: one container (city) or pod (prefecture) per student. Kept lean for a class of 40
# starting at once: Notebook 7, nbgrader, pandas, matplotlib with the BIZ UD font for Japanese labels, and
# jupyterhub-singleuser. Build from the repository root:
#   docker build -f docker/student.Dockerfile -t giga-student:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_FIND_LINKS=/wheels
RUN python -m venv /opt/venv
# docker/base/build.sh's wheelhouse (PIP_NO_INDEX=1: nothing from PyPI); in a plain checkout it holds only its
# README and pip downloads from PyPI. The same first steps in lms, hub and student: one shared layer.
COPY docker/wheelhouse /wheels
ARG PIP_NO_INDEX=0
COPY docker/requirements/student.txt /tmp/student.txt
# --no-compile: the bytecode is compiled once, by compileall below (pip's own was deleted and made again)
RUN /opt/venv/bin/pip install --no-compile --require-hashes --only-binary=:all: -r /tmp/student.txt \
 && /opt/venv/bin/pip uninstall -y pip \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
 && find /opt/venv -path '*/site-packages/*/tests' -type d -prune -exec rm -rf {} + \
 && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="giga-student" \
      org.opencontainers.image.description="GIGA Learning Platform: a student's notebook server" \
      org.opencontainers.image.licenses="Apache-2.0"
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-morisawa-bizud-gothic=1.05-2 tini=0.19.0-1+b3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --gid 100 --home-dir /home/jovyan --create-home --shell /bin/bash jovyan
COPY --from=build /opt/venv /opt/venv
COPY hub_config /opt/giga/hub_config
# Bytecode compiled here, once: uid 1000 cannot write the venv, so without it every student's server compiled
# ~1,600 modules at each start (benchmarks/bench_single_user_import.py: 3.5x the CPU of a start with bytecode)
RUN /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/giga/hub_config
COPY docker/student/matplotlibrc /etc/matplotlibrc
RUN mkdir -p /opt/venv/etc/jupyter \
 && printf '%s\n' 'from hub_config.nbgrader_config import configure_nbgrader, settings_from_env' \
      'configure_nbgrader(get_config(), **settings_from_env())  # noqa: F821' \
      > /opt/venv/etc/jupyter/nbgrader_config.py
# JUPYTER_PATH: the python3 kernel spec that loads the 全角/半角 hint (hub_config/zenkaku.py) in students' kernels
# PYTHONPATH: the lazy rfc3987_syntax first (hub_config/lazy_imports), as docker_mode.student_environment sets it
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/giga/hub_config/lazy_imports:/opt/giga \
    JUPYTER_PATH=/opt/giga/hub_config/jupyter_data \
    PYTHONUNBUFFERED=1 \
    MATPLOTLIBRC=/etc/matplotlibrc \
    SHELL=/bin/bash
WORKDIR /home/jovyan
USER 1000
EXPOSE 8888
# The spawner starts jupyterhub-singleuser on 8888 under a per-user prefix; a listening port means alive.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import socket; socket.create_connection(('127.0.0.1', 8888), 3).close()"]
ENTRYPOINT ["tini", "--"]
CMD ["jupyterhub-singleuser"]
