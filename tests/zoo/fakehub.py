"""A local stand-in for the Hugging Face Hub's file endpoints, on 127.0.0.1.

It answers what huggingface_hub 2.4 calls in hf_hub_download (file_download.py):
HEAD/GET /{repo}/resolve/{revision}/{path} (and /datasets/{repo}/...), with X-Repo-Commit,
ETag and X-Linked-Etag (the sha256 of LFS files), X-Linked-Size, Content-Length, and Range
requests (206 + Content-Range). Errors carry the X-Error-Code header the client reads.
Faults for tests: drop the connection after N bytes once, serve corrupted bytes.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class FakeHub:
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (repo path, file path) -> bytes
    drop_after: dict[str, int] = field(default_factory=dict)  # file path -> bytes sent before dropping, once
    corrupt: dict[str, int] = field(default_factory=dict)  # file path -> how many more GETs get flipped bytes
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, Range)
    url: str = ""

    def add(self, repo_id: str, filename: str, data: bytes, repo_type: str = "model") -> str:
        """Serve `data`; returns its sha256 (the hub's etag for an LFS file)."""
        repo = f"datasets/{repo_id}" if repo_type == "dataset" else repo_id
        self.files[(repo, filename)] = data
        return hashlib.sha256(data).hexdigest()

    def gets(self, filename: str) -> list[str | None]:
        """Range headers of the GET requests for a file (None for a whole-file GET)."""
        return [rng for method, path, rng in self.requests if method == "GET" and path.endswith("/" + filename)]


def _handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep pytest output clean
            pass

        def do_HEAD(self):
            self._serve(body=False)

        def do_GET(self):
            self._serve(body=True)

        def _serve(self, body: bool):
            hub.requests.append((self.command, unquote(self.path), self.headers.get("Range")))
            found = self._lookup()
            if found is None:
                return
            filename, data = found
            sha = hashlib.sha256(data).hexdigest()
            start = 0
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes="):
                start = int(rng[len("bytes="):].split("-")[0])
            payload = data[start:]
            if body and hub.corrupt.get(filename, 0) > 0:
                hub.corrupt[filename] -= 1
                payload = bytes(b ^ 0xFF for b in payload[:16]) + payload[16:]
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{sha}"')
            self.send_header("X-Linked-Etag", f'"{sha}"')
            self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(payload)))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if not body:
                return
            cut = hub.drop_after.pop(filename, None)
            if cut is not None and cut < len(payload):
                self.wfile.write(payload[:cut])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # the peer sees a short body: a dropped transfer
                return
            self.wfile.write(payload)

        def _lookup(self):
            path = unquote(self.path.split("?")[0]).lstrip("/")
            prefix = ""
            if path.startswith("datasets/"):
                prefix, path = "datasets/", path[len("datasets/"):]
            parts = path.split("/")
            if len(parts) < 5 or parts[2] != "resolve":
                return self._error(404, "RepoNotFound")
            repo = prefix + "/".join(parts[:2])
            revision, filename = parts[3], "/".join(parts[4:])
            if not any(r == repo for r, _ in hub.files):
                return self._error(404, "RepoNotFound")
            if revision not in ("main", COMMIT):
                return self._error(404, "RevisionNotFound")
            if (repo, filename) not in hub.files:
                return self._error(404, "EntryNotFound")
            return filename, hub.files[(repo, filename)]

        def _error(self, status: int, code: str):
            message = f"{code}: {self.path}".encode()
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", code)
            if code == "EntryNotFound":
                self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(message)
            return None

    return Handler


def start(hub: FakeHub) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
