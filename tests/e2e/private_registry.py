#!/usr/bin/env python3
"""A private sparse cargo registry for the end-to-end tests (no third-party code).

Serves DIR over HTTP on 0.0.0.0:PORT. `config.json` is open (cargo reads it first, and
learns from `auth-required` that the rest needs its token); every other request without
`Authorization: TOKEN` gets 401. Each request is logged to LOG as
`PATH token|none|wrong CLIENT_ADDRESS`, so a test can tell that the build (not the host)
sent the token.

Usage: private_registry.py DIR PORT TOKEN LOG
"""

import http.server
import sys


def main() -> None:
    root, port, token, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=root, **kwargs)

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            auth = self.headers.get("Authorization")
            seen = "token" if auth == token else ("none" if auth is None else "wrong")
            with open(log, "a", encoding="utf-8") as f:
                f.write(f"{self.path} {seen} {self.client_address[0]}\n")
            if self.path != "/config.json" and auth != token:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args) -> None:
            pass

    http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
