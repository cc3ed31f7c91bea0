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
from hithe.util.detachkeys import DEFAULT_DETACH_KEYS, DetachScanner
from hithe.util.detachkeys import parse_detach_keys as _parse

_STDIN_CHUNK = 4096

def parse_detach_keys(spec: str | None) -> bytes:
    try:
        return _parse(spec or DEFAULT_DETACH_KEYS)
    except ValueError:
        raise InvalidParameter(f"Invalid detach keys ({spec}) provided") from None


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
