# One image for every process of the Procfile: web (the default command), worker, beat, flower.
# compose.yaml and railway/*.json pick the process; their commands match the Procfile (tested).
# BASE_IMAGE is for machines without Docker Hub: `make image-check` builds a stand-in for the
# official image from Debian's packages (docker/stand-in-base.sh). Railway builds on the default.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# PYTHONPATH: the scripts, run as files, import the project's core package from the app root.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The runtime lock only: the test and development tools are in requirements-dev.lock. FFmpeg is
# the binary the imageio-ffmpeg package bundles, the one core/ffmpeg.py picks when
# FFMPEG_BINARY is unset, so the image installs no other. googleapiclient bundles the discovery
# documents of every Google API (110 MB); the code builds YouTube's only (youtube_client.py).
COPY requirements.lock .
RUN pip install --requirement requirements.lock \
    && find "$(python -c 'import googleapiclient, os; print(os.path.dirname(googleapiclient.__file__))')/discovery_cache/documents" \
        -name '*.json' ! -name 'youtube*' -delete

COPY . .
# The admin's static files are part of the image (WhiteNoise serves them), so the release step
# only migrates. The keys are throwaway values for this one command: collectstatic needs
# settings, not secrets.
RUN DJANGO_SECRET_KEY=build-only FIELD_ENCRYPTION_KEY=build-only VIDEOGEN_DATA_DIR=/tmp/build \
    python manage.py collectstatic --noinput \
    && rm -rf /tmp/build

# The processes run as videogen (uid 1000). The container starts as root only so that the
# entrypoint can hand a root-owned volume at /data (Railway's, Docker's) to that user; it then
# drops to it before starting the command.
RUN useradd --create-home --uid 1000 videogen \
    && mkdir -p /data/workspace \
    && chown -R videogen:videogen /data \
    && install -m 0755 docker/entrypoint.sh /usr/local/bin/videogen-entrypoint
ENV VIDEOGEN_DATA_DIR=/data \
    WORKSPACE_ROOT=/data/workspace \
    PORT=8000
EXPOSE 8000

# The web's liveness (/health answers any Host header): database and broker, not workers or beat.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=8)"

ENTRYPOINT ["videogen-entrypoint"]
CMD ["/bin/sh", "-c", "exec gunicorn videogen.wsgi -c python:videogen.gunicorn_conf --bind 0.0.0.0:${PORT:-8000} --workers 2 --timeout 120"]
