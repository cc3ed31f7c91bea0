"""Joining P (partial) records at the bytes level, for the block fast path.

conmon ends a record without newline where its 8 KiB read of the pipe ended
mid-line (``P``: ~1 in 100 lines of real logs). Before a block goes through
the F-only conversion, each P line is cut out and the record ending the line
gets the first P's header and the P texts in front of its text (see
``_merge_partials``); lines not finished at the end of a block are held back
by the caller (:class:`hithe.logs.blocks.BlockProcessor`) and go in front of
the next block.
"""
from __future__ import annotations

from operator import itemgetter

from . import k8sfile
from .batch import Payload
from .k8sfile import HEADER_LEN, TS_LEN

# The streams whose P records are looked for, as found in a header.
_NAMES = (b" stdout ", b" stderr ")


def _next_record(block: bytes, name: bytes, pos: int) -> int:
    """Start of the first line at or after ``pos`` (a line start) whose
    header names stream ``name`` (b" stdout "), or -1."""
    if block.startswith(name, pos + TS_LEN):
        return pos
    q = block.find(name, pos + TS_LEN)
    while q != -1 and block[q - TS_LEN - 1] != 0x0A:
        q = block.find(name, q + 1)
    return q if q == -1 else q - TS_LEN


def _merge_partials(block: bytes, names: tuple[bytes, ...] = _NAMES
                    ) -> tuple[bytes, int, int] | None:
    """Join P records with the records that continue them, at the bytes level.

    conmon writes a ``P`` record when a read of the container's pipe ends
    mid-line; the line goes on in that stream's next record, and docker
    shows it once complete, stamped with its first chunk's time. So each P
    line is cut out and the record that ends the line gets the first P's
    header (tag F) and the P texts in front of its own text::

        T1 stdout P ab / T2 stderr F x / T3 stdout F cd
        ->  T2 stderr F x / T1 stdout F abcd

    ``names``: the streams whose P records are looked for (b" stdout ").
    Returns ``(merged, cut, found)``: ``merged`` is ``block[:cut]`` with
    those joined, ``block[cut:]`` the lines from the start of the first line
    not finished in this block on (empty when ``cut == len(block)``);
    ``found`` counts the P records seen. A P record not looked for or not
    found (another UTC offset) stays as it is: the F-only validation that
    follows fails on it. None when a line would reach MAX_PENDING or a
    record is not what conmon writes: per-record decisions needed. Lines
    can move behind later ones, so time bounds must be taken from the block
    as read. Cost: a scan for a 16-byte needle per stream (a fifth of the
    F-only conversion), a few finds per P record and one join.
    """
    find = block.find
    # P records: "+HH:MM stdout P " 29 bytes into a line (a long needle is
    # a fast search), with the first line's UTC offset: one written with
    # another offset is left as it is, and then fails validation later.
    off = block[1 + 29:1 + TS_LEN]
    recs: list[tuple[int, int, bytes]] = []  # (line start, its "\n", stream)
    for name in names:
        needle = off + name + b"P "
        q = find(needle, 30)
        while q != -1:
            if block[q - 30] == 0x0A:
                e = find(b"\n", q + 16)
                recs.append((q - 29, e, name))
                q = find(needle, e + 30)
            else:
                q = find(needle, q + 1)
    recs.sort()
    if not recs:
        return block, len(block), 0
    mv = memoryview(block)
    max_pending = k8sfile.MAX_PENDING
    # A chain: [first line start, texts, size, start of the F line ending it].
    chains: list[list] = []
    open_: dict[bytes, list] = {}
    expect: dict[bytes, int] = {}  # where a chain's next P record must be
    for s, e, name in recs:
        ch = open_.get(name)
        if ch is None:
            ch = [s, [], 0, -1]
            chains.append(ch)
        elif expect.pop(name, -1) != s:
            return None
        ch[1].append(mv[s + HEADER_LEN:e])
        ch[2] += e - s - HEADER_LEN
        if ch[2] >= max_pending:
            return None
        c = _next_record(block, name, e + 1)
        if c == -1:  # goes on after this block
            open_[name] = ch
            continue
        tag = block[c + TS_LEN + 8:c + HEADER_LEN]
        if tag == b"P ":
            open_[name] = ch
            expect[name] = c
        elif tag == b"F ":
            ch[3] = c
            open_.pop(name, None)
        else:
            return None
    if expect:  # a P record the search did not see (another UTC offset)
        return None
    # Hold back lines not finished here, and any line ending among them.
    cut = len(block)
    moved = True
    while moved:
        moved = False
        for ch in chains:
            if ch[0] < cut and not 0 <= ch[3] < cut:
                cut = ch[0]
                moved = True
    # Edits in block order: (start, stop, bytes to put instead).
    edits: list[tuple[int, int, list]] = []
    for s, e, _ in recs:
        if s < cut:
            edits.append((s, e + 1, []))
    for first, texts, _, c in chains:
        if first < cut:
            edits.append((c, c + HEADER_LEN, [mv[first:first + HEADER_LEN - 2], b"F ", *texts]))
    edits.sort(key=itemgetter(0))
    pieces: list[Payload] = []
    add, more = pieces.append, pieces.extend
    prev = 0
    for start, stop, ins in edits:
        add(mv[prev:start])
        more(ins)
        prev = stop
    add(mv[prev:cut])
    return b"".join(pieces), cut, len(recs)
