"""Property tests of the trace-log parser (hypothesis).

- the explicit event checks agree with jsonschema on valid and invalid events;
- a whole log parses like a plain line-by-line reference (orjson + jsonschema), whatever the block
  size, so the regex fast path and the numpy value reading never disagree with the schema;
- random bytes never crash the parser and every line is accounted for;
- id matching agrees with a per-id reference (k-th ALLOCATE pairs with k-th DROP).
"""
from __future__ import annotations

import json
import random
from collections import defaultdict

import jsonschema
import numpy as np
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.parse import parse_bytes
from analysis.parse.events import INT64_MAX, STORED_INTS, check_event
from analysis.parse.swar import PAD, parse_uints, word_view
from analysis.common.paths import schema_path

EVENT_SCHEMA = jsonschema.Draft202012Validator(json.loads(schema_path("trace-event").read_text()))
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = {
    "ALLOCATE": ["size", "type", "id", "site", "tid", "ptr"],
    "DROP": ["size", "type", "id", "freed", "how", "tid"],
    "SITE": ["site", "js", "rust", "alloc_fn", "stack"],
    "SNAPSHOT": ["iteration", "phase", "memory_bytes", "live_heap_bytes", "live_blocks", "tracked_live_objects",
                 "tracked_live_bytes", "alloc_calls", "free_calls"],
    "SITE_LIVE": ["iteration", "site", "bytes", "blocks", "owned_bytes"],
    "META": ["route", "o1js"],
}
REQUIRED = {"ALLOCATE": ("size", "type", "id"), "DROP": ("size", "type", "id"), "SITE": ("site",),
            "SNAPSHOT": ("iteration", "phase", "memory_bytes", "live_heap_bytes", "live_blocks"),
            "SITE_LIVE": ("iteration", "site", "bytes", "blocks")}
TYPE_NAMES = ["WasmFpPolyComm", "T", "k::P<F,G>", "Wasmé", "a b", "", "x\n", 'q"', "tab\t", "\u00a0", "@{}", "\\"]

good_int = st.integers(min_value=0, max_value=10**6)
any_int = st.one_of(good_int, st.integers(min_value=-3, max_value=3), st.integers(min_value=2**62, max_value=2**65),
                    st.sampled_from([10**17, 10**18 - 1, 10**18, INT64_MAX, INT64_MAX + 1]))
any_value = st.one_of(
    any_int, st.booleans(), st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=32), st.sampled_from([0.0, 3.0, -1.0, 2.5, 1e20]),
    st.sampled_from(TYPE_NAMES + ["free", "finalizer", "consumed", "rust", "unknown", "gc"]),
    st.text(max_size=6), st.lists(st.text(max_size=3), max_size=2),
    st.lists(st.one_of(st.text(max_size=2), good_int, st.none()), min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=2), good_int, max_size=1),
)


@st.composite
def valid_value(draw, key: str):
    """A value the schema accepts for this key (edges included)."""
    if key == "type":
        return draw(st.sampled_from(["WasmFpPolyComm", "T", "k::P<F,G>", "Wasmé", "x\n", "@{}", "\\"]))
    if key == "how":
        return draw(st.sampled_from(["free", "finalizer", "consumed", "rust", "unknown"]))
    if key in ("js", "rust", "alloc_fn"):
        return draw(st.one_of(st.text(max_size=8), st.none()))
    if key in ("phase", "route", "o1js"):
        return draw(st.text(max_size=8))
    if key == "stack":
        return draw(st.lists(st.text(max_size=4), max_size=3))
    if key == "iteration":
        return draw(st.one_of(st.integers(-1, 20), st.just(-1.0)))
    return draw(st.one_of(good_int, st.sampled_from([0, 3.0, INT64_MAX, INT64_MAX + 1, 2**64])))


def wrong_value(key: str):
    """A value close to valid that the schema rejects for this key (or may, for 'type')."""
    if key == "type":
        return st.sampled_from(["a b", "", 'q"', "tab\t", "\u00a0x", 5, None])
    if key == "how":
        return st.sampled_from(["gc", "Free", "", None, 1])
    if key in ("js", "rust", "alloc_fn"):
        return st.sampled_from([1, [], {}, True])
    if key in ("phase", "route"):
        return st.sampled_from([None, 1, []])
    if key == "stack":
        return st.sampled_from([[1], ["a", None], "a", None, [["a"]]])
    if key == "iteration":
        return st.sampled_from([-2, -1.5, True, "0", None])
    return st.sampled_from([-1, True, False, 1.5, "1", None, [1], 2.0**70])


def plausible_value(key: str):
    """Mostly valid for this key, sometimes anything."""
    return st.one_of(valid_value(key), valid_value(key), valid_value(key), any_value)


@st.composite
def events(draw):
    """Events near the schema's boundary: a valid one, then zero or more small corruptions."""
    if draw(st.integers(0, 40)) == 0:
        return draw(any_value)  # not an object at all
    kind = draw(st.sampled_from(list(KEYS) + ["FREE"]))
    keys = KEYS.get(kind, ["size"])
    obj = {"ev": kind}
    for k in keys:
        if draw(st.integers(0, 9 if k in REQUIRED.get(kind, ()) else 1)):
            obj[k] = draw(valid_value(k))
    for _ in range(draw(st.integers(0, 2))):
        how = draw(st.integers(0, 3)) if obj else 2
        if how == 0:  # one value of the wrong kind
            key = draw(st.sampled_from(list(obj)))
            obj[key] = draw(st.one_of(any_value, wrong_value(key)))
        elif how == 1:  # a key missing
            obj.pop(draw(st.sampled_from(list(obj))))
        elif how == 2:  # a key of another event, or unknown
            obj[draw(st.sampled_from(["extra", "site", "how", "ptr", "freed", "tid", "bytes"]))] = draw(any_value)
        elif obj:  # another key order
            items = list(obj.items())
            draw(st.randoms()).shuffle(items)
            obj = dict(items)
    return obj


def beyond_int64(obj) -> bool:
    return any(k in obj and obj[k] > INT64_MAX for k in STORED_INTS.get(obj.get("ev"), ()))


@settings(max_examples=2000, deadline=None)
@given(events())
def test_explicit_checks_agree_with_jsonschema(obj):
    ours = check_event(obj)
    theirs = EVENT_SCHEMA.is_valid(obj)
    if theirs and beyond_int64(obj):  # the parser's one documented limit beyond the schema
        assert ours is not None and "range" in ours
    else:
        assert (ours is None) == theirs, (obj, ours)


# --- whole logs against a line-by-line reference ---------------------------------------------------

def reference(data: bytes):
    """Plain per-line parse: orjson + jsonschema. -> accounting, events, ALLOCATE/DROP rows, bad lines."""
    lines = data.split(b"\n")
    unterminated = lines[-1] != b""
    if not unterminated:
        lines.pop()
    out = {"noise": 0, "events": defaultdict(int), "alloc": [], "drop": [], "malformed": [], "truncated": []}
    for n, text in enumerate(lines, 1):
        if not text.startswith(b"@"):
            out["noise"] += 1
            continue
        try:
            obj = orjson.loads(text[1:])
        except orjson.JSONDecodeError:
            out["truncated" if unterminated and n == len(lines) else "malformed"].append(n)
            continue
        if not EVENT_SCHEMA.is_valid(obj) or beyond_int64(obj):
            out["malformed"].append(n)
            continue
        ev = obj["ev"]
        out["events"][ev] += 1
        if ev == "ALLOCATE":
            out["alloc"].append((n, int(obj["id"]), int(obj["size"]), obj["type"], int(obj.get("site", -1))))
        elif ev == "DROP":
            out["drop"].append((n, int(obj["id"]), int(obj["size"]), obj["type"]))
    out["total"] = len(lines)
    return out


def mutate(text: str, rnd: random.Random) -> str:
    i = rnd.randrange(len(text) + 1)
    op = rnd.randrange(5)
    if op == 0:
        return text[:i] + " " + text[i:]
    if op == 1:
        return text[:i] + text[i + 1:]
    if op == 2:
        return text[:i] + rnd.choice('0123456789,:"{}\\@-.e') + text[i:]
    if op == 3:  # a leading zero or sign before some value
        colons = [k for k, c in enumerate(text) if c == ":"] or [0]
        k = rnd.choice(colons) + 1
        return text[:k] + rnd.choice(["0", "-", "00", "+", "1"]) + text[k:]
    return text[:i]


TAIL_ORDERS = [["site", "tid", "ptr"], ["freed", "how", "tid"], ["site", "freed", "how", "tid", "ptr"],
               ["tid", "ptr", "site"], ["how", "freed", "tid", "ptr"]]


@st.composite
def canonical_line(draw):
    """An ALLOCATE/DROP line in the tracers' compact form, mostly valid, with the near misses the
    fast path must reject: another kind's tail keys, wrong order, leading zeros, 19 digits."""
    kind = draw(st.sampled_from(["ALLOCATE", "DROP"]))
    edge = st.sampled_from([0, 10**17, 10**18 - 1, 10**18, INT64_MAX, INT64_MAX + 1, 2**64])
    small = st.integers(0, 10**6)
    number = st.one_of(small, small, small, st.integers(0, 10**18 - 1), edge)
    obj = {"ev": kind, "size": draw(number), "type": draw(st.sampled_from(TYPE_NAMES[:4] * 6 + TYPE_NAMES[4:])),
           "id": draw(number)}
    order = draw(st.sampled_from([KEYS[kind][3:]] * 4 + TAIL_ORDERS))
    for k in order:
        if draw(st.booleans()):
            obj[k] = draw(st.sampled_from(["free", "rust", "gc"]) if k == "how" else
                          st.one_of(small, small, small, valid_value(k), wrong_value(k)))
    text = "@" + json.dumps(obj, separators=(",", ":"), ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 5)) == 0:  # a leading zero or sign on one number
        key = draw(st.sampled_from(["size", "id", "site", "tid", "ptr", "freed"]))
        text = text.replace(f'"{key}":', f'"{key}":' + draw(st.sampled_from(["0", "00", "-", "1"])), 1)
    return text


@st.composite
def log_lines(draw):
    rnd = draw(st.randoms(use_true_random=False))
    out = []
    for _ in range(draw(st.integers(0, 40))):
        pick = draw(st.integers(0, 9))
        if pick == 0:
            out.append(draw(st.text(max_size=12)).replace("\n", " ").lstrip("@"))
        elif pick <= 6:  # canonical lines as the tracers write them, or nearly
            out.append(draw(canonical_line()))
        else:
            obj = draw(events())
            out.append("@" + json.dumps(obj, separators=(",", ":"), ensure_ascii=draw(st.booleans())))
        if draw(st.integers(0, 4)) == 0:
            out[-1] = mutate(out[-1], rnd)
        out[-1] = out[-1].replace("\n", "\\n")  # keep one event per line (json.dumps escapes; mutations may not)
    return out


@FUZZ
@given(log_lines(), st.booleans(), st.sampled_from([1, 5, 64, 4096, 1 << 22]))
def test_whole_log_parses_like_the_reference(lines, terminated, block):
    data = "\n".join(lines).encode() + (b"\n" if terminated and lines else b"")
    r = parse_bytes(data, max_examples=10**6, block_bytes=block)
    ref = reference(data)
    assert r.lines_total == ref["total"]
    assert r.noise_lines == ref["noise"]
    assert {k: v for k, v in r.events.items() if v} == dict(ref["events"])
    assert [e.line for e in r.checks["malformed_lines"].examples] == ref["malformed"]
    assert [e.line for e in r.checks["truncated_last_line"].examples] == ref["truncated"]
    a = r.allocates
    got = sorted(zip(a["line"].tolist(), a["id"].tolist(), a["size"].tolist(),
                     [r.type_names[t] for t in a["type"]], a["site"].tolist()))
    assert got == ref["alloc"]
    d = r.drops
    got = sorted(zip(d["line"].tolist(), d["id"].tolist(), d["size"].tolist(), [r.type_names[t] for t in d["type"]]))
    assert got == ref["drop"]
    assert r.noise_lines + r.event_lines + r.malformed_lines + r.truncated_lines == r.lines_total


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([1, 3, 64, 1 << 22]))
def test_random_bytes_never_crash_and_every_line_is_counted(data, block):
    r = parse_bytes(data, block_bytes=block)
    expected = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    assert r.lines_total == expected
    assert r.noise_lines + r.event_lines + r.malformed_lines + r.truncated_lines == expected
    r.to_dict()


@FUZZ
@given(st.lists(st.sampled_from([b"@", b"{", b"}", b'"ev":"ALLOCATE"', b'"ev":"DROP"', b'"size":', b'"type":"T"',
                                 b'"id":', b'"site":', b"1", b"0", b"12", b",", b"\n", b"\n@", b" ", b"\r"]),
                max_size=60))
def test_near_canonical_fragments(parts):
    data = b"".join(parts)
    r = parse_bytes(data, max_examples=10**6)
    ref = reference(data)
    assert (r.lines_total, r.noise_lines) == (ref["total"], ref["noise"])
    assert [e.line for e in r.checks["malformed_lines"].examples] == ref["malformed"]
    assert sorted(zip(r.allocates["line"].tolist(), r.allocates["id"].tolist(), r.allocates["size"].tolist())) == \
        [x[:3] for x in ref["alloc"]]


# --- numbers ---------------------------------------------------------------------------------------

@FUZZ
@given(st.lists(st.integers(0, 10**18 - 1), min_size=1, max_size=50), st.sampled_from([b",", b"}", b'"', b"\n"]))
def test_swar_numbers(values, sep):
    text = b""
    starts = []
    for v in values:
        starts.append(len(text))
        text += b"%d" % v + sep
    got, length = parse_uints(word_view(text + PAD), np.array(starts, np.int64))
    assert got.tolist() == values
    assert length.tolist() == [len(str(v)) for v in values]


# --- id matching -----------------------------------------------------------------------------------

@FUZZ
@given(st.lists(st.tuples(st.sampled_from("AD"), st.integers(0, 6), st.sampled_from("XY"), st.integers(1, 3)),
                max_size=40))
def test_matching_agrees_with_a_per_id_reference(rows):
    text = [("@" + json.dumps({"ev": "ALLOCATE" if k == "A" else "DROP", "size": s, "type": t, "id": i},
                              separators=(",", ":"))) for k, i, t, s in rows]
    r = parse_bytes(("\n".join(text) + "\n").encode(), max_examples=10**6)
    allocs, drops = defaultdict(list), defaultdict(list)
    for n, (k, i, t, s) in enumerate(rows, 1):
        (allocs if k == "A" else drops)[i].append((n, t, s))
    never, dup_a, dup_d, orphan, type_mm, size_mm = [], [], [], [], [], []
    for i in set(allocs) | set(drops):
        a, d = allocs[i], drops[i]
        never += [n for n, _, _ in a[len(d):]]
        dup_a += [n for n, _, _ in a[1:]]
        dup_d += [n for n, _, _ in d[1:]]
        if not a:
            orphan += [n for n, _, _ in d]
        for (_, ta, sa), (nd, td, sd) in zip(a, d):
            if ta != td:
                type_mm.append(nd)
            if sa != sd:
                size_mm.append(nd)
    lines = lambda name: [e.line for e in r.checks[name].examples]  # noqa: E731
    assert sorted(r.never_dropped()["line"].tolist()) == sorted(never)
    assert lines("duplicate_allocate_ids") == sorted(dup_a)
    assert lines("duplicate_drop_ids") == sorted(dup_d)
    assert lines("drop_without_allocate") == sorted(orphan)
    assert lines("drop_type_mismatch") == sorted(type_mm)
    assert lines("drop_size_mismatch") == sorted(size_mm)
    n_of = {(k, t): sum(1 for kk, _, tt, _ in rows if (kk, tt) == (k, t)) for k in "AD" for t in "XY"}
    assert r.checks["type_more_drops_than_allocates"].count == sum(1 for t in "XY" if n_of["D", t] > n_of["A", t])
    nd_bytes = {row.type: row.never_dropped_bytes for row in r.types}
    for t in "XY":
        expect = sum(s for n, (k, _, tt, s) in enumerate(rows, 1) if tt == t and n in set(never))
        assert nd_bytes.get(t, 0) == expect
