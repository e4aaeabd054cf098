"""A real threaded HTTP server on 127.0.0.1 serving good, broken and slow image URLs for tests."""
from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image


def _image(fmt: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def routes(n_good: int = 6) -> dict[str, tuple[int, str, bytes]]:
    """path -> (status, content type, body). 'slow' is handled separately (sleeps past the timeout)."""
    r = {}
    for i in range(n_good):
        fmt = "JPEG" if i % 2 == 0 else "PNG"
        r[f"/good{i}.{fmt.lower()}"] = (200, f"image/{fmt.lower()}", _image(fmt, i))
    r["/truncated.jpg"] = (200, "image/jpeg", _image("JPEG", 99)[:200])
    r["/notimage.jpg"] = (200, "text/html", b"<html>not an image</html>")
    return r


class ImageServer:
    """Start with `with ImageServer(slow_s=3) as s:`; `s.url(path)` gives the full URL."""

    def __init__(self, slow_s: float = 3.0, n_good: int = 6):
        table, slow = routes(n_good), slow_s

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.path = self.path.split("?")[0]
                if self.path == "/slow.jpg":
                    time.sleep(slow)
                status, ctype, body = table.get(self.path, (404, "text/plain", b"missing"))
                if self.path == "/slow.jpg":
                    status, ctype, body = table["/good0.jpeg"]
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.good = [p for p in table if p.startswith("/good")]
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
