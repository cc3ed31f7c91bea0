"""Errors the API client raises; the CLI turns them into docker's messages."""
from __future__ import annotations


class ClientError(Exception):
    """Base of every client-side failure."""


class DaemonUnreachable(ClientError):
    """Nothing answers on the daemon socket (docker's exact wording, with hithe)."""

    def __init__(self, host: str) -> None:
        super().__init__(
            f"Cannot connect to the hithe daemon at {host}. Is the hithe daemon running?")
        self.host = host


class APIError(ClientError):
    """The daemon answered with a 4xx/5xx status and a ``{"message": ...}`` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Error response from daemon: {message}")
        self.status = status
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def not_implemented(self) -> bool:
        return self.status == 501


class StreamError(ClientError):
    """An ``{"error": ...}`` / ``{"errorDetail": ...}`` message inside a JSON progress stream."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def message_from_body(body: bytes, status: int) -> str:
    """Pull Docker's error message out of a response body.

    Docker renders errors as ``{"message": "..."}``; anything else (an empty
    body or text/plain from a proxy) is shown as is, like the Go client does.
    """
    from hithe.client import jsonc

    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            obj = jsonc.loads(text)
        except ValueError:
            return text
        if isinstance(obj, dict) and isinstance(obj.get("message"), str):
            return obj["message"]
    if not text:
        return f"{status}"
    return text
