"""Code similarity across a class: which pairs of submissions are near copies.

Each graded function's source (read with `ast` from the canonical submission, never run) becomes
a set of winnowing fingerprints (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for
document fingerprinting", the method of MOSS and of copydetect): the source is tokenised with
the standard library, local names, strings and comments are normalised away (renaming variables
or rewording comments changes nothing), every K consecutive tokens are hashed, and of every W
consecutive hashes the smallest is kept. Any run of W + K - 1 tokens two sources share gives them
a fingerprint in common. The starter code's fingerprints (the stubs' signatures and docstrings)
are removed first.

Two submissions' similarity is the Jaccard index of their fingerprints over all graded functions
(a fingerprint of softmax only matches softmax); a pair is listed when it reaches the threshold
and shares at least `min_shared` fingerprints (so two nearly empty submissions are not "copies").
Fingerprints are made where each submission is graded (a worker, in parallel; kept in the cache
with the report), so the class-wide step is only the comparison: each submission's fingerprints
that at least one other submission has are a bitset (a Python int), and a pair's shared count is
the popcount of the two bitsets' AND: 45,000 pairs (a class of 300) in a few tens of milliseconds,
without numpy (a cached re-run never imports it).
"""

from __future__ import annotations

import ast
import io
import itertools
import keyword
import tempfile
import tokenize
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path


K, W = 8, 6            # tokens per hash, hashes per window: shared runs of 13+ tokens are found
MAX_SOURCE = 20_000    # characters of one function's source kept (a longer one is cut)

_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)  # Python 3.12+ tokenises f-strings
_DROP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
         tokenize.ENCODING, tokenize.ENDMARKER}


@dataclass(frozen=True)
class Pair:
    """Two submissions (by their keys) that look alike: overall and per function (Jaccard)."""

    a: str
    b: str
    score: float
    shared: int
    functions: dict[str, float] = field(default_factory=dict)  # (see similar_pairs' `detailed`)


def function_sources(folder: Path, course) -> dict[str, str]:
    """qualname -> the source of each graded function defined at the top of a module in `folder`
    (its part module, else any module there, as a notebook's are)."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            continue
        lines = text.splitlines(keepends=True)  # once: ast.get_source_segment splits per call
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                source = "".join(lines[node.lineno - 1:node.end_lineno])
                found.setdefault(path.stem, {})[node.name] = source[:MAX_SOURCE]
    sources = {}
    for f in course.functions:
        own = found.get(f.module, {}).get(f.name)
        other = next((defs[f.name] for defs in found.values() if f.name in defs), None)
        if own or other:
            sources[f.qualname] = own or other
    return sources


def submission_sources(path: Path, course) -> dict[str, str]:
    """function_sources of the submission at `path`, loaded (not run) the way grading loads it."""
    from autograder.load import load_submission

    with tempfile.TemporaryDirectory(prefix="nlm-sources-") as tmp:
        submission = load_submission(Path(path), Path(tmp), course)
        return function_sources(submission.folder, course) if submission.kind != "rejected" else {}


def tokens(source: str) -> list[str]:
    """The source's tokens with local names as "V", strings as "S" and comments dropped
    (keywords, operators, numbers and attribute names after "." are kept)."""
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _DROP:
                continue
            if tok.type == tokenize.NAME and not keyword.iskeyword(tok.string):
                out.append(tok.string if out and out[-1] == "." else "V")
            elif tok.type == tokenize.STRING or tok.type == _FSTRING_START:
                out.append("S")
            else:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # what was read so far still counts
    return out


def fingerprints(source: str) -> set[int]:
    """The winnowed hashes of the source's K-token runs (all of them when there are fewer than W)."""
    toks = tokens(source)
    hashes = [zlib.crc32("\x1f".join(toks[i:i + K]).encode()) for i in range(len(toks) - K + 1)]
    if len(hashes) <= W:
        return set(hashes)
    return {min(hashes[i:i + W]) for i in range(len(hashes) - W + 1)}


def function_fingerprints(sources: dict[str, str]) -> dict[str, list[int]]:
    """qualname -> the sorted fingerprints of that function's source (plain data: sent, cached)."""
    return {function: sorted(fingerprints(source)) for function, source in sources.items()}


def class_fingerprints(prints: dict[str, dict[str, list[int]]], starter: dict[str, list[int]]) -> dict[str, set[int]]:
    """key -> its fingerprints over every function, as (function, hash) ids, without the starter's."""
    order: dict[str, int] = {}
    result = {}
    starter_sets = {f: set(p) for f, p in starter.items()}
    for key, functions in prints.items():
        combined: set[int] = set()
        for function, hashes in functions.items():
            index = order.setdefault(function, len(order))
            combined |= {index << 32 | h for h in hashes if h not in starter_sets.get(function, ())}
        result[key] = combined
    return result


def similar_pairs(prints: dict[str, dict[str, list[int]]], starter: dict[str, list[int]], threshold: float,
                  min_shared: int, detailed: int | None = None) -> list[Pair]:
    """Every pair of submissions at least `threshold` alike sharing `min_shared` fingerprints,
    most alike first. `prints`: submission key -> qualname -> its function_fingerprints. The
    per-function scores are worked out for the `detailed` most alike pairs (None: all), the ones
    a reader is shown side by side."""
    combined = class_fingerprints(prints, starter)
    keys = sorted(k for k, p in combined.items() if p)
    counts: dict[int, int] = {}
    for key in keys:
        for h in combined[key]:
            counts[h] = counts.get(h, 0) + 1
    columns = {h: i for i, h in enumerate(h for h, n in counts.items() if n > 1)}
    bits = [bitset(columns[h] for h in combined[key] if h in columns) for key in keys]
    pairs = []
    for i, j in itertools.combinations(range(len(keys)), 2):
        shared = (bits[i] & bits[j]).bit_count()
        union = len(combined[keys[i]]) + len(combined[keys[j]]) - shared
        if shared and shared >= min_shared and shared / union >= threshold:  # sharing nothing is never alike
            pairs.append(Pair(keys[i], keys[j], round(shared / union, 4), shared))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    shown = len(pairs) if detailed is None else detailed
    own = {key: own_fingerprints(prints[key], starter) for key in {k for p in pairs[:shown] for k in (p.a, p.b)}}
    return [replace(p, functions=per_function(own[p.a], own[p.b])) for p in pairs[:shown]] + pairs[shown:]


def bitset(positions: Iterable[int]) -> int:
    """The int whose set bits are `positions`."""
    positions = list(positions)
    mask = bytearray(max(positions, default=0) // 8 + 1)
    for position in positions:
        mask[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(mask, "little")


def own_fingerprints(prints: dict[str, list[int]], starter: dict[str, list[int]]) -> dict[str, set[int]]:
    """qualname -> the function's fingerprints that the starter code does not have (once per
    submission, not once per pair)."""
    return {function: set(hashes) - set(starter.get(function, ())) for function, hashes in prints.items()}


def per_function(a: dict[str, set[int]], b: dict[str, set[int]]) -> dict[str, float]:
    """qualname -> Jaccard index of two submissions' own fingerprints of each function both define."""
    result = {}
    for function in a.keys() & b.keys():
        pa, pb = a[function], b[function]
        if pa or pb:
            result[function] = round(len(pa & pb) / len(pa | pb), 4)
    return dict(sorted(result.items(), key=lambda kv: -kv[1]))
