"""hithe-registry serve --addr HOST:PORT --root DIR [--htpasswd FILE] [--tls-cert F --tls-key F]."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import sys

from hithe import __version__

log = logging.getLogger("hithe.registry")


def parse_addr(addr: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` (every interface), as docker/distribution takes them."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid --addr {addr!r}: expected HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hithe-registry", description="A private container image registry "
                                "(OCI distribution spec, Docker registry API v2).")
    p.add_argument("--version", action="version", version=f"hithe-registry {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the registry API")
    s.add_argument("--addr", default="127.0.0.1:5000", help="HOST:PORT to listen on (default 127.0.0.1:5000)")
    s.add_argument("--root", required=True, help="directory holding blobs, repositories and uploads")
    s.add_argument("--htpasswd", help="require Basic auth against this htpasswd file (bcrypt entries)")
    s.add_argument("--realm", default="hithe-registry", help="realm named in the Basic auth challenge")
    s.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    s.add_argument("--tls-key", help="private key of --tls-cert (PEM)")
    s.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p


async def _serve(args: argparse.Namespace) -> int:
    from hithe.distribution.server.app import COMMON_HEADERS, RegistryApp
    from hithe.distribution.server.auth import Htpasswd
    from hithe.distribution.server.httpserver import Server
    from hithe.distribution.server.registry import Registry

    host, port = parse_addr(args.addr)
    tls = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    auth = None
    if args.htpasswd:
        auth = Htpasswd(args.htpasswd, realm=args.realm)
        auth.load()
    registry = Registry(args.root)
    purged = registry.startup()
    if purged:
        log.info("removed %d abandoned uploads", purged)
    server = Server(RegistryApp(registry, auth), host, port, tls, COMMON_HEADERS)
    bound_host, bound_port = await server.start()
    scheme = "https" if tls else "http"
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    log.info("hithe-registry %s listening on %s://%s:%d (root %s%s)", __version__, scheme, shown, bound_port,
             registry.root, ", htpasswd auth" if auth else "")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    if bool(args.tls_cert) != bool(args.tls_key):
        print("hithe-registry: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(args))
    except (OSError, ValueError, ssl.SSLError) as e:
        print(f"hithe-registry: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
