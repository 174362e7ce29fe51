# One image for every process of the Procfile: web (the default command), worker, beat, flower.
# compose.yaml and railway.json pick the process; their commands match the Procfile (tested).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Debian's FFmpeg, for the scripts and the assembly.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock .
RUN pip install --requirement requirements.lock

COPY . .
# The admin's static files are part of the image (WhiteNoise serves them). The keys are
# throwaway values for this one command: collectstatic needs settings, not secrets.
RUN DJANGO_SECRET_KEY=build-only FIELD_ENCRYPTION_KEY=build-only VIDEOGEN_DATA_DIR=/tmp/build \
    python manage.py collectstatic --noinput \
    && rm -rf /tmp/build

# The release step collects again at each deploy (as this user), so it owns the static folder.
RUN useradd --create-home --uid 1000 videogen \
    && mkdir -p /data/workspace \
    && chown -R videogen:videogen /data /app/staticfiles
USER videogen
ENV VIDEOGEN_DATA_DIR=/data \
    WORKSPACE_ROOT=/data/workspace \
    PORT=8000
EXPOSE 8000

# Asks with Host: localhost, so keep localhost in DJANGO_ALLOWED_HOSTS.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), headers={'Host': 'localhost'}), timeout=4)"

CMD ["/bin/sh", "-c", "exec gunicorn videogen.wsgi -c python:videogen.gunicorn_conf --bind 0.0.0.0:${PORT:-8000} --workers 2 --timeout 120"]
