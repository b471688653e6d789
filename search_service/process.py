"""The service in its own process on a free loopback port: for `kb bench` and the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kb.errors import KBError
from search_service.settings import ServiceSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``with ServerProcess(settings) as server:`` starts uvicorn, waits for /readyz, stops."""

    def __init__(self, settings: ServiceSettings, log: Path | None = None):
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.cold_start_s: float | None = None

    def start(self, timeout: float = 180) -> ServerProcess:
        s = self.settings
        env = {**os.environ, **s.as_env(), "HF_HUB_OFFLINE": "1", "NO_MKDOCS_2_WARNING": "1"}
        # The child reads the same settings from KB_* and starts uvicorn as `kb serve` does.
        code = (
            "import uvicorn; from search_service.main import create_app; "
            "from search_service.limits import server_options; "
            "from search_service.settings import ServiceSettings; s = ServiceSettings(); "
            f"uvicorn.run(create_app(s), host='127.0.0.1', port={self.port}, "
            "log_level='warning', **server_options(s))"
        )
        out = self.log.open("w") if self.log else subprocess.DEVNULL
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        while True:
            if self.proc.poll() is not None:
                raise KBError(f"the server exited during start-up: {self._log_tail()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - started > timeout:
                self.stop()
                raise KBError(f"the server was not ready within {timeout} s: {self._log_tail()}")
            time.sleep(0.05)
        self.cold_start_s = time.perf_counter() - started
        return self

    def search(self, **params) -> list[dict]:
        r = httpx.get(self.url + "/api/search", params=params, timeout=30)
        return r.json()["results"] if r.status_code == 200 else []

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def _log_tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log and self.log.exists() else ""

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
