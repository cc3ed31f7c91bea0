"""hithe build / POST /build: the classic builder end to end (real containers for RUN)."""
from __future__ import annotations

import functools
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading

import pytest

pytestmark = pytest.mark.integration

ALL = r'''# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS base
LABEL maintainer.name="me" version=1.0
MAINTAINER someone@example.com
ENV GREETING="hello world" \
    APP=/app
ARG WHO=nobody
WORKDIR $APP
COPY hello.txt ./
ADD data.tar /opt/data/
COPY --chmod=755 --chown=1:2 run.sh /usr/local/bin/run.sh
RUN echo "built by $WHO" > built.txt && echo step-output
EXPOSE 8080 9000/udp
VOLUME ["/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD test -f /app/hello.txt
SHELL ["/bin/sh", "-c"]
ONBUILD RUN echo triggered
USER nobody
ENTRYPOINT ["/usr/local/bin/run.sh"]
CMD ["arg1"]
'''


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def ctx(tmp_path):
    d = tmp_path / "ctx"
    d.mkdir()
    return d


def test_every_instruction(hithe, ctx):
    (ctx / "Dockerfile").write_text(ALL)
    (ctx / "hello.txt").write_text("hi from context\n")
    (ctx / "run.sh").write_text('#!/bin/sh\necho "$GREETING from $(pwd) as $(id -u) with $*"; cat built.txt\n')
    (ctx / "data.tar").write_bytes(_tar({"inner/a.txt": b"A\n"}))
    r = hithe("build", "-t", "every:1", "--build-arg", "WHO=tester", str(ctx))
    assert r.rc == 0, r.out + r.err
    assert r.out.startswith("Sending build context to Docker daemon  ")
    assert "Step 1/20 : ARG BASE=busybox\n" in r.out
    assert "Step 2/20 : FROM ${BASE} AS base\n" in r.out
    assert " ---> Running in " in r.out and "step-output\n" in r.out
    assert "Removing intermediate container " in r.out
    assert "Successfully built " in r.out and r.out.endswith("Successfully tagged every:1\n")
    run = hithe("run", "--rm", "every:1")
    assert run.out == "hello world from /app as 65534 with arg1\nbuilt by tester\n", run.err
    assert hithe("run", "--rm", "--entrypoint", "cat", "every:1", "/opt/data/inner/a.txt").out == "A\n"
    st = hithe("run", "--rm", "--entrypoint", "stat", "every:1", "-c", "%a %u %g", "/usr/local/bin/run.sh").out
    assert st == "755 1 2\n"
    assert hithe("run", "--rm", "--entrypoint", "stat", "every:1", "-c", "%u", "/app/hello.txt").out == "0\n"
    doc = json.loads(hithe("image", "inspect", "every:1").out)[0]
    cfg = doc["Config"]
    assert cfg["Entrypoint"] == ["/usr/local/bin/run.sh"] and cfg["Cmd"] == ["arg1"]
    assert "GREETING=hello world" in cfg["Env"] and "APP=/app" in cfg["Env"]
    assert cfg["User"] == "nobody" and cfg["WorkingDir"] == "/app"
    assert cfg["Labels"] == {"maintainer.name": "me", "version": "1.0"}
    assert set(cfg["ExposedPorts"]) == {"8080/tcp", "9000/udp"}
    assert cfg["Volumes"] == {"/data": {}} and cfg["StopSignal"] == "SIGINT"
    assert cfg["OnBuild"] == ["RUN echo triggered"]
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "test -f /app/hello.txt"], "Interval": 5_000_000_000,
                                  "Timeout": 2_000_000_000, "Retries": 3}
    assert doc["Author"] == "someone@example.com"
    hist = json.loads(hithe("history", "--format", "{{json .}}", "--no-trunc", "every:1").out.splitlines()[0])
    assert "CMD" in hist["CreatedBy"]
    full = hithe("history", "--no-trunc", "every:1").out
    assert "/bin/sh -c #(nop)  ENV GREETING=hello world APP=/app" in full
    assert "|1 WHO=tester /bin/sh -c echo" in full
    assert "COPY file:" in full
    # ONBUILD: triggers run when the image is used as a base
    (ctx / "Dockerfile").write_text("FROM every:1\nUSER root\n")
    r = hithe("build", "-t", "child:1", str(ctx))
    assert r.rc == 0, r.out + r.err
    assert "# Executing 1 build trigger\n" in r.out and "triggered\n" in r.out
    assert json.loads(hithe("image", "inspect", "child:1").out)[0]["Config"]["OnBuild"] is None


def test_cache_and_invalidation(hithe, ctx):
    (ctx / "Dockerfile").write_text("FROM busybox\nENV A=1\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt\n"
                                    "CMD [\"cat\", \"/b.txt\"]\n")
    (ctx / "a.txt").write_text("one\n")
    first = hithe("build", "-t", "cached:1", str(ctx))
    assert first.rc == 0, first.err
    second = hithe("build", "-t", "cached:1", str(ctx))
    assert second.out.count(" ---> Using cache\n") == 4, second.out
    assert first.out.splitlines()[-2] == second.out.splitlines()[-2]   # same image ID
    (ctx / "a.txt").write_text("two\n")
    third = hithe("build", "-t", "cached:1", str(ctx))
    assert third.out.count(" ---> Using cache\n") == 1, third.out   # ENV only; COPY on is rebuilt
    assert hithe("run", "--rm", "cached:1").out == "two\n"
    nocache = hithe("build", "--no-cache", "-t", "cached:1", str(ctx))
    assert "Using cache" not in nocache.out


def test_multistage_target_and_from(hithe, ctx):
    (ctx / "Dockerfile").write_text(
        "FROM busybox AS build\nRUN mkdir /out && echo compiled > /out/app\n"
        "FROM busybox AS other\nRUN echo other > /other\n"
        "FROM scratch\nCOPY --from=build /out/app /app\nCOPY --from=1 /other /other\n"
        "COPY --from=busybox /bin/busybox /bin/busybox\nCMD [\"/bin/busybox\", \"cat\", \"/app\", \"/other\"]\n")
    r = hithe("build", "-t", "multi:1", str(ctx))
    assert r.rc == 0, r.out + r.err
    assert "Step 5/9 : FROM scratch\n ---> \n" in r.out
    assert hithe("run", "--rm", "multi:1").out == "compiled\nother\n"
    r = hithe("build", "--target", "other", "-t", "multi:other", str(ctx))
    assert r.rc == 0 and "Step 4/4" in r.out and "FROM scratch" not in r.out
    assert hithe("run", "--rm", "multi:other", "cat", "/other").out == "other\n"
    assert "build" not in hithe("images", "--format", "{{.Repository}}").out.split()
    bad = hithe("build", "--target", "nope", str(ctx))
    assert bad.rc == 1 and "failed to reach build target nope in Dockerfile" in bad.err


def test_build_args_and_unused_warning(hithe, ctx):
    (ctx / "Dockerfile").write_text("ARG TAG=latest\nFROM busybox:$TAG\nARG V=default\nARG TAG\n"
                                    "RUN echo \"v=$V tag=$TAG\" > /v\nCMD [\"cat\", \"/v\"]\n")
    r = hithe("build", "-t", "args:1", "--build-arg", "V=given", "--build-arg", "UNUSED=x", str(ctx))
    assert r.rc == 0, r.err
    assert "[Warning] One or more build-args [UNUSED] were not consumed\n" in r.out
    assert hithe("run", "--rm", "args:1").out == "v=given tag=latest\n"
    assert "V=" not in "".join(json.loads(hithe("image", "inspect", "args:1").out)[0]["Config"]["Env"])


def test_dockerfile_outside_context_and_dockerignore(hithe, tmp_path, ctx):
    (ctx / "keep.txt").write_text("kept\n")
    (ctx / "secret.key").write_text("s\n")
    (ctx / "logs").mkdir()
    (ctx / "logs" / "a.log").write_text("x")
    (ctx / "logs" / "important.log").write_text("y")
    (ctx / ".dockerignore").write_text("# comment\n*.key\nlogs/*.log\n!logs/important.log\n/Dockerfile\n")
    df = tmp_path / "elsewhere.Dockerfile"
    df.write_text("FROM busybox\nCOPY . /ctx/\nCMD [\"find\", \"/ctx\"]\n")
    r = hithe("build", "-f", str(df), "-t", "ign:1", str(ctx))
    assert r.rc == 0, r.out + r.err
    found = set(hithe("run", "--rm", "ign:1").out.split())
    assert "/ctx/keep.txt" in found and "/ctx/logs/important.log" in found
    assert "/ctx/secret.key" not in found and "/ctx/logs/a.log" not in found
    miss = hithe("build", "-f", str(df), str(ctx / "nowhere"))
    assert miss.rc == 1


def test_failing_run(hithe, ctx, api):
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo before && exit 3\n")
    before = len(api.containers(all=True))
    r = hithe("build", str(ctx))
    assert r.rc == 1
    assert "before\n" in r.out
    assert r.err.strip() == "The command '/bin/sh -c echo before && exit 3' returned a non-zero code: 3"
    assert len(api.containers(all=True)) == before


def test_parse_errors(hithe, ctx):
    (ctx / "Dockerfile").write_text("FROM busybox\n\nFOO bar\n")
    r = hithe("build", str(ctx))
    assert r.rc == 1 and "dockerfile parse error on line 3: unknown instruction: FOO" in r.err
    (ctx / "Dockerfile").write_text("FROM nosuchimage-hithe-test\n")
    r = hithe("build", str(ctx))
    assert r.rc == 1 and r.err.strip()


def test_heredocs_and_escape_directive(hithe, ctx):
    (ctx / "Dockerfile").write_text(
        "# escape=`\nFROM busybox\nENV NAME=world\n"
        "RUN <<EOF\necho one > /one\necho two >> /one\nEOF\n"
        "COPY <<EOT /greeting\nhello $NAME\nEOT\n"
        "RUN echo a `\n    b > /ab\n"
        "CMD cat /one /greeting /ab\n")
    r = hithe("build", "-t", "heredoc:1", str(ctx))
    assert r.rc == 0, r.out + r.err
    assert hithe("run", "--rm", "heredoc:1").out == "one\ntwo\nhello world\na b\n"


def test_hostile_contexts(hithe, ctx, api, daemon):
    # a symlink in the context pointing at a host file: COPY must not read the host's file
    (ctx / "link").symlink_to("/etc/hostname")
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY link /got\n")
    r = hithe("build", str(ctx))
    assert r.rc == 1 and "file not found in build context" in r.err, r.out + r.err
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY ../../etc/passwd /got\n")
    r = hithe("build", str(ctx))
    assert r.rc == 1 and "outside the build context" in r.err
    # a context tar with ../ entries: refused, nothing written outside
    body = _tar({"Dockerfile": b"FROM busybox\n", "../../../tmp/hithe-build-escape": b"x"})
    with pytest.raises(Exception) as e:
        list(api.build(fileobj=io.BytesIO(body), custom_context=True, decode=True))
    assert not os.path.exists("/tmp/hithe-build-escape")
    assert "tar" in str(e.value) or "path" in str(e.value) or "400" in str(e.value)
    tmp = os.path.join(daemon.root, "data", "tmp")
    leftovers = [n for n in os.listdir(tmp) if n.startswith(("build-", "ws-"))] if os.path.isdir(tmp) else []
    assert leftovers == []


def test_add_url(hithe, ctx, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "file.txt").write_text("from http\n")
    os.utime(site / "file.txt", (1_600_000_000, 1_600_000_000))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/file.txt"
        (ctx / "Dockerfile").write_text(f"FROM busybox\nADD {url} /dl/\n")
        r = hithe("build", "-t", "addurl:1", str(ctx))
        assert r.rc == 0, r.out + r.err
        out = hithe("run", "--rm", "addurl:1", "stat", "-c", "%a %Y", "/dl/file.txt").out
        assert out == "600 1600000000\n"
        assert hithe("run", "--rm", "addurl:1", "cat", "/dl/file.txt").out == "from http\n"
    finally:
        srv.shutdown()


def test_stdin_dockerfile_and_quiet(hithe):
    r = hithe("build", "-q", "-t", "stdin:1", "-", input="FROM busybox\nCMD [\"echo\", \"from stdin\"]\n")
    assert r.rc == 0, r.err
    assert r.out.startswith("sha256:") and len(r.out.strip()) == 71
    assert hithe("run", "--rm", "stdin:1").out == "from stdin\n"


def test_tutorial_example(hithe, ctx, daemon):
    """The tutorial's chapter 2.5 with a busybox base: FROM + RUN writing a page, and the
    FROM scratch / WORKDIR / COPY app . example built with -f Dockerfile.one."""
    (ctx / "Dockerfile").write_text("FROM busybox\n"
                                    "RUN mkdir -p /usr/share/nginx/html && "
                                    "echo '<h1>Hello, Docker!</h1>' > /usr/share/nginx/html/index.html\n")
    r = hithe("build", "-t", "nginx:v3", str(ctx))
    assert r.rc == 0, r.out + r.err
    assert hithe("run", "--rm", "nginx:v3", "cat", "/usr/share/nginx/html/index.html").out == "<h1>Hello, Docker!</h1>\n"
    shutil.copy("/bin/busybox", ctx / "app")
    (ctx / "Dockerfile.one").write_text("FROM scratch\n\nWORKDIR /go/src/github.com/go/helloworld/\n\nCOPY app .\n\n"
                                        "WORKDIR /go/src/github.com/go/helloworld/\n\nCMD [\"/app\"]\n")
    r = hithe("build", "-t", "go/helloworld:2", "-f", str(ctx / "Dockerfile.one"), str(ctx))
    assert r.rc == 0, r.out + r.err
    assert "Step 1/5 : FROM scratch\n ---> \n" in r.out and "Successfully tagged go/helloworld:2\n" in r.out
    r = hithe("build", "-t", "go/helloworld:2", "-f", str(ctx / "Dockerfile.one"), str(ctx))
    assert r.out.count("Using cache") == 4
    doc = json.loads(hithe("image", "inspect", "go/helloworld:2").out)[0]
    assert doc["Config"]["WorkingDir"] == "/go/src/github.com/go/helloworld" and doc["Config"]["Cmd"] == ["/app"]
    cid = hithe("create", "go/helloworld:2").out.strip()
    names = tarfile.open(fileobj=io.BytesIO(subprocess.run(
        [sys.executable, "-m", "hithe.cli.main", "export", cid], capture_output=True, env=daemon.env).stdout)).getnames()
    hithe("rm", cid)
    assert "go/src/github.com/go/helloworld/app" in names


def test_docker_py_build(daemon, busybox, ctx):
    import docker
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo py > /py\nCMD [\"cat\", \"/py\"]\n")
    client = docker.DockerClient(base_url=daemon.host, version="auto", timeout=120)
    img, logs = client.images.build(path=str(ctx), tag="pybuilt:1")
    assert "pybuilt:1" in img.tags
    assert any("Successfully built" in (l.get("stream") or "") for l in logs)
    assert client.containers.run("pybuilt:1", remove=True) == b"py\n"
    with pytest.raises(docker.errors.BuildError) as e:
        (ctx / "Dockerfile").write_text("FROM busybox\nRUN exit 4\n")
        client.images.build(path=str(ctx))
    assert "returned a non-zero code: 4" in str(e.value)


@pytest.mark.skipif(not shutil.which("docker"), reason="needs the docker CLI")
def test_docker_cli_build(daemon, busybox, ctx):
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY f /f\nRUN cat /f\nCMD [\"cat\", \"/f\"]\n")
    (ctx / "f").write_text("docker cli\n")
    env = {**daemon.env, "DOCKER_BUILDKIT": "0", "DOCKER_CONFIG": str(ctx.parent / "dcfg")}
    r = subprocess.run(["docker", "build", "-t", "dockercli:1", str(ctx)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Step 3/4 : RUN cat /f" in r.stdout and "docker cli\n" in r.stdout
    assert "Successfully tagged dockercli:1" in r.stdout
    r = subprocess.run(["docker", "run", "--rm", "dockercli:1"], capture_output=True, text=True, env=env, timeout=60)
    assert r.stdout == "docker cli\n"
