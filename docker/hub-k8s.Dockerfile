# syntax=docker/dockerfile:1.7
# The hub image of a prefecture: Zero to JupyterHub's own hub image (its JupyterHub, KubeSpawner,
# oauthenticator and chart glue stay exactly as the chart expects) plus hub_config, and nbgrader + Notebook for
# the per-course formgrader services that run in the hub pod. Build from the repository root:
#   docker build -f docker/hub-k8s.Dockerfile -t registry.example.jp/giga/hub-k8s:0.1.0 .
# The tag follows the chart version in docker/kubernetes/jupyterhub-values.yaml.
ARG Z2JH_HUB_IMAGE=quay.io/jupyterhub/k8s-hub:4.2.0
FROM ${Z2JH_HUB_IMAGE}
USER 0
# the versions of docker/requirements/hub.txt; the rest resolves against the chart's image
RUN pip install --no-cache-dir nbgrader==0.9.6 notebook==7.6.5 httpx==0.28.1 \
 && mkdir -p /usr/local/etc/jupyter \
 && printf '%s\n' 'from hub_config.nbgrader_config import configure_nbgrader, settings_from_env' \
      'configure_nbgrader(get_config(), **settings_from_env())  # noqa: F821' \
      > /usr/local/etc/jupyter/nbgrader_config.py
COPY hub_config /opt/giga/hub_config
# the platform's lessons, 小学生版 and 中学生版: hub_config.provision seeds each new course with its version
COPY classroom/source /opt/giga/classroom/source
COPY classroom/source-chuu /opt/giga/classroom/source-chuu
ENV PYTHONPATH=/opt/giga \
    GIGA_HUB_LESSONS_DIR=/opt/giga/classroom
USER 1000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python3", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8081/hub/health', timeout=4).status != 200)"]
