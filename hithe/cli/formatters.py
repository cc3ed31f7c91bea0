"""Template contexts for ``ps`` and ``images`` (docker's cli/command/formatter).

Each context is an object whose methods are the template fields docker
offers (``{{.ID}}``, ``{{.Label "k"}}``...); ``__json__`` gives ``{{json .}}``
docker's key set, sorted like a Go map.
"""
from __future__ import annotations

import time
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

from hithe.cli.template import GoMap

CONTAINER_HEADERS = {
    "ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
    "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE",
    "Status": "STATUS", "Size": "SIZE", "Labels": "LABELS", "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS", "Platform": "PLATFORM",
}
IMAGE_HEADERS = {
    "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
    "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
    "Containers": "CONTAINERS", "VirtualSize": "VIRTUAL SIZE", "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
}
CONTAINER_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
IMAGE_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGE_TABLE_DIGESTS = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"


# -- helpers shared by the list commands -------------------------------------------

def truncate_id(ident: str) -> str:
    """stringid.TruncateID: drop an ``algo:`` prefix, keep 12 characters."""
    if ":" in ident:
        ident = ident.split(":", 1)[1]
    return ident[:12]


def ellipsis(s: str, width: int) -> str:
    """formatter.Ellipsis for ASCII and wide characters (East Asian width 2)."""
    if width <= 0:
        return ""
    if s.isascii():
        return s if len(s) <= width else s[:width - 1] + "…"
    import unicodedata

    widths = []
    total = 0
    for ch in s:
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        widths.append(total)
    if total <= width:
        return s
    for i, w in enumerate(widths):
        if w > width - 1:
            return s[:i] + "…"
    return s


def go_quote(s: str) -> str:
    """strconv.Quote: printable characters kept, others escaped Go-style."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\v":
            out.append("\\v")
        elif o < 0x20 or o == 0x7f:
            out.append(f"\\x{o:02x}")
        elif o > 0x7e and not ch.isprintable():
            out.append(f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_time(ts: float) -> str:
    """time.Unix(ts, 0).String() in the local zone: ``2024-05-01 10:20:30 +0000 UTC``."""
    lt = time.localtime(int(ts))
    return time.strftime("%Y-%m-%d %H:%M:%S %z ", lt) + (lt.tm_zone or "")


def human_size(size: float, precision: int = 4) -> str:
    """go-units HumanSizeWithPrecision: decimal units, %.{precision}g."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while size >= 1000.0 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.{precision}g}{units[i]}"


def ago(ts: float, now: float | None = None) -> str:
    from hithe.util.units import human_duration

    now = time.time() if now is None else now
    return human_duration(max(now - ts, 0)) + " ago"


def displayable_ports(ports: list[dict[str, Any]]) -> str:
    """formatter.DisplayablePorts: group consecutive ports, host mappings last."""
    import ipaddress

    def key(p: dict[str, Any]) -> tuple:
        ip = p.get("IP") or ""
        try:
            ipk = (0, int(ipaddress.ip_address(ip))) if ip else (-1, 0)
        except ValueError:
            ipk = (1, 0)
        return (p.get("PrivatePort", 0), ipk, p.get("PublicPort", 0), p.get("Type", ""))

    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    host_maps: list[str] = []
    for p in sorted(ports or [], key=key):
        cur = p.get("PrivatePort", 0)
        ptype = p.get("Type", "tcp")
        pkey = ptype
        ip = p.get("IP") or ""
        if ip:
            pub = p.get("PublicPort", 0)
            if pub != cur:
                host = f"[{ip}]" if ":" in ip else ip
                host_maps.append(f"{host}:{pub}->{cur}/{ptype}")
                continue
            pkey = f"{ip}/{ptype}"
        g = groups.get(pkey)
        if g is None:
            groups[pkey] = [cur, cur]
            order.append(pkey)
        elif cur == g[1] + 1:
            g[1] = cur
        else:
            result.append(_form_group(pkey, g[0], g[1]))
            groups[pkey] = [cur, cur]
    for pkey in order:
        g = groups[pkey]
        result.append(_form_group(pkey, g[0], g[1]))
    return ", ".join(result + host_maps)


def _form_group(pkey: str, first: int, last: int) -> str:
    ip, slash, ptype = pkey.rpartition("/")
    group = str(first) if first == last else f"{first}-{last}"
    if ip:
        host = f"[{ip}]" if ":" in ip else ip
        group = f"{host}:{group}->{group}"
    return f"{group}/{ptype}"


def familiar_name_tag(ref: str) -> tuple[str, str]:
    """``docker.io/library/busybox:latest`` to (``busybox``, ``latest``); ("", "") if invalid."""
    from hithe.errors import InvalidParameter
    from hithe.images.reference import parse_reference

    try:
        r = parse_reference(ref, default_tag=False)
    except InvalidParameter:
        return "", ""
    return r.familiar_name, r.tag or ""


# -- contexts ------------------------------------------------------------------------

class ContainerContext:
    def __init__(self, c: dict[str, Any], trunc: bool = True, now: float | None = None) -> None:
        self.c = c
        self.trunc = trunc
        self.now = now

    def ID(self) -> str:
        return truncate_id(self.c.get("Id", "")) if self.trunc else self.c.get("Id", "")

    def Names(self) -> str:
        names = [n.lstrip("/") for n in self.c.get("Names") or []]
        if self.trunc:
            for n in names:
                if "/" not in n:
                    return n
            return ""
        return ",".join(names)

    def Image(self) -> str:
        image = self.c.get("Image") or ""
        if not image:
            return "<no image>"
        if not self.trunc:
            return image
        image_id = self.c.get("ImageID") or ""
        if image.startswith("sha256:") or (image_id and truncate_id(image_id) == truncate_id(image)):
            return truncate_id(image)
        if "@" in image:
            name, _, _digest = image.partition("@")
            return name
        return image

    def Command(self) -> str:
        cmd = self.c.get("Command") or ""
        return go_quote(ellipsis(cmd, 20) if self.trunc else cmd)

    def CreatedAt(self) -> str:
        return go_time(self.c.get("Created", 0))

    def RunningFor(self) -> str:
        return ago(self.c.get("Created", 0), self.now)

    def Ports(self) -> str:
        return displayable_ports(self.c.get("Ports") or [])

    def State(self) -> str:
        return self.c.get("State", "")

    def Status(self) -> str:
        return self.c.get("Status", "")

    def Size(self) -> str:
        srw = human_size(self.c.get("SizeRw") or 0, 3)
        root = self.c.get("SizeRootFs") or 0
        return f"{srw} (virtual {human_size(root, 3)})" if root > 0 else srw

    def Labels(self) -> str:
        labels = self.c.get("Labels") or {}
        return ",".join(sorted(f"{k}={v}" for k, v in labels.items()))

    def Label(self, name: str) -> str:
        return (self.c.get("Labels") or {}).get(name, "")

    def Mounts(self) -> str:
        names = []
        for m in self.c.get("Mounts") or []:
            name = m.get("Name") or m.get("Source") or ""
            names.append(ellipsis(name, 15) if self.trunc else name)
        return ",".join(names)

    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.c.get("Mounts") or [] if m.get("Driver") == "local"))

    def Networks(self) -> str:
        nets = ((self.c.get("NetworkSettings") or {}).get("Networks") or {})
        return ",".join(sorted(nets))

    def Platform(self) -> Any:
        return None

    def __json__(self) -> GoMap:
        return GoMap({k: getattr(self, k)() for k in (
            "Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names",
            "Networks", "Platform", "Ports", "RunningFor", "Size", "State", "Status")})


class ImageContext:
    def __init__(self, img: dict[str, Any], repo: str, tag: str, digest: str, trunc: bool = True,
                 now: float | None = None) -> None:
        self.i = img
        self.repo, self.tag, self.digest = repo, tag, digest
        self.trunc = trunc
        self.now = now

    def ID(self) -> str:
        return truncate_id(self.i.get("Id", "")) if self.trunc else self.i.get("Id", "")

    def Repository(self) -> str:
        return self.repo

    def Tag(self) -> str:
        return self.tag

    def Digest(self) -> str:
        return self.digest

    def CreatedSince(self) -> str:
        created = self.i.get("Created") or 0
        return "N/A" if not created else ago(created, self.now)

    def CreatedAt(self) -> str:
        return go_time(self.i.get("Created") or 0)

    def Size(self) -> str:
        return human_size(self.i.get("Size") or 0, 3)

    def Containers(self) -> str:
        n = self.i.get("Containers", -1)
        return "N/A" if n is None or n == -1 else str(n)

    def VirtualSize(self) -> str:
        return human_size(self.i.get("VirtualSize", self.i.get("Size")) or 0)

    def SharedSize(self) -> str:
        n = self.i.get("SharedSize", -1)
        return "N/A" if n is None or n == -1 else human_size(n)

    def UniqueSize(self) -> str:
        shared = self.i.get("SharedSize", -1)
        if shared is None or shared == -1:
            return "N/A"
        return human_size((self.i.get("Size") or 0) - shared)

    def __json__(self) -> GoMap:
        return GoMap({k: getattr(self, k)() for k in (
            "Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository",
            "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize")})


def image_rows(images: list[dict[str, Any]], *, digests: bool, trunc: bool,
               now: float | None = None) -> list[ImageContext]:
    """One row per repository:tag (and per digest with --digests), like docker."""
    rows: list[ImageContext] = []
    for img in images:
        tags = [t for t in img.get("RepoTags") or [] if t != "<none>:<none>"]
        dgs = [d for d in img.get("RepoDigests") or [] if d != "<none>@<none>"]
        if not tags and not dgs:
            rows.append(ImageContext(img, "<none>", "<none>", "<none>", trunc, now))
            continue
        repo_tags: dict[str, list[str]] = {}
        repo_digests: dict[str, list[str]] = {}
        for t in tags:
            name, tag = familiar_name_tag(t)
            if name and tag and "@" not in tag:
                repo_tags.setdefault(name, []).append(tag)
        for d in dgs:
            name, _, digest = d.partition("@")
            if digest:
                repo_digests.setdefault(familiar_name_tag(name)[0] or name, []).append(digest)
        for repo, ts in repo_tags.items():
            ds = repo_digests.pop(repo, [])
            if not digests:
                ds = []  # the digest is shown once per tag only with --digests
            for tag in ts:
                if not ds:
                    rows.append(ImageContext(img, repo, tag, "<none>", trunc, now))
                for dg in ds:
                    rows.append(ImageContext(img, repo, tag, dg, trunc, now))
        for repo, ds in repo_digests.items():
            if digests:
                rows.extend(ImageContext(img, repo, "<none>", dg, trunc, now) for dg in ds)
            else:
                rows.append(ImageContext(img, repo, "<none>", "", trunc, now))
    return rows
