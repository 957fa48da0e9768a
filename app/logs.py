"""Logging that keeps seekers anonymous.

uvicorn logs every WebSocket handshake with the client's address, even with the access log
off. ``AnonymityFilter`` drops those records and any record that carries a client address;
our own code never logs message text, tokens or addresses.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_ADDRESS = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b|\[[0-9a-fA-F:]+\]:\d+")


class AnonymityFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith('%s - "WebSocket'):
            return False
        if record.getMessage() in ("connection open", "connection closed"):
            return False
        return not _ADDRESS.search(record.getMessage())


def log_config(level: str = "INFO") -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"anonymity": {"()": "app.logs.AnonymityFilter"}},
        "formatters": {
            "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["anonymity"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "app": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }
