"""Blobs: verified download into the content store, upload in every registry style.

A download is written through a content-store writer that must hash to the
descriptor's digest; the byte count is checked against the descriptor's size
as the data arrives, so a registry that sends more than it promised is cut
off at once rather than after filling the disk.  Uploads: HEAD first (skip
what the repository has), cross-repository mount when a source repository
on the same registry is known, then POST + PUT (monolithic) or POST + PATCH
chunks + PUT (chunked) for large blobs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import AsyncIterator, BinaryIO, Callable
from urllib.parse import quote

from hithe.content.store import ContentStore
from hithe.distribution.client.errors import RegistryError, TransportError, VerificationError
from hithe.distribution.client.manifest import Descriptor
from hithe.distribution.client.session import Session

Progress = Callable[[int], None]   # called with the bytes done so far
_READ = 1 << 20
CHUNKED_THRESHOLD = 32 << 20       # blobs above this go up in PATCH chunks of this size


def blob_path(repo: str, digest: str) -> str:
    return f"/v2/{repo}/blobs/{digest}"


async def download(session: Session, repo: str, desc: Descriptor, content: ContentStore,
                   scopes: list[str], progress: Progress | None = None) -> None:
    """Fetch one blob into the content store (a no-op when it is there already)."""
    if content.exists(desc.digest):
        return
    resp = await session.request("GET", blob_path(repo, desc.digest), scopes=scopes)
    cl = resp.content_length
    if cl is not None and cl != desc.size:
        resp.close()
        raise VerificationError(f"blob {desc.digest}: registry sent {cl} bytes, descriptor says {desc.size}")
    with content.writer(desc.digest) as w:
        async for chunk in resp.iter_chunks():
            if w.size + len(chunk) > desc.size:
                resp.close()
                raise VerificationError(f"blob {desc.digest}: more data than its size {desc.size}")
            w.write(chunk)
            if progress is not None:
                progress(w.size)
        if w.size != desc.size:
            raise VerificationError(f"blob {desc.digest}: got {w.size} bytes, expected {desc.size}")
        if w.digest != desc.digest:
            raise VerificationError(f"filesystem layer verification failed for digest {desc.digest}")
        w.commit()


async def fetch_small(session: Session, repo: str, desc: Descriptor, scopes: list[str], limit: int) -> bytes:
    """A small blob (an image config) in memory, verified."""
    from hithe.distribution.client.manifest import verify_digest
    if desc.size > limit:
        raise VerificationError(f"blob {desc.digest} too large: {desc.size} bytes")
    resp = await session.request("GET", blob_path(repo, desc.digest), scopes=scopes)
    data = await resp.read(desc.size)
    if len(data) != desc.size:
        raise VerificationError(f"blob {desc.digest}: got {len(data)} bytes, expected {desc.size}")
    verify_digest(data, desc.digest)
    return data


async def exists(session: Session, repo: str, digest: str, scopes: list[str]) -> bool:
    try:
        resp = await session.request("HEAD", blob_path(repo, digest), scopes=scopes)
    except RegistryError as e:
        if e.status == 404:
            return False
        raise
    resp.close()
    return True


@dataclass
class Upload:
    session: Session
    repo: str
    scopes: list[str]
    chunk_size: int = CHUNKED_THRESHOLD

    async def mount(self, digest: str, source_repo: str) -> bool:
        """Cross-repository mount; True when the registry linked the blob without an upload."""
        path = f"/v2/{self.repo}/blobs/uploads/?mount={quote(digest)}&from={quote(source_repo)}"
        try:
            resp = await self.session.request("POST", path, scopes=self.scopes, ok=(201, 202))
        except RegistryError:
            return False  # no right to read the source: upload instead
        resp.close()
        if resp.status == 201:
            return True
        loc = resp.header("location")
        if loc:  # an upload session was opened instead: cancel it, ours starts afresh
            try:
                (await self.session.request("DELETE", loc, scopes=self.scopes, ok=(204, 404))).close()
            except (RegistryError, TransportError):
                pass
        return False

    async def put(self, digest: str, size: int, opener: Callable[[], BinaryIO],
                  progress: Progress | None = None) -> None:
        resp = await self.session.request("POST", f"/v2/{self.repo}/blobs/uploads/", scopes=self.scopes,
                                          ok=(202,))
        resp.close()
        loc = _location(resp)
        with opener() as f:
            if size <= self.chunk_size:
                resp = await self.session.request("PUT", _with_digest(loc, digest), scopes=self.scopes,
                                                  body=_reader(f, size, 0, progress), length=size, ok=(201,))
                resp.close()
                return
            offset = 0
            while offset < size:
                n = min(self.chunk_size, size - offset)
                resp = await self.session.request(
                    "PATCH", loc, scopes=self.scopes, body=_reader(f, n, offset, progress), length=n, ok=(202,),
                    headers={"Content-Type": "application/octet-stream",
                             "Content-Range": f"{offset}-{offset + n - 1}"})
                resp.close()
                loc = _location(resp)
                offset += n
        resp = await self.session.request("PUT", _with_digest(loc, digest), scopes=self.scopes, ok=(201,))
        resp.close()

    async def put_bytes(self, digest: str, data: bytes) -> None:
        import io
        await self.put(digest, len(data), lambda: io.BytesIO(data))


def _location(resp) -> str:  # type: ignore[no-untyped-def]
    loc = resp.header("location")
    if not loc:
        raise RegistryError("upload: registry gave no Location for the upload session", resp.status)
    return loc


def _with_digest(loc: str, digest: str) -> str:
    return loc + ("&" if "?" in loc else "?") + "digest=" + quote(digest)


async def _reader(f: BinaryIO, n: int, offset: int, progress: Progress | None) -> AsyncIterator[bytes]:
    left = n
    done = offset
    while left > 0:
        data = f.read(min(_READ, left))
        if not data:
            raise TransportError("upload: local blob shorter than its size")
        left -= len(data)
        done += len(data)
        if progress is not None:
            progress(done)
        yield data


def file_size(f: BinaryIO) -> int:
    return os.fstat(f.fileno()).st_size
