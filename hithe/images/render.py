"""Docker's JSON shapes for images: list, inspect, history."""
from __future__ import annotations

from typing import Any, Callable

from hithe.errors import InvalidParameter
from hithe.images.record import Image
from hithe.images.reference import parse_reference
from hithe.util.timefmt import parse_rfc3339


def _familiar(ref: str) -> str:
    try:
        return parse_reference(ref).familiar()
    except InvalidParameter:
        return ref


def label_keep(filters: dict[str, list[str]]) -> Callable[[Image], bool]:
    labels = filters.get("label", [])

    def keep(img: Image) -> bool:
        have = img.container_config.get("Labels") or {}
        for v in labels:
            k, eq, want = v.partition("=")
            if k not in have or (eq and have[k] != want):
                return True
        return False
    return keep


def list_images(images: Any, containers: Any, filters: dict[str, list[str]], *, all_: bool,
                digests: bool) -> list[dict[str, Any]]:
    out = []
    used: dict[str, int] = {}
    for c in containers.all():
        used[c.image_id] = used.get(c.image_id, 0) + 1
    refs = filters.get("reference", [])
    dangling = filters.get("dangling", [])
    keep = label_keep(filters)
    before = [images.resolve(v).created for v in filters.get("before", [])]
    since = [images.resolve(v).created for v in filters.get("since", [])]
    kids = images.children_count()
    for img in sorted(images.list(), key=lambda i: i.created, reverse=True):
        tags = [_familiar(t) for t in img.repo_tags]
        intermediate = not tags and not img.repo_digests and kids.get(img.id, 0) > 0
        if intermediate and not all_:
            continue  # a parent kept for the build cache: `images -a` shows it, as in Docker
        if dangling:
            want = dangling[0].lower() in ("true", "1")
            if want != (not tags and not intermediate):
                continue
        if refs:
            import fnmatch
            tags_m = [t for t in tags if any(fnmatch.fnmatch(t, p) or fnmatch.fnmatch(t.split(":")[0], p)
                                             for p in refs)]
            if not tags_m:
                continue
            tags = tags_m
        if keep(img):
            continue
        if before and not all(img.created < b for b in before):
            continue
        if since and not all(img.created > s for s in since):
            continue
        out.append({
            "Id": img.id, "ParentId": img.parent, "RepoTags": tags,
            "RepoDigests": img.repo_digests, "Created": int(parse_rfc3339(img.created)),
            "Size": img.size, "SharedSize": -1, "VirtualSize": img.size,
            "Labels": img.container_config.get("Labels") or {}, "Containers": used.get(img.id, 0),
        })
    return out


def inspect(img: Image, images: Any) -> dict[str, Any]:
    cfg = img.config
    cc = dict(img.container_config)
    return {
        "Id": img.id, "RepoTags": [_familiar(t) for t in img.repo_tags], "RepoDigests": img.repo_digests,
        "Parent": img.parent, "Comment": cfg.get("comment", ""), "Created": img.created,
        "DockerVersion": cfg.get("docker_version", ""), "Author": cfg.get("author", ""),
        "Config": {"Hostname": "", "Domainname": "", "User": cc.get("User", ""), "AttachStdin": False,
                   "AttachStdout": False, "AttachStderr": False, "ExposedPorts": cc.get("ExposedPorts"),
                   "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": cc.get("Env"),
                   "Cmd": cc.get("Cmd"), "Image": "", "Volumes": cc.get("Volumes"),
                   "WorkingDir": cc.get("WorkingDir", ""), "Entrypoint": cc.get("Entrypoint"),
                   "OnBuild": cc.get("OnBuild"), "Labels": cc.get("Labels"),
                   **({"StopSignal": cc["StopSignal"]} if cc.get("StopSignal") else {}),
                   **({"Healthcheck": cc["Healthcheck"]} if cc.get("Healthcheck") else {}),
                   **({"Shell": cc["Shell"]} if cc.get("Shell") else {})},
        "Architecture": cfg.get("architecture", ""), "Os": cfg.get("os", "linux"),
        "Size": img.size, "VirtualSize": img.size,
        "GraphDriver": {"Name": "overlay2", "Data": None},
        "RootFS": {"Type": "layers", "Layers": img.diff_ids},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    }


def history(img: Image, layer_sizes: list[int] | None = None,
            ancestors: list[Image] | None = None) -> list[dict[str, Any]]:
    """Docker's image history, newest first. `layer_sizes` are the image's layers' sizes from
    the base up: each history entry that made a layer (not `empty_layer`) gets the next one.
    `ancestors` are the local parent images (builds, commits): as in Docker, the entry that
    made each of them shows its ID and tags instead of <missing>."""
    owners: dict[int, Image] = {}
    for anc in ancestors or []:
        n = len(anc.config.get("history") or [])
        if n:
            owners.setdefault(n - 1, anc)
    hist = img.config.get("history") or []
    sizes = list(layer_sizes or [])
    per_entry: list[int] = []
    for h in hist:
        per_entry.append(0 if h.get("empty_layer") or not sizes else sizes.pop(0))
    if len(hist) == 1 and not layer_sizes:
        per_entry = [img.size]
    owners[len(hist) - 1] = img
    out = []
    for i in range(len(hist) - 1, -1, -1):
        h, owner = hist[i], owners.get(i)
        out.append({
            "Id": owner.id if owner else "<missing>", "Created": int(parse_rfc3339(h.get("created", ""))),
            "CreatedBy": h.get("created_by", ""),
            "Tags": ([_familiar(t) for t in owner.repo_tags] or None) if owner else None,
            "Size": per_entry[i], "Comment": h.get("comment", ""),
        })
    return out
