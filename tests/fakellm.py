"""A scripted OpenAI-compatible chat server on 127.0.0.1 for tests (no real model here).

Each model name has its own script, consumed one item per request: a reply with tool calls, a
text reply, an HTTP error status, or a delay longer than the client's timeout. The last item
repeats once the script is exhausted. Every request body is kept for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Item:
    content: str = ""
    tool_calls: list[tuple[str, Any]] = field(default_factory=list)  # (name, dict | raw str)
    status: int = 200
    sleep_sec: float = 0.0


def call(name: str, **args: Any) -> Item:
    return Item(tool_calls=[(name, args)])


class FakeLLM:
    def __init__(self) -> None:
        self.scripts: dict[str, list[Item]] = {}
        self.requests: list[dict[str, Any]] = []
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        handler = self._handler()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, model: str, items: list[Item]) -> None:
        with self._lock:
            self.scripts[model] = list(items)
            self._served[model] = 0

    def served(self, model: str) -> int:
        return self._served.get(model, 0)

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, model: str) -> Item:
        with self._lock:
            items = self.scripts.get(model) or [Item(status=404)]
            n = self._served.get(model, 0)
            self._served[model] = n + 1
            return items[min(n, len(items) - 1)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                fake.requests.append(body)
                model = str(body.get("model", ""))
                item = fake._next(model)
                if item.sleep_sec:
                    time.sleep(item.sleep_sec)
                if item.status != 200:
                    error = {"error": {"message": f"scripted {item.status}", "type": "test"}}
                    self._send(item.status, error)
                    return
                message: dict[str, Any] = {"role": "assistant", "content": item.content or None}
                if item.tool_calls:
                    message["tool_calls"] = [
                        {
                            "id": f"call_{time.time_ns()}_{i}",
                            "type": "function",
                            "function": {
                                "name": name,
                                "arguments": args if isinstance(args, str) else json.dumps(args),
                            },
                        }
                        for i, (name, args) in enumerate(item.tool_calls)
                    ]
                self._send(
                    200,
                    {
                        "id": f"c{time.time_ns()}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "tool_calls" if item.tool_calls else "stop",
                                "message": message,
                            }
                        ],
                        "usage": {
                            "prompt_tokens": 100,
                            "completion_tokens": 20,
                            "total_tokens": 120,
                        },
                    },
                )

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler
