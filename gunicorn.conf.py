"""gunicorn settings for production, read from the environment (docs/deployment.md).

    gunicorn -c gunicorn.conf.py "tracker:create_app()"

Every process is alike and keeps nothing a request needs in its memory: sessions, login
throttling counters and idempotency keys live in the database, so any number of processes on
any number of machines can sit behind one load balancer.

The access log never holds a query string: the pharmacy lookup's query carries the patient's
birth date (`%(U)s` is the path alone, unlike `%(r)s`, the request line). The referrer is left
out for the same reason, and no header value the client controls starts a new log line."""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, not {value!r}") from exc


# Where to listen. Behind a load balancer on the same host, keep 127.0.0.1; on a private
# network, the machine's private address (never a public interface without a proxy in front).
bind = os.environ.get("TRACKER_BIND", "127.0.0.1:8000").split(",")

# Processes x threads. A request waits on the database most of its time, so threads help; the
# default is gunicorn's rule of thumb for processes and four threads each. Every process opens
# its own pool of database connections (TRACKER_DB_POOL_SIZE, up to twice that under bursts):
# keep workers x 2 x pool size below PostgreSQL's max_connections, or put PgBouncer in front.
workers = _int("TRACKER_WORKERS", multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = _int("TRACKER_THREADS", 4)

# Keep-alive between the load balancer (or a pharmacy system) and gunicorn: long enough to
# reuse connections across a counter's lookup and dispense, short enough to free threads.
keepalive = _int("TRACKER_KEEPALIVE", 5)
# A request that takes this long is stuck: the worker is restarted.
timeout = _int("TRACKER_TIMEOUT", 30)
graceful_timeout = _int("TRACKER_GRACEFUL_TIMEOUT", 30)
# Recycle workers now and then (with jitter, so they do not all restart at once).
max_requests = _int("TRACKER_MAX_REQUESTS", 20000)
max_requests_jitter = _int("TRACKER_MAX_REQUESTS_JITTER", 2000)

# The app is built in each worker after the fork: engines and their connection pools must
# never be shared between processes.
preload_app = False

# Which proxies gunicorn believes about the scheme (X-Forwarded-Proto): the load balancer's
# address.
forwarded_allow_ips = os.environ.get("TRACKER_FORWARDED_ALLOW_IPS", "127.0.0.1")
# How many proxies stand between the clients and gunicorn (0: clients connect directly). Behind
# them, the client's address (login throttling per address, the audit trail) is the one the
# nearest trusted proxy appended to X-Forwarded-For. Never set it where clients can reach
# gunicorn directly: they could then choose their own address.
proxy_hops = _int("TRACKER_PROXY_HOPS", 0)


def post_worker_init(worker) -> None:  # type: ignore[no-untyped-def]
    """Trust `proxy_hops` proxies for the client address and scheme, in each worker."""
    if proxy_hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        worker.wsgi = ProxyFix(worker.wsgi, x_for=proxy_hops, x_proto=proxy_hops)

# Logs go to standard output and error, for the service manager to collect. Access lines:
# client, time, method, path without query, protocol, status, bytes, milliseconds, user agent.
accesslog = os.environ.get("TRACKER_ACCESS_LOG", "-") or None
errorlog = os.environ.get("TRACKER_ERROR_LOG", "-")
loglevel = os.environ.get("TRACKER_LOG_LEVEL", "info")
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'

# Heartbeat files of the workers on a RAM disk where there is one (no disk stalls).
if os.path.isdir("/dev/shm"):  # noqa: S108 - gunicorn's documented choice for heartbeats
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# Bounds on what a client can make a worker read before the app sees the request.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
