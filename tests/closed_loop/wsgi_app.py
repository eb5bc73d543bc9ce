"""The app the closed loop scales: every request takes a fixed service time.

A sync gunicorn worker serves one request at a time, so ``SERVICE_MS`` (50 ms
by default) sets each worker's capacity (20 requests a second) and a load
above the workers' total capacity queues up, which is what the bot measures.
"""

import os
import time

SERVICE_SECONDS = float(os.environ.get("SERVICE_MS", "50")) / 1000.0


def app(environ, start_response):
    """Sleep the service time (the worker is busy, as if computing), then answer."""
    time.sleep(SERVICE_SECONDS)
    body = b"ok\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
