# The grader of a city (docker/compose.yaml): every course's formgrader (hub_config/grader_host.py), as root,
# because the autograde sandbox (hub_config/sandbox.py) switches to pooled unix users and puts each student's
# kernel in bubblewrap. Built on the student image, so that student code is graded with the very packages,
# font and settings it was written with. Build from the repository root, after the student image:
#   docker build -f docker/grader.Dockerfile -t giga/grader:0.1.0 .
ARG STUDENT_IMAGE=giga/student:0.1.0
FROM ${STUDENT_IMAGE}
LABEL org.opencontainers.image.title="giga-grader" \
      org.opencontainers.image.description="GIGA Learning Platform: the course formgraders and the autograde sandbox" \
      org.opencontainers.image.licenses="Apache-2.0"
# root on purpose (the only image that is): the sandbox needs it; compose gives the container only the
# capabilities bubblewrap needs and no network but the hub's, the proxy's and the LMS's
# hadolint ignore=DL3002
USER 0
# /srv/jupyterhub/courses as in the hub image (the hub's uid 10002 provisions the courses): whichever of the two
# mounts compose's `courses` volume first gives it this owner
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap=0.8.0-2+deb12u1 \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o 10002 -g 10002 -m 0755 /srv/jupyterhub/courses
ENV GIGA_HUB_MODE=docker \
    GIGA_HUB_STATE_DIR=/srv/jupyterhub
WORKDIR /srv/jupyterhub
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, sys, time; sys.exit(time.time() - os.stat('/tmp/giga-grader-alive').st_mtime > 60)"]
CMD ["python", "-m", "hub_config.grader_host"]
