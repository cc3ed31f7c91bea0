"""Pumping a hijacked client connection to and from conmon's attach socket.

conmon's socket is SOCK_SEQPACKET: each packet from it starts with one byte
naming the stream (2 stdout, 3 stderr); what we send is the container's stdin.
Docker's wire format is raw for a TTY and multiplexed (8-byte headers) without.
"""
from __future__ import annotations

import asyncio
import socket
import struct
from typing import Awaitable, Callable

from hithe.api.message import HijackedConn
from hithe.errors import InvalidParameter

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
_STDIN_CHUNK = 4096


def parse_detach_keys(spec: str | None) -> bytes:
    spec = spec or DEFAULT_DETACH_KEYS
    out = bytearray()
    for key in spec.split(","):
        k = key.strip().lower()
        if len(k) == 1:
            out.append(ord(k))
        elif k.startswith("ctrl-") and len(k) == 6:
            ch = k[5]
            if "a" <= ch <= "z":
                out.append(ord(ch) - 96)
            elif ch in "@[\\]^_":
                out.append({"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}[ch])
            else:
                raise InvalidParameter(f"Invalid escape keys ({spec}) provided")
        else:
            raise InvalidParameter(f"Invalid escape keys ({spec}) provided")
    return bytes(out)


class DetachScanner:
    """Finds the detach sequence in stdin; bytes of a partial match are held back."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for b in data:
            cand = self.held + bytes([b])
            if self.keys.startswith(cand):
                self.held = cand
                if cand == self.keys:
                    self.held = b""
                    return bytes(out), True
            else:
                out += cand
                self.held = b""
        return bytes(out), False


async def pump(conn: HijackedConn, sock: socket.socket, *, tty: bool, stdin: bool, stdout: bool = True,
               stderr: bool = True, detach_keys: bytes = b"\x10\x11",
               on_detach: Callable[[], Awaitable[None]] | None = None) -> str:
    """Returns "exited" when the process side closed, "detached" on the detach keys."""
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    detached = asyncio.Event()

    async def output() -> None:
        while True:
            try:
                pkt = await loop.sock_recv(sock, 65536)
            except (ConnectionError, OSError):
                return
            if not pkt:
                return
            kind, payload = pkt[0], pkt[1:]
            if not payload:
                continue
            if kind == 2 and stdout:
                await conn.write(payload if tty else struct.pack(">BxxxI", 1, len(payload)) + payload)
            elif kind == 3 and stderr:
                await conn.write(payload if tty else struct.pack(">BxxxI", 2, len(payload)) + payload)

    async def input_() -> None:
        scanner = DetachScanner(detach_keys) if detach_keys else None
        while True:
            data = await conn.read(_STDIN_CHUNK)
            if not data:
                try:
                    sock.shutdown(socket.SHUT_WR)  # conmon closes the container's stdin
                except OSError:
                    pass
                return
            if scanner is not None:
                data, hit = scanner.feed(data)
                if data:
                    await loop.sock_sendall(sock, data)
                if hit:
                    detached.set()
                    return
            else:
                await loop.sock_sendall(sock, data)

    out_task = asyncio.ensure_future(output())
    in_task = asyncio.ensure_future(input_()) if stdin else None
    det_task = asyncio.ensure_future(detached.wait())
    try:
        await asyncio.wait([out_task, det_task], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (out_task, in_task, det_task):
            if t is not None and not t.done():
                t.cancel()
        sock.close()
    if detached.is_set():
        if on_detach is not None:
            await on_detach()
        return "detached"
    return "exited"
