"""The closed loop's app with exponential service times, as the simulator models them.

Each request sleeps a random time of mean ``SERVICE_MS`` (50 ms by default),
drawn independently per request: the M in M/M/k. Every worker imports this
module after gunicorn forks it, so each has its own random stream.
"""

import os
import random
import time

MEAN_SECONDS = float(os.environ.get("SERVICE_MS", "50")) / 1000.0
_draw = random.Random()


def app(environ, start_response):
    """Sleep an exponential service time, then answer."""
    time.sleep(_draw.expovariate(1.0 / MEAN_SECONDS))
    body = b"ok\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
