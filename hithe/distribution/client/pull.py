"""``pull``: resolve a reference on its registry, then fetch and unpack the image.

Two phases, as in dockerd: :func:`resolve` talks to the registry until the
image config is in hand (errors here become the HTTP status of the request:
404 for an unknown tag, and so on); :func:`fetch` then streams Docker's
progress messages while layers download in parallel (three at a time, like
dockerd's ``max-concurrent-downloads``) and unpack in order.  Compressed
layer blobs are kept in the content store under their registry digest, with
the registry's manifest, so that save and push send the bytes that were
pulled; the image ID is the digest of the registry's config bytes.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable

from hithe.distribution.client import blobinfo, blobs, manifest as mf, messages as m
from hithe.distribution.client.auth import Credentials, TokenCache, repo_scope
from hithe.distribution.client.endpoint import InsecurePolicy
from hithe.distribution.client.errors import (RegistryError, VerificationError, manifest_not_found,
                                              pull_access_denied)
from hithe.distribution.client.session import Session, UrlGuard
from hithe.errors import HitheError, NotFound, SystemError_
from hithe.images.record import Image
from hithe.images.reference import Reference
from hithe.images.store import ImageStore
from hithe.snapshots.layers import chain_id_of

MAX_CONCURRENT_DOWNLOADS = 3
RunBlocking = Callable[[Callable[[], Any]], Awaitable[Any]]


@dataclass
class Resolved:
    ref: Reference
    session: Session
    scopes: list[str]
    repo_digest: str                  # what the tag points to: manifest or index digest
    top_raw: bytes                    # that document's bytes
    top_type: str
    manifest_digest: str              # the image manifest chosen for this platform
    manifest_raw: bytes
    manifest: mf.ImageManifest
    config_raw: bytes
    config: dict[str, Any]
    diff_ids: list[str]


def _translate(ref: Reference, err: RegistryError) -> HitheError:
    """Docker's sentences for registry errors on pull (distribution/errors.go)."""
    if err.is_auth:
        return pull_access_denied(ref.familiar_name, err)
    if "NAME_UNKNOWN" in err.codes:
        return NotFound(f"repository {ref.familiar_name} not found: {err}")
    if err.is_unknown:
        return manifest_not_found(ref.familiar(), err)
    return err


async def _get_manifest(s: Session, ref: Reference, scopes: list[str], what: str,
                        want_digest: str | None) -> tuple[bytes, str, str]:
    resp = await s.request("GET", f"/v2/{ref.path}/manifests/{what}", scopes=scopes,
                           headers={"Accept": mf.ACCEPT})
    try:
        raw = await resp.read(mf.MAX_MANIFEST_BYTES)
    except HitheError as e:
        raise VerificationError(f"manifest for {ref.familiar()}: {e}") from None
    got = mf.sha256(raw)
    if want_digest is not None and got != want_digest:
        raise VerificationError(f"manifest verification failed for digest {want_digest}")
    header = resp.header("docker-content-digest")
    if want_digest is None and header and header.startswith("sha256:") and header != got:
        raise VerificationError(f"manifest verification failed for digest {header}")
    return raw, resp.header("content-type") or "", got


async def resolve(ref: Reference, creds: Credentials, tokens: TokenCache, policy: InsecurePolicy,
                  platform: tuple[str, str, str], *, url_guard: UrlGuard | None = None) -> Resolved:
    session = Session(policy.endpoint(ref.domain), creds, tokens, policy, url_guard=url_guard)
    scopes = [repo_scope(ref.path, ("pull",))]
    try:
        raw, ctype, digest = await _get_manifest(session, ref, scopes, ref.digest or ref.tag or "latest",
                                                 ref.digest)
        doc = mf.parse(raw, ctype, ref.familiar())
        top_raw, top_type, repo_digest = raw, ctype, digest
        if isinstance(doc, mf.Index):
            entry = mf.select_platform(doc, *platform)
            raw, ctype, digest = await _get_manifest(session, ref, scopes, entry.digest, entry.digest)
            doc = mf.parse(raw, ctype, ref.familiar())
            if not isinstance(doc, mf.ImageManifest):
                raise VerificationError(f"manifest list entry {entry.digest} is not an image manifest")
        config_raw = await blobs.fetch_small(session, ref.path, doc.config, scopes, mf.MAX_CONFIG_BYTES)
    except RegistryError as e:
        raise _translate(ref, e) from None
    config, diff_ids = mf.config_diff_ids(config_raw)
    if len(diff_ids) != len(doc.layers):
        raise VerificationError(f"image config lists {len(diff_ids)} layers, manifest {len(doc.layers)}")
    return Resolved(ref, session, scopes, repo_digest, top_raw, top_type, digest, raw, doc, config_raw,
                    config, diff_ids)


class _Emitter:
    def __init__(self) -> None:
        self.q: asyncio.Queue[bytes | None] = asyncio.Queue()

    def __call__(self, msg: bytes) -> None:
        self.q.put_nowait(msg)


async def fetch(r: Resolved, store: ImageStore, run: RunBlocking,
                on_done: Callable[[Image], None] | None = None) -> AsyncIterator[bytes]:
    """Docker's progress stream for the pull of `r`; errors end it as error messages."""
    emit = _Emitter()
    task = asyncio.ensure_future(_fetch(r, store, run, emit, on_done))
    task.add_done_callback(lambda t: emit.q.put_nowait(None))
    try:
        while True:
            msg = await emit.q.get()
            if msg is None:
                break
            yield msg
        exc = task.exception()
        if exc is not None:
            yield m.error(_message(r.ref, exc))
    finally:
        if not task.done():
            task.cancel()


def _message(ref: Reference, exc: BaseException) -> str:
    if isinstance(exc, RegistryError):
        exc = _translate(ref, exc)
    if isinstance(exc, HitheError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


async def _fetch(r: Resolved, store: ImageStore, run: RunBlocking, emit: _Emitter,
                 on_done: Callable[[Image], None] | None) -> None:
    ref = r.ref
    emit(m.status(f"Pulling from {ref.path}", ref.digest or ref.tag or "latest"))
    content, layers = store.content, store.layers
    chains: list[str] = []
    chain: str | None = None
    for diff_id in r.diff_ids:
        chain = chain_id_of(chain, diff_id)
        chains.append(chain)
    have = [layers.exists(c) and (content.exists(d.digest) or content.exists(diff))
            for c, d, diff in zip(chains, r.manifest.layers, r.diff_ids)]
    for d, present in zip(r.manifest.layers, have):
        emit(m.layer("Already exists" if present else "Pulling fs layer", m.short_id(d.digest)))
    sem = asyncio.Semaphore(MAX_CONCURRENT_DOWNLOADS)

    async def download(d: mf.Descriptor) -> None:
        ident = m.short_id(d.digest)
        if sem.locked():
            emit(m.layer("Waiting", ident))
        async with sem:
            throttle = m.Throttle()

            def progress(done: int) -> None:
                if throttle.ready(done >= d.size):
                    emit(m.progress("Downloading", ident, done, d.size))
            try:
                await blobs.download(r.session, ref.path, d, content, r.scopes, progress)
            except RegistryError as e:
                raise _translate(ref, e) from None
            emit(m.layer("Verifying Checksum", ident))
            emit(m.layer("Download complete", ident))

    tasks = {i: asyncio.ensure_future(download(d)) for i, d in enumerate(r.manifest.layers) if not have[i]}
    try:
        parent: str | None = None
        for i, d in enumerate(r.manifest.layers):
            if i in tasks:
                await tasks[i]
                if not layers.exists(chains[i]):
                    emit(m.progress("Extracting", m.short_id(d.digest), d.size, d.size))
                    await run(lambda p=parent, d=d, want=r.diff_ids[i]: _unpack(store, p, d.digest, want))
                emit(m.layer("Pull complete", m.short_id(d.digest)))
            parent = chains[i]
    finally:
        for t in tasks.values():
            t.cancel()
    img, newer = await run(lambda: _register(store, r, chains[-1] if chains else None))
    emit(m.status(f"Digest: {r.repo_digest}"))
    shown = ref.familiar()
    emit(m.status(f"Status: {'Downloaded newer image' if newer else 'Image is up to date'} for {shown}"))
    if on_done is not None:
        on_done(img)


def _unpack(store: ImageStore, parent: str | None, blob: str, diff_id: str) -> None:
    with store.content.open(blob) as f:
        layer = store.layers.apply(parent, f)
    if layer.diff_id != diff_id:
        if not any(img.top_layer == layer.chain_id for img in store.list()):
            store.layers.remove(layer.chain_id)
        raise SystemError_(f"failed to register layer: layer {blob} unpacked to {layer.diff_id}, "
                           f"image config says {diff_id}")


def _register(store: ImageStore, r: Resolved, top: str | None) -> tuple[Image, bool]:
    """The image record, its manifest and repo digest, and the tag; (image, tag moved?)."""
    store.content.put_bytes(r.manifest_raw, r.manifest_digest, media_type=r.manifest.media_type)
    if r.top_raw is not r.manifest_raw:
        store.content.put_bytes(r.top_raw, r.repo_digest, media_type=r.top_type)
    try:
        img = store.get(mf.sha256(r.config_raw))
    except NotFound:
        img = store.add(r.config, top, raw=r.config_raw)
    store.set_distribution(img.id, manifest=r.manifest_digest, repo_digest=f"{r.ref.name}@{r.repo_digest}")
    for d in r.manifest.layers:  # mount sources for later pushes to the same registry
        blobinfo.add_repo(store.db, d.digest, r.ref.name)
    newer = True
    if r.ref.tag is not None and r.ref.digest is None:
        rows = store.db.query("SELECT image_id FROM refs WHERE ref=?", (str(r.ref),))
        newer = not rows or rows[0][0] != img.id
        store.tag(img.id, str(r.ref))
    else:
        newer = not any(d == f"{r.ref.name}@{r.repo_digest}" for d in img.repo_digests)
    return store.get(img.id), newer
