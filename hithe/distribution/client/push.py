"""``push``: upload an image's layers, config and manifest to a registry.

Layers go up compressed, as docker sends them.  A pulled image still has the
registry's compressed blobs and its manifest: those exact bytes are pushed,
so the manifest digest stays the one it was pulled with.  A local image
(import, commit, load) keeps uncompressed layer tars: each is gzipped
deterministically (see blobinfo.py) into the content store, and the manifest
is a Docker v2 schema 2 one, indented like docker's, so pushing the same
image twice gives the same digest.
"""
from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable

from hithe.distribution.client import blobinfo, blobs, manifest as mf, messages as m
from hithe.distribution.client.auth import Credentials, TokenCache, repo_scope
from hithe.distribution.client.endpoint import InsecurePolicy
from hithe.distribution.client.session import Session, UrlGuard
from hithe.errors import HitheError, NotFound
from hithe.images.record import Image
from hithe.images.reference import Reference, parse_reference
from hithe.images.store import ImageStore

RunBlocking = Callable[[Callable[[], Any]], Awaitable[Any]]
_UNCOMPRESSED = ("application/vnd.oci.image.layer.v1.tar", "application/vnd.docker.image.rootfs.diff.tar", "")


@dataclass
class Target:
    ref: Reference       # name:tag
    image: Image


def targets(store: ImageStore, name: str, tag: str) -> list[Target]:
    """What a push of NAME[:TAG] sends: one tag, or every tag of the repository."""
    base = parse_reference(name)
    if tag:
        base = base.with_tag(tag)
    if base.tag or base.digest:
        try:
            return [Target(base, store.resolve(str(base)))]
        except NotFound:
            raise NotFound(f"An image does not exist locally with the tag: {base.familiar_name}") from None
    out = []
    for ref, iid in store.db.query("SELECT ref, image_id FROM refs ORDER BY ref"):
        r = parse_reference(ref)
        if r.name == base.name and r.tag:
            out.append(Target(r, store.get(iid)))
    if not out:
        raise NotFound(f"An image does not exist locally with the tag: {base.familiar_name}")
    return out


def _gzip_layer(store: ImageStore, diff_id: str) -> blobinfo.Compressed:
    """gzip of the uncompressed layer blob, into the content store; same input, same bytes."""
    with store.content.open(diff_id) as src, store.content.writer() as w:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=w, mtime=0) as gz:  # type: ignore[arg-type]
            shutil.copyfileobj(src, gz, 1 << 20)
        desc = w.commit()
    c = blobinfo.Compressed(desc.digest, desc.size)
    blobinfo.put_compressed(store.db, diff_id, c)
    return c


@dataclass
class _Layer:
    diff_id: str
    source: mf.Descriptor | None   # a compressed blob we hold, or None: gzip the diff-ID blob


def _plan(store: ImageStore, img: Image) -> tuple[list[_Layer], bytes | None, str]:
    """Layers to send, and the pulled manifest to send verbatim (or None)."""
    layers_doc: list[dict[str, Any]] = []
    raw: bytes | None = None
    mtype = ""
    if img.manifest:
        try:
            raw = store.content.read_bytes(img.manifest)
            doc = json.loads(raw)
            mtype = doc.get("mediaType") or mf.OCI_MANIFEST
            layers_doc = doc.get("layers") or []
            if (doc.get("config") or {}).get("digest") != img.id:
                raw = None
        except (NotFound, ValueError, AttributeError):
            raw, layers_doc = None, []
    out: list[_Layer] = []
    for i, diff_id in enumerate(img.diff_ids):
        src = None
        if i < len(layers_doc) and isinstance(layers_doc[i], dict):
            d = layers_doc[i]
            if d.get("mediaType", "") not in _UNCOMPRESSED and store.content.exists(str(d.get("digest"))):
                src = mf.Descriptor(d["mediaType"], d["digest"], int(d["size"]))
        if src is None:
            raw = None  # something gets recompressed: the pulled manifest no longer describes the push
        out.append(_Layer(diff_id, src))
    return out, raw, mtype


async def push(targets_: list[Target], store: ImageStore, run: RunBlocking, creds: Credentials,
               tokens: TokenCache, policy: InsecurePolicy, *, url_guard: UrlGuard | None = None,
               on_done: Callable[[Image, str], None] | None = None) -> AsyncIterator[bytes]:
    ref0 = targets_[0].ref
    yield m.status(f"The push refers to repository [{ref0.name}]")
    session = Session(policy.endpoint(ref0.domain), creds, tokens, policy, url_guard=url_guard)
    try:
        for t in targets_:
            async for msg in _push_one(t, session, store, run, on_done):
                yield msg
    except HitheError as e:
        yield m.error(_push_error(ref0, e))


def _push_error(ref: Reference, e: HitheError) -> str:
    return str(e)


async def _push_one(t: Target, s: Session, store: ImageStore, run: RunBlocking,
                    on_done: Callable[[Image, str], None] | None) -> AsyncIterator[bytes]:
    ref, img = t.ref, t.image
    scopes = [repo_scope(ref.path, ("pull", "push"))]
    layers, raw, mtype = await run(lambda: _plan(store, img))
    up = blobs.Upload(s, ref.path, scopes)
    for l in reversed(layers):
        # docker names push lines by diff ID (the compressed digest may not exist yet)
        yield m.layer("Preparing", m.short_id(l.diff_id))
    sent: list[mf.Descriptor] = []
    for l in layers:
        desc = l.source
        if desc is None:
            known = blobinfo.get_compressed(store.db, l.diff_id)
            if known is not None:
                desc = mf.Descriptor(mf.DOCKER_LAYER_GZIP, known.digest, known.size)
        if desc is not None and await blobs.exists(s, ref.path, desc.digest, scopes):
            yield m.layer("Layer already exists", m.short_id(l.diff_id))
            sent.append(desc)
            continue
        if desc is not None:
            mounted = False
            for src in blobinfo.repos_of(store.db, desc.digest):
                src_ref = parse_reference(src)
                if src_ref.domain == ref.domain and src_ref.path != ref.path:
                    mount_up = blobs.Upload(s, ref.path, scopes + [repo_scope(src_ref.path, ("pull",))])
                    if await mount_up.mount(desc.digest, src_ref.path):
                        yield m.layer(f"Mounted from {src_ref.path}", m.short_id(l.diff_id))
                        mounted = True
                        break
            if mounted:
                sent.append(desc)
                blobinfo.add_repo(store.db, desc.digest, ref.name)
                continue
        if desc is None or not store.content.exists(desc.digest):
            c = await run(lambda d=l.diff_id: _gzip_layer(store, d))
            desc = mf.Descriptor(mf.DOCKER_LAYER_GZIP, c.digest, c.size)
        ident = m.short_id(l.diff_id)
        msgs: list[bytes] = []
        throttle = m.Throttle()

        def progress(done: int, d: mf.Descriptor = desc, ident: str = ident) -> None:
            if throttle.ready(done >= d.size):
                msgs.append(m.progress("Pushing", ident, done, d.size))
        await up.put(desc.digest, desc.size, lambda d=desc.digest: store.content.open(d), progress)
        for msg in msgs:
            yield msg
        yield m.layer("Pushed", ident)
        blobinfo.add_repo(store.db, desc.digest, ref.name)
        sent.append(desc)
    config = store.content.read_bytes(img.id)
    if not await blobs.exists(s, ref.path, img.id, scopes):
        await up.put_bytes(img.id, config)
    if raw is None:
        mtype = mf.DOCKER_MANIFEST
        raw = json.dumps({
            "schemaVersion": 2, "mediaType": mtype,
            "config": {"mediaType": mf.DOCKER_CONFIG, "size": len(config), "digest": img.id},
            "layers": [{"mediaType": d.media_type or mf.DOCKER_LAYER_GZIP, "size": d.size, "digest": d.digest}
                       for d in sent],
        }, indent=3).encode()
    resp = await s.request("PUT", f"/v2/{ref.path}/manifests/{ref.tag}", scopes=scopes, body=raw,
                           headers={"Content-Type": mtype}, ok=(201,))
    resp.close()
    digest = mf.sha256(raw)
    store.content.put_bytes(raw, digest, media_type=mtype)
    store.set_distribution(img.id, repo_digest=f"{ref.name}@{digest}")
    yield m.status(f"{ref.tag}: digest: {digest} size: {len(raw)}")
    yield m.aux({"Tag": ref.tag, "Digest": digest, "Size": len(raw)})
    if on_done is not None:
        on_done(img, ref.familiar())
