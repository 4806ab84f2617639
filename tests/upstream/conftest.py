"""The client against the simulator over real HTTP: a client factory that records its sleeps and new
tokens, the simulator's answer shapes, a closed port, small pictures the vendor's upload limits accept, and a tiny
local server only for answers the simulator never gives (HTML with 200, a wrong shape)."""

import io
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from miaohua_site.simulator import clock
from miaohua_site.upstream import MiaohuaClient

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo"


@pytest.fixture(autouse=True)
def simulator_clock():
    """Tests may move the simulator's clock (token expiry, task completion); put it back afterwards."""
    clock.reset()
    yield clock
    clock.reset()


@pytest.fixture
def sleeps():
    """What the client would have slept between retries, instead of sleeping."""
    return []


@pytest.fixture
def new_tokens():
    """Every token the client handed to on_token."""
    return []


@pytest.fixture
def make_client(simulator_url, sleeps, new_tokens):
    clients = []

    def make(base_url=None, **options):
        options.setdefault("email", DEMO_EMAIL)
        options.setdefault("password", DEMO_PASSWORD)
        options.setdefault("on_token", new_tokens.append)
        options.setdefault("sleep", sleeps.append)
        options.setdefault("read_timeout", 10.0)
        client = MiaohuaClient(base_url or simulator_url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture(params=["live", "seed", "envelope"])
def answer_shape(request, settings):
    """The simulator's shape (simulator/api.py): `live` (the default every other test runs on: envelopes,
    dataset_all and train_progress bare, refusals as HTTP 200), `seed` (the seed document's bare answers and
    HTTP 4xx refusals) or `envelope` (every answer wrapped)."""
    settings.MIAOHUA_SIMULATOR_SHAPE = request.param
    return request.param


@pytest.fixture
def closed_port_url():
    """A local port nothing listens on, so a connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1b/"


def picture(colour="red", size=(320, 320), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def png_path(tmp_path):
    path = tmp_path / "red.png"
    path.write_bytes(picture("red"))
    return path


@pytest.fixture
def uploaded(client, png_path):
    """The URL of a picture uploaded by the demo account."""
    return client.upload_img(png_path)


def wait_until_finished(client, task_id, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        task = client.task_result(task_id)
        if task.is_finished or time.monotonic() > deadline:
            return task
        time.sleep(0.1)


class _Canned(BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.requests.append((self.command, self.path, self.rfile.read(length)))
        status, content_type, body, extra = self.server.reply(self)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def odd_server():
    """A tiny local HTTP server for what the simulator never answers (an HTML page with 200, a wrong shape).

    Set `server.reply = lambda handler: (status, content_type, body_bytes, extra_headers)`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    server.requests = []
    server.reply = lambda handler: (200, "text/html", b"<html><body>Welcome!</body></html>", {})
    server.url = f"http://127.0.0.1:{server.server_address[1]}/api/v1b/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
