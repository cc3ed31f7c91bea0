"""Images with local parents (builds, commits), as Docker keeps them: the intermediate images
are hidden from `images` but listed by `images -a`, survive `image prune` (they are the build
cache), go away with the image they lead to, and cannot be deleted while a child needs them."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def _build(hithe, ctx, tag: str) -> str:
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo one > /one\nRUN echo two > /two\nCMD [\"cat\", \"/two\"]\n")
    r = hithe("build", "-q", "-t", tag, str(ctx))
    assert r.rc == 0, r.err
    return r.out.strip()


def test_intermediates_hidden_kept_by_prune_removed_with_the_image(hithe, busybox, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    final = _build(hithe, ctx, "parents/app:1")
    hist = hithe("history", "-q", "--no-trunc", "parents/app:1").out.split()
    parents = [h for h in hist[1:] if h != "<missing>"]
    assert len(parents) >= 2  # the RUN steps' images, then busybox
    intermediate = parents[0]
    shown = hithe("images", "-q", "--no-trunc").out.split()
    everything = hithe("images", "-aq", "--no-trunc").out.split()
    assert final in shown and intermediate not in shown and intermediate in everything
    assert intermediate not in hithe("images", "-q", "--no-trunc", "-f", "dangling=true").out.split()

    r = hithe("rmi", intermediate)
    assert r.rc == 1 and "image has dependent child images" in r.err

    assert hithe("image", "prune", "-f").rc == 0
    assert intermediate in hithe("images", "-aq", "--no-trunc").out.split()
    again = hithe("build", "-t", "parents/app:1", str(ctx))
    assert again.rc == 0 and "Using cache" in again.out

    r = hithe("rmi", "parents/app:1")
    assert r.rc == 0 and "Deleted: " + intermediate in r.out
    left = hithe("images", "-aq", "--no-trunc").out.split()
    assert final not in left and intermediate not in left
    assert hithe("run", "--rm", "busybox", "true").rc == 0  # the tagged base stays
