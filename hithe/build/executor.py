"""The classic builder: stages and steps, each step a child image of the one before.

Messages follow `DOCKER_BUILDKIT=0 docker build`: "Step N/M : ...",
" ---> Running in ID", the RUN's output, "Removing intermediate container ID",
" ---> IMAGEID", " ---> Using cache".  Steps that only change the config get
history entries marked empty_layer; RUN, COPY, ADD and WORKDIR get a layer
when they changed something.
"""
from __future__ import annotations

import base64
import copy
import json
import os
import shutil
import tempfile
from typing import Any, Callable

from hithe.build import metadata
from hithe.build.cache import BuildCache, cache_key
from hithe.build.copier import CopyRequest, copy_into, parse_chmod
from hithe.build.context import BuildContext
from hithe.build.options import BuildOptions
from hithe.build.parser import Dockerfile, Node
from hithe.build.runner import create_build_container, run_container
from hithe.build.shellwords import expand, split_words
from hithe.build.sources import Source, SourceRoot, checksum
from hithe.build.state import PROXY_ARGS, Stage
from hithe.build.urls import fetch_url
from hithe.errors import HitheError, InvalidParameter, NotFound
from hithe.images.commit import _parent_layer_descs, child_config, write_container_layer
from hithe.images.record import Image
from hithe.images.reference import parse_reference
from hithe.util.timefmt import rfc3339_now


class BuildError(HitheError):
    """A step failed: reported in the stream, as Docker does."""


def short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


class Builder:
    def __init__(self, svc: Any, opts: BuildOptions, ctx: BuildContext, df: Dockerfile,
                 emit: Callable[[dict[str, Any]], None]) -> None:
        self.svc = svc
        self.containers = svc.containers
        self.images = svc.images
        self.store = svc.images.store
        self.cache: BuildCache = svc.cache
        self.opts = opts
        self.ctx = ctx
        self.df = df
        self.esc = df.escape
        self._emit = emit
        self.stages: list[Stage] = []
        self.meta_args: dict[str, str | None] = {}
        self.used_args: set[str] = set()
        self.leftover: list[str] = []   # intermediate containers still to remove
        self.step = 0
        self.total = 0

    # --- output -------------------------------------------------------------
    def out(self, text: str) -> None:
        if not self.opts.quiet:
            self._emit({"stream": text})

    # --- plan ---------------------------------------------------------------
    def _plan(self) -> tuple[list[Node], list[list[Node]]]:
        meta: list[Node] = []
        stages: list[list[Node]] = []
        for node in self.df.nodes:
            if node.cmd == "from":
                stages.append([node])
            elif not stages:
                if node.cmd != "arg":
                    raise InvalidParameter("no build stage in current context" if node.cmd != "arg"
                                           else "")
                meta.append(node)
            else:
                stages[-1].append(node)
        if not stages:
            raise InvalidParameter("No build stage in current context")
        if self.opts.target:
            names = [self._stage_name(s[0]) for s in stages]
            if self.opts.target not in names:
                raise InvalidParameter(f"failed to reach build target {self.opts.target} in Dockerfile")
            stages = stages[:names.index(self.opts.target) + 1]
        if self.opts.labels:
            text = " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in sorted(self.opts.labels.items()))
            stages[-1].append(Node(cmd="label", original="LABEL " + text, rest=text, flags=[],
                                   json_args=None, line=0, end_line=0))
        return meta, stages

    def _stage_name(self, node: Node) -> str:
        words = split_words(node.rest, self.esc)
        if len(words) == 3 and words[1].lower() == "as":
            return words[2].lower()
        return ""

    # --- the build ----------------------------------------------------------
    async def run(self) -> Image:
        meta, stages = self._plan()
        self.total = len(meta) + sum(len(s) for s in stages)
        for node in meta:
            self._step_line(node)
            for w in split_words(node.rest, self.esc):
                name, eq, default = w.partition("=")
                user = self.opts.build_args.get(name)
                self.meta_args[name] = user if user is not None else (
                    expand(default, self._meta_env(), self.esc) if eq else None)
                if name in self.opts.build_args:
                    self.used_args.add(name)
        final: Stage | None = None
        for i, nodes in enumerate(stages):
            stage = await self._from(nodes[0], i)
            self.stages.append(stage)
            for node in nodes[1:]:
                self._step_line(node)
                await self._dispatch(node, stage)
            final = stage
        assert final is not None
        if not final.image_id:
            raise InvalidParameter("No image was generated. Is your Dockerfile empty?")
        return self.store.get(final.image_id)

    def _step_line(self, node: Node) -> None:
        self.step += 1
        self.out(f"Step {self.step}/{self.total} : {node.original}\n")

    def _meta_env(self) -> dict[str, str]:
        return {k: v for k, v in self.meta_args.items() if v is not None}

    # --- FROM ---------------------------------------------------------------
    async def _from(self, node: Node, index: int) -> Stage:
        self._step_line(node)
        words = [expand(w, self._meta_env(), self.esc) for w in split_words(node.rest, self.esc)]
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
            raise InvalidParameter("FROM requires either one or three arguments")
        name = words[2].lower() if len(words) == 3 else ""
        stage = Stage(name=name, index=index)
        base = words[0]
        if not base:
            raise InvalidParameter("base name (${...}) should not be blank")
        if base.lower() == "scratch":
            self.out(" ---> \n")
            return stage
        prior = self._find_stage(base)
        img = self.store.get(prior.image_id) if prior else await self._base_image(base)
        self._enter(stage, img)
        self.out(f" ---> {short(img.id)}\n")
        triggers = list(img.container_config.get("OnBuild") or [])
        stage.config["OnBuild"] = None
        if triggers:
            self.out(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
            from hithe.build.parser import parse
            for trig in triggers:
                for tnode in parse(trig).nodes:
                    await self._dispatch(tnode, stage)
        return stage

    def _find_stage(self, name: str) -> Stage | None:
        for s in self.stages:
            if s.name and s.name == name.lower():
                return s
        return None

    async def _base_image(self, name: str) -> Image:
        try:
            if not self.opts.pull:
                return self.store.resolve(name)
        except NotFound:
            pass
        ref = parse_reference(name)
        stream = await self.images.pull(name, "", auth=self._auth_for(ref.domain))
        async for chunk in stream:
            for line in chunk.splitlines():
                if not line.strip():
                    continue
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if msg.get("error"):
                    raise BuildError(msg["error"])
                if not self.opts.quiet:
                    self._emit(msg)
        return self.store.resolve(name)

    def _auth_for(self, domain: str) -> str | None:
        for key, cred in self.opts.registry_auth.items():
            host = key.split("://", 1)[-1].split("/", 1)[0]
            if host == domain or (domain == "docker.io" and "docker.io" in host):
                return base64.urlsafe_b64encode(json.dumps(cred).encode()).decode()
        return None

    def _enter(self, stage: Stage, img: Image) -> None:
        stage.image_id = img.id
        stage.parent_config = img.config
        stage.config = copy.deepcopy(img.container_config)

    # --- steps --------------------------------------------------------------
    async def _dispatch(self, node: Node, stage: Stage) -> None:
        if node.cmd == "from":
            raise InvalidParameter("FROM isn't allowed as an ONBUILD trigger")
        env = stage.expansion_env(self.opts.build_args)
        if node.cmd == "run":
            await self._run(node, stage)
        elif node.cmd in ("copy", "add"):
            await self._copy(node, stage, env)
        else:
            if node.cmd == "arg":
                for w in split_words(node.rest, self.esc):
                    n = w.partition("=")[0]
                    self.used_args.add(n)
                    if n in self.meta_args and "=" not in w and self.meta_args[n] is not None:
                        stage.args[n] = self.meta_args[n]
            before = copy.deepcopy(stage.config)
            comment = metadata.apply(node, stage, env, self.esc)
            if node.cmd == "arg":
                # a bare ARG re-declaring a global one keeps the global's value (set above)
                for w in split_words(node.rest, self.esc):
                    n = w.partition("=")[0]
                    if "=" not in w and self.meta_args.get(n) is not None:
                        stage.args[n] = self.meta_args[n]
            created_by = stage.shell + ["#(nop) ", comment]
            if node.cmd == "workdir":
                await self._workdir(stage, created_by)
            else:
                await self._commit_step(stage, created_by, None, before=before)

    async def _cached(self, stage: Stage, created_by: list[str]) -> tuple[str, bool]:
        key = cache_key(stage.image_id, created_by, stage.config)
        if self.opts.no_cache:
            return key, False
        hit = self.cache.lookup(key)
        if hit is None:
            return key, False
        self.out(" ---> Using cache\n")
        self._enter(stage, hit)
        self.out(f" ---> {short(hit.id)}\n")
        return key, True

    async def _commit_step(self, stage: Stage, created_by: list[str], upper: str | None, *,
                           before: dict[str, Any] | None = None, container: Any = None,
                           key: str | None = None) -> None:
        """Record a step as a child image; metadata-only steps go through a throwaway container too."""
        if key is None:
            key, hit = await self._cached(stage, created_by)
            if hit:
                return
        cid = ""
        if container is None and stage.image_id and upper is None:
            c = await create_build_container(self.containers, stage.image_id, created_by, env=[],
                                             workdir="", user="")
            cid = c.id
            self.out(f" ---> Running in {short(c.id)}\n")
            self.leftover.append(c.id)
        elif container is not None:
            cid = container.id
        img = await self.images.run_blocking(lambda: self._commit_sync(stage, created_by, upper, cid))
        await self._remove_leftovers()
        self.cache.store(key, img.id)
        self._enter(stage, img)
        self.out(f" ---> {short(img.id)}\n")

    def _commit_sync(self, stage: Stage, created_by: list[str], upper: str | None, cid: str) -> Image:
        store = self.store
        parent = store.get(stage.image_id) if stage.image_id else None
        made = write_container_layer(store, upper, parent.top_layer if parent else None) if upper else None
        layer, desc = made if made else (None, None)
        cfg = copy.deepcopy(stage.config)
        container_cfg = dict(cfg)
        container_cfg["Cmd"] = created_by
        doc = child_config(stage.parent_config or {}, config=cfg, container_config=container_cfg,
                           container_id=cid, diff_id=layer.diff_id if layer else None,
                           author=stage.author, comment="", created=rfc3339_now())
        top = layer.chain_id if layer else (parent.top_layer if parent else None)
        img = store.add(doc, top, parent=stage.image_id)
        descs = _parent_layer_descs(store, parent) if parent else []
        if descs is not None:
            store.put_manifest(img, descs + ([desc] if desc else []))
        return store.get(img.id)

    async def _remove_leftovers(self, failed: bool = False) -> None:
        if failed and not (self.opts.rm or self.opts.force_rm):
            return
        if not failed and not self.opts.rm:
            self.leftover.clear()
            return
        while self.leftover:
            cid = self.leftover.pop()
            try:
                await self.containers.remove(cid, force=True)
            except HitheError:
                continue
            self.out(f"Removing intermediate container {short(cid)}\n")

    # --- RUN ----------------------------------------------------------------
    async def _run(self, node: Node, stage: Stage) -> None:
        if not stage.image_id:
            raise BuildError("RUN on a scratch image: there is no shell to run")
        for f in node.flags:   # BuildKit's RUN --mount/--network/--security: not in the classic builder
            raise InvalidParameter(f"Unknown flag: {f[2:].partition('=')[0]}")
        if node.json_args is not None:
            cmd = list(node.json_args)
        else:
            text = node.rest
            if node.heredocs:
                only = len(node.heredocs) == 1 and text.strip().lstrip("<-").strip("'\"") == node.heredocs[0].name
                if only:
                    text = node.heredocs[0].content
                else:
                    text = text + "\n" + "".join(h.content + h.name + "\n" for h in node.heredocs)
            cmd = stage.shell + [text]
        run_args = stage.run_args(self.opts.build_args)
        for a in run_args:
            self.used_args.add(a.partition("=")[0])
        shown_args = [a for a in run_args if a.partition("=")[0] not in PROXY_ARGS]
        created_by = ([f"|{len(shown_args)}"] + shown_args if shown_args else []) + cmd
        key, hit = await self._cached(stage, created_by)
        if hit:
            return
        c = await create_build_container(self.containers, stage.image_id, cmd, env=run_args,
                                         workdir=stage.config.get("WorkingDir") or "",
                                         user=stage.config.get("User") or "")
        self.leftover.append(c.id)
        self.out(f" ---> Running in {short(c.id)}\n")
        code = await run_container(self.containers, c, self.out)
        if code != 0:
            raise BuildError(f"The command '{' '.join(cmd)}' returned a non-zero code: {code}")
        upper = os.path.join(self.containers.dir_of(c), "upper")
        await self._commit_step(stage, created_by, upper, container=c, key=key)

    # --- WORKDIR: the directory is made in the image ------------------------
    async def _workdir(self, stage: Stage, created_by: list[str]) -> None:
        key, hit = await self._cached(stage, created_by)
        if hit:
            return
        wd = stage.config.get("WorkingDir") or "/"
        ws = await self._workspace(stage)
        try:
            def mk() -> None:
                from hithe.archive.rootdir import RootDir
                from hithe.containers.users import resolve_user
                with RootDir(ws.rootfs) as rd:
                    parts = tuple(p for p in wd.split("/") if p)
                    try:
                        os.close(rd.open_dir(parts))
                    except FileNotFoundError:
                        fd = rd.open_dir(parts, create=True)
                        try:
                            user = stage.config.get("User") or ""
                            if user:
                                uid, gid, _ = resolve_user(ws.rootfs, user)
                                os.fchown(fd, uid, gid)
                        finally:
                            os.close(fd)
            await self.images.run_blocking(mk)
            ws.unmount()
            await self._commit_step(stage, created_by, ws.upper, container=ws, key=key)
        finally:
            ws.remove()

    async def _workspace(self, stage: Stage) -> "Workspace":
        parent = self.store.get(stage.image_id) if stage.image_id else None
        ws = Workspace(self.containers.snap, self.svc.tmp_root, parent.top_layer if parent else None)
        await self.images.run_blocking(ws.mount)
        return ws

    # --- COPY / ADD -----------------------------------------------------------
    async def _copy(self, node: Node, stage: Stage, env: dict[str, str]) -> None:
        verb = node.cmd.upper()
        known = {"from", "chown", "chmod", "link", "platform", "checksum", "keep-git-dir", "exclude", "parents"}
        for f in node.flags:
            k = f[2:].partition("=")[0]
            if k not in known or (k == "from" and verb == "ADD") or (k in ("checksum", "keep-git-dir") and verb == "COPY"):
                raise InvalidParameter(f"Unknown flag: {k}")
            if k in ("exclude", "parents", "checksum", "keep-git-dir"):
                raise InvalidParameter(f"{verb} --{k} is not supported by hithe's builder")
        words = list(node.json_args) if node.json_args is not None else split_words(node.rest, self.esc)
        words = [expand(w, env, self.esc) if not (node.heredocs and w.startswith("<<")) else w for w in words]
        if len(words) < 2:
            raise InvalidParameter(f"{verb} requires at least two arguments, but only one was provided. "
                                   "Destination could not be determined.")
        srcs, dest = words[:-1], words[-1]
        chown = expand(node.flag("chown") or "", env, self.esc)
        chmod = node.flag("chmod")
        req = CopyRequest(verb=verb, dest=dest, workdir=stage.config.get("WorkingDir") or "/",
                          chown=chown, chmod=parse_chmod(chmod) if chmod else None,
                          extract_archives=verb == "ADD")
        src_from = node.flag("from")
        from_ws: Workspace | None = None
        if src_from:
            from_ws = await self._from_workspace(src_from)
            root = SourceRoot(from_ws.rootfs, "image")
        else:
            root = SourceRoot(self.ctx.root)
        try:
            sources: list[Source] = []
            heredocs = {h.name: h for h in node.heredocs}
            for s in srcs:
                if s.startswith("<<") and s.lstrip("<-").strip("'\"") in heredocs:
                    h = heredocs[s.lstrip("<-").strip("'\"")]
                    body = expand(h.content, env, self.esc) if h.expand else h.content
                    sources.append(Source(display=s, content=body.encode(), name=h.name, mode=0o644))
                elif verb == "ADD" and s.startswith(("http://", "https://")):
                    sources.append(await self.images.run_blocking(lambda s=s: fetch_url(s)))
                else:
                    got = await self.images.run_blocking(lambda s=s: root.resolve(s, verb))
                    if not got:
                        raise NotFound(f"{verb} failed: no source files were specified")
                    sources.extend(got)
            if len(srcs) == 1 and len(sources) > 1 and not dest.endswith("/"):
                raise InvalidParameter(f"When using {verb} with more than one source file, "
                                       "the destination must be a directory and end with a /")
            digest = await self.images.run_blocking(lambda: checksum(root, sources))
            created_by = stage.shell + [f"#(nop) {verb} {digest} in {dest} "]
            key, hit = await self._cached(stage, created_by)
            if hit:
                return
            ws = await self._workspace(stage)
            try:
                await self.images.run_blocking(lambda: copy_into(ws.rootfs, root, sources, req, ws.dir))
                ws.unmount()
                await self._commit_step(stage, created_by, ws.upper, container=ws, key=key)
            finally:
                ws.remove()
        finally:
            root.close()
            if from_ws is not None:
                from_ws.remove()

    async def _from_workspace(self, ref: str) -> "Workspace":
        st: Stage | None = None
        if ref.isdigit():
            idx = int(ref)
            if idx >= len(self.stages):
                raise InvalidParameter(f"invalid from flag value {ref}: refers to current build stage")
            st = self.stages[idx]
        else:
            st = self._find_stage(ref)
        if st is not None:
            if not st.image_id:
                ws = Workspace(self.containers.snap, self.svc.tmp_root, None)
            else:
                ws = Workspace(self.containers.snap, self.svc.tmp_root, self.store.get(st.image_id).top_layer)
        else:
            img = await self._base_image(ref)
            ws = Workspace(self.containers.snap, self.svc.tmp_root, img.top_layer)
        await self.images.run_blocking(ws.mount)
        return ws

    def unused_args(self) -> list[str]:
        return sorted(k for k in self.opts.build_args if k not in self.used_args and k not in PROXY_ARGS)


class Workspace:
    """An overlay of an image's layers with a fresh upper dir: where COPY/ADD/WORKDIR write."""

    def __init__(self, snap: Any, tmp_root: str, top_layer: str | None) -> None:
        os.makedirs(tmp_root, exist_ok=True)
        self.snap = snap
        self.dir = tempfile.mkdtemp(dir=tmp_root, prefix="ws-")
        self.top = top_layer
        self.rootfs = os.path.join(self.dir, "rootfs")
        self.upper = os.path.join(self.dir, "upper")
        self.id = ""
        self.mounted = False

    def mount(self) -> None:
        self.snap.prepare(self.dir)
        self.snap.mount(self.dir, self.top)
        self.mounted = True

    def unmount(self) -> None:
        if self.mounted:
            self.snap.unmount(self.dir)
            self.mounted = False

    def remove(self) -> None:
        self.unmount()
        shutil.rmtree(self.dir, ignore_errors=True)
