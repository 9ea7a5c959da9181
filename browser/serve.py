"""Serve this folder (the guide and the style) to Neo4j Browser from any host and port.

Neo4j Browser fetches a remote guide with a CORS preflight (OPTIONS), which a plain
``python -m http.server`` rejects; this server answers it. The host must be on Browser's
``browser.remote_content_hostname_allowlist`` (``localhost`` is by default).

    python browser/serve.py --port 8000        # then in Browser:
    :guide http://localhost:8000/guide.html
"""

from __future__ import annotations

import argparse
import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent


class CorsHandler(SimpleHTTPRequestHandler):
    """Static files with CORS headers and an answer to preflight requests."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "*")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_OPTIONS(self) -> None:  # noqa: N802 (the http.server naming)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def make_server(host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server for this folder (port 0: any free port; see ``server_address``)."""
    return ThreadingHTTPServer((host, port), functools.partial(CorsHandler, directory=str(HERE)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    args = ap.parse_args()
    server = make_server(args.host, args.port)
    print(f"serving {HERE} at http://localhost:{server.server_address[1]}/guide.html")
    server.serve_forever()


if __name__ == "__main__":
    main()
