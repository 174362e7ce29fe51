from videogen.views import health

HEALTH_PATH = "/health"


class HealthProbeMiddleware:
    """Answers the liveness path first, before anything reads the Host header or redirects to
    HTTPS: platform probes ask over plain HTTP with their own host name (Railway's
    healthcheck.railway.app, an address for Docker's HEALTHCHECK), which the operator's
    DJANGO_ALLOWED_HOSTS need not name. The answer depends on no host, so any may ask; every
    other path keeps Django's host validation."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == HEALTH_PATH:
            return health(request)
        return self.get_response(request)
