"""docker history: each step that made a layer shows that layer's size, metadata steps 0 B."""
from __future__ import annotations

from hithe.images.record import Image
from hithe.images.render import history


def _img(hist: list[dict], size: int = 0) -> Image:
    return Image(id="sha256:" + "a" * 64, config={"history": hist}, top_layer=None, size=size,
                 repo_tags=["x:latest"], repo_digests=[], created=0.0)


def test_sizes_follow_layers_and_skip_empty_entries():
    hist = [{"created_by": "import", "created": "2024-01-01T00:00:00Z"},
            {"created_by": "WORKDIR /w", "empty_layer": True},
            {"created_by": "RUN echo hi > f", "comment": "c"},
            {"created_by": "CMD [\"sh\"]", "empty_layer": True}]
    out = history(_img(hist), [2_000_000, 1024])
    assert [(h["CreatedBy"], h["Size"]) for h in out] == [
        ('CMD ["sh"]', 0), ("RUN echo hi > f", 1024), ("WORKDIR /w", 0), ("import", 2_000_000)]
    assert out[0]["Id"].startswith("sha256:") and out[1]["Id"] == "<missing>"
    assert out[0]["Tags"] == ["x:latest"] and out[1]["Tags"] is None


def test_single_entry_without_layer_sizes_uses_image_size():
    assert history(_img([{"created_by": "import"}], size=42))[0]["Size"] == 42


def test_local_parents_show_their_ids():
    base = _img([{"created_by": "import"}])
    base.id, base.repo_tags = "sha256:" + "b" * 64, ["busybox:latest"]
    mid = _img([{"created_by": "import"}, {"created_by": "RUN x"}])
    mid.id, mid.repo_tags = "sha256:" + "c" * 64, []
    top = _img([{"created_by": "import"}, {"created_by": "RUN x"}, {"created_by": "CMD y", "empty_layer": True}])
    out = history(top, [10, 20], [mid, base])
    assert [h["Id"][:8] for h in out] == ["sha256:a", "sha256:c", "sha256:b"]
    assert [h["Tags"] for h in out] == [["x:latest"], None, ["busybox:latest"]]
    assert [h["Size"] for h in out] == [0, 20, 10]
