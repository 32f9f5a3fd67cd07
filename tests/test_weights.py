"""genbench.features.weights: the flag → environment → cache → download order, the SHA-256 check on every path,
and downloads that keep nothing unless complete and matching (served from 127.0.0.1, never the internet)."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from genbench.errors import DataMissingError, UnknownNameError
from genbench.features import weights as weights_module
from genbench.features.weights import (
    FIRST_USE_FILE,
    OFFLINE_ENV,
    PUBLISHED,
    VERIFIED_FILE,
    WEIGHTS_FOLDER,
    PublishedWeights,
    published,
    resolve,
    weights_env,
)

BODY = bytes(range(256)) * 64  # 16 KiB
UNREACHABLE = "http://127.0.0.1:9/never-fetched.pth"
"""A URL that no test may download from (port 9, discard, is closed): a resolve that tries fails loudly."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def local(url: str = UNREACHABLE, body: bytes = BODY, **changes) -> PublishedWeights:
    fields = dict(name="test-net", filename="test-net.pth", url=url, sha256=sha256(body), size_bytes=len(body),
                  source="a test")
    return PublishedWeights(**{**fields, **changes})


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message.strip() == message
    return message


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


class Server:
    """An HTTP server on 127.0.0.1 in a thread: ``routes`` maps a path to (body, Content-Length)."""

    def __init__(self):
        routes: dict[str, tuple[bytes, int | None]] = {}
        hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                hits.append(self.path)
                if self.path not in routes:
                    self.send_error(404)
                    return
                body, length = routes[self.path]
                self.send_response(200)
                if length is not None:
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(body)  # fewer bytes than announced: the connection then closes (HTTP/1.0)

            def log_message(self, *args):
                pass

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # a client that hangs up early is what some tests do
                pass

        self.routes, self.hits = routes, hits
        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.stopped = False

    def serve(self, path: str, body: bytes, length: int | None = -1) -> str:
        self.routes[path] = (body, len(body) if length == -1 else length)
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache folder, and an environment that names no weights file."""
    monkeypatch.delenv(weights_env("test-net"), raising=False)
    return tmp_path / "cache"


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv(OFFLINE_ENV, raising=False)


def test_a_given_file_with_the_published_hash_resolves(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    path = tmp_path / "mine.pth"
    path.write_bytes(BODY)
    weights = local()
    found = resolve(weights, str(path), cache)
    assert (found.path, found.sha256) == (path, sha256(BODY))
    assert weights.flag in found.origin and str(path) in found.origin


def test_a_given_file_with_another_hash_is_refused_in_one_line(tmp_path, cache):
    path = tmp_path / "other.pth"
    path.write_bytes(BODY[::-1] + b"x")
    weights = local()
    with pytest.raises(DataMissingError) as error:
        resolve(weights, path, cache)
    message = one_line(error)
    assert str(path) in message and weights.url in message
    assert sha256(BODY[::-1] + b"x") in message and sha256(BODY) in message
    assert f"{len(BODY) + 1} bytes" in message  # and the size, when it differs from the published one


def test_a_given_path_with_no_file_names_the_path_and_the_url(tmp_path, cache):
    weights = local()
    with pytest.raises(DataMissingError) as error:
        resolve(weights, tmp_path / "typo.pth", cache)
    message = one_line(error)
    assert str(tmp_path / "typo.pth") in message and weights.url in message and weights.flag in message


def test_no_file_offline_names_the_flag_the_variable_the_cache_and_the_url(cache, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    weights = local()
    with pytest.raises(DataMissingError) as error:
        resolve(weights, None, cache)
    message = one_line(error)
    for part in (weights.flag, weights.url, f"${weights.env}", str(cache / WEIGHTS_FOLDER / weights.filename),
                 OFFLINE_ENV):
        assert part in message


def test_the_environment_variable_is_honoured_and_the_flag_wins_over_it(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    from_env, from_flag = tmp_path / "env.pth", tmp_path / "flag.pth"
    from_env.write_bytes(BODY)
    from_flag.write_bytes(BODY)
    weights = local()
    monkeypatch.setenv(weights.env, str(from_env))
    found = resolve(weights, None, cache)
    assert found.path == from_env and f"${weights.env}" in found.origin
    assert resolve(weights, from_flag, cache).path == from_flag


def test_a_download_lands_in_the_cache_checked_and_is_used_from_there(server, cache, online, caplog, capsys):
    caplog.set_level(logging.INFO, logger=weights_module.__name__)
    weights = local(server.serve("/test-net.pth", BODY))
    found = resolve(weights, None, cache)
    folder = cache / WEIGHTS_FOLDER
    assert found.path == folder / weights.filename and found.path.read_bytes() == BODY
    assert found.sha256 == sha256(BODY) and weights.url in found.origin
    assert entries(folder) == sorted([weights.filename, VERIFIED_FILE])
    assert server.hits == ["/test-net.pth"]
    server.stop()
    again = resolve(weights, None, cache)
    assert (again.path, again.sha256) == (found.path, found.sha256) and "cache" in again.origin
    assert capsys.readouterr() == ("", "")  # logging only, never print


@pytest.mark.parametrize("served", ["truncated", "headers only", "wrong hash", "wrong size"])
def test_a_bad_download_leaves_nothing_in_the_cache(served, server, cache, online):
    wrong = bytes(reversed(BODY))
    body, length, published_size = {
        "truncated": (BODY[: len(BODY) // 3], len(BODY), len(BODY)),  # closes before Content-Length
        "headers only": (b"", len(BODY), len(BODY)),
        "wrong hash": (wrong, len(wrong), len(BODY)),
        "wrong size": (BODY, len(BODY), len(BODY) + 1),  # refused from Content-Length, before the body
    }[served]
    weights = local(server.serve("/test-net.pth", body, length), size_bytes=published_size)
    with pytest.raises(DataMissingError) as error:
        resolve(weights, None, cache)
    message = one_line(error)
    assert weights.url in message and weights.flag in message
    if served == "wrong hash":
        assert sha256(wrong) in message and sha256(BODY) in message
    assert entries(cache / WEIGHTS_FOLDER) == []  # no file, no temporary


def test_a_truncated_download_without_a_published_size_is_caught_by_content_length(server, cache, online):
    weights = local(server.serve("/test-net.pth", BODY[:100], len(BODY)), size_bytes=None)
    with pytest.raises(DataMissingError, match="100 of"):
        resolve(weights, None, cache)
    assert entries(cache / WEIGHTS_FOLDER) == []


def test_a_server_error_is_one_line(server, cache, online):
    weights = local(server.serve("/elsewhere.pth", BODY).replace("/elsewhere.pth", "/missing.pth"))
    with pytest.raises(DataMissingError) as error:
        resolve(weights, None, cache)
    assert "404" in one_line(error)
    assert entries(cache / WEIGHTS_FOLDER) == []


def test_a_corrupt_copy_in_the_cache_is_removed_and_fetched_again(server, cache, online, caplog):
    weights = local(server.serve("/test-net.pth", BODY))
    cached = cache / WEIGHTS_FOLDER / weights.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(BODY[:-1] + b"!")
    found = resolve(weights, None, cache)
    assert found.path.read_bytes() == BODY and "downloaded" in found.origin
    assert any("removing" in record.getMessage() for record in caplog.records)


def test_a_corrupt_copy_in_the_cache_offline_is_refused(cache, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    weights = local()
    cached = cache / WEIGHTS_FOLDER / weights.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the weights")
    with pytest.raises(DataMissingError) as error:
        resolve(weights, None, cache)
    assert weights.url in one_line(error) and not cached.exists()


def test_big_downloads_log_progress_every_tenth(server, cache, online, caplog, monkeypatch):
    monkeypatch.setattr(weights_module, "PROGRESS_MIN_BYTES", 1024)
    monkeypatch.setattr(weights_module, "CHUNK", 512)
    caplog.set_level(logging.INFO, logger=weights_module.__name__)
    resolve(local(server.serve("/test-net.pth", BODY)), None, cache)
    steps = [record.getMessage() for record in caplog.records if "%" in record.getMessage()]
    assert [step.split(": ")[1].split("%")[0] for step in steps] == [str(10 * k) for k in range(1, 11)]


def test_a_checked_hash_is_remembered_until_the_file_changes(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    calls = []
    real = weights_module.file_sha256
    monkeypatch.setattr(weights_module, "file_sha256", lambda path: calls.append(path) or real(path))
    path = tmp_path / "mine.pth"
    path.write_bytes(BODY)
    weights = local()
    for _ in range(3):
        assert resolve(weights, path, cache).sha256 == sha256(BODY)
    assert len(calls) == 1
    status = path.stat()
    time.sleep(0.05)  # past the file system clock's tick, so that the change time moves
    path.write_bytes(BODY[::-1])  # same size, rewritten in place, modification time set back
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    with pytest.raises(DataMissingError, match=sha256(BODY[::-1])):
        resolve(weights, path, cache)
    assert len(calls) == 2


def test_weights_without_a_published_hash_are_trusted_on_first_use(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    first, other = tmp_path / "first.pth", tmp_path / "other.pth"
    first.write_bytes(BODY)
    other.write_bytes(b"other weights")
    weights = local(sha256=None, size_bytes=None)
    found = resolve(weights, first, cache)
    assert found.sha256 == sha256(BODY) and "first use" in found.origin
    assert (cache / WEIGHTS_FOLDER / FIRST_USE_FILE).is_file()
    with pytest.raises(DataMissingError) as error:
        resolve(weights, other, cache)
    message = one_line(error)
    assert sha256(b"other weights") in message and sha256(BODY) in message and "first use" in message
    assert "matches the one recorded" in resolve(weights, first, cache).origin


def test_flag_and_environment_variable_follow_from_the_name():
    weights = PUBLISHED["dinov2-vit-b-14"]
    assert weights.env == "GENBENCH_WEIGHTS_DINOV2_VIT_B_14" == weights_env(weights.name)
    assert weights.flag == "--weights dinov2-vit-b-14=PATH"
    moved = dataclasses.replace(weights, url="https://example.org/copy.pth")
    assert (moved.env, moved.flag) == (weights.env, weights.flag)
    for bad in (dict(name="DINOv2"), dict(name="a_b"), dict(filename="../x.pth"), dict(url="ftp://x/y"),
                dict(sha256="ABC"), dict(size_bytes=0)):
        with pytest.raises(ValueError):
            local(**bad)


def test_the_published_table():
    assert set(PUBLISHED) == {"dinov2-vit-s-14", "dinov2-vit-b-14", "dinov2-vit-l-14", "clip-vit-b-32",
                              "clip-vit-l-14", "clip-vit-l-14-336px"}
    assert len({weights.filename for weights in PUBLISHED.values()}) == len(PUBLISHED)
    for name, weights in PUBLISHED.items():
        assert weights.name == name and weights.sha256 is not None and weights.size_bytes
        assert weights.url.startswith("https://") and weights.url.endswith("/" + weights.filename)
        if name.startswith("clip-"):  # OpenAI's URLs carry the file's SHA-256
            assert weights.url.split("/")[-2] == weights.sha256
    assert published("clip-vit-b-32") is PUBLISHED["clip-vit-b-32"]
    with pytest.raises(UnknownNameError):
        published("dinov2-vit-g-14")
