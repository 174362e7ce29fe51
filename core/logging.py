"""structlog JSON logs on stdout, with a correlation id bound per task through contextvars.

`bind_correlation_id()` is called when a Celery task starts (and by the script runner, which passes
the same id to scripts as VIDEOGEN_CORRELATION_ID), so every line of one video's work can be found
with one search.
"""

import logging
import logging.config
import sys

import structlog

SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def configure_logging(*, level="INFO", fmt="json", stream="stdout"):
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structlog": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "processors": [
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info,
                        renderer,
                    ],
                    "foreign_pre_chain": SHARED_PROCESSORS,
                }
            },
            "handlers": {
                "stdout": {
                    "class": "logging.StreamHandler",
                    "stream": sys.stderr if stream == "stderr" else sys.stdout,
                    "formatter": "structlog",
                }
            },
            "root": {"handlers": ["stdout"], "level": level},
            "loggers": {
                "django.db.backends": {"level": "WARNING"},
                "celery": {"level": level},
                "kombu": {"level": "WARNING"},
                "httpx": {"level": "WARNING"},
                "googleapiclient.discovery_cache": {"level": "ERROR"},
            },
        }
    )
    structlog.configure(
        processors=[
            *SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def bind_correlation_id(correlation_id, **extra):
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(correlation_id=str(correlation_id), **extra)


def clear_context():
    structlog.contextvars.clear_contextvars()
