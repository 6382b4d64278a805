"""On-disk cache of road graphs.

Each entry is two files under ``settings.cache_folder / "graphs"``: ``<key>.pickle`` (the
pickled :class:`networkx.MultiDiGraph`) and ``<key>.json`` (a sidecar holding the key, the
cache version, the SHA-256 of the pickle and what was cached). The key is the SHA-256 of the
source identity (file path + size + modification time, or the polygon WKT for online
downloads), the loader parameters and :data:`CACHE_VERSION`.

An entry is used only when its sidecar is readable, names the same key and version, and the
checksum of the pickle matches; otherwise it is logged, deleted and rebuilt. The pickles are
only ever read from this cache folder, which the package itself writes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx

from geoattract import settings
from geoattract._util.io import write_bytes_atomic, write_text_atomic

logger = logging.getLogger(__name__)

#: Bump when the graph model or a loader changes: every older entry becomes stale.
CACHE_VERSION: int = 2

#: Sub-folder of ``settings.cache_folder`` holding graph entries.
GRAPH_SUBFOLDER: str = "graphs"


def file_identity(path: str | os.PathLike) -> dict[str, Any]:
    """Identity of a source file: resolved path, size and modification time (ns)."""
    p = Path(path).resolve()
    st = p.stat()
    return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cache_key(kind: str, identity: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    """SHA-256 hex digest of the loader kind, source identity, parameters and version."""
    doc = {
        "version": CACHE_VERSION,
        "kind": kind,
        "identity": dict(identity),
        "params": dict(params),
    }
    text = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _paths(key: str, suffix: str = ".pickle") -> tuple[Path, Path]:
    folder = Path(settings.cache_folder) / GRAPH_SUBFOLDER
    return folder / f"{key}{suffix}", folder / f"{key}.json"


def _discard(key: str, reason: str, suffix: str = ".pickle") -> None:
    logger.warning(
        "graph cache entry %s is unusable (%s); it is removed and rebuilt", key[:12], reason
    )
    for p in _paths(key, suffix):
        p.unlink(missing_ok=True)


def load_payload(key: str, suffix: str) -> bytes | None:
    """Return the checked bytes of the entry ``<key><suffix>``, or None (absent, disabled, bad).

    The sidecar must name the same key and :data:`CACHE_VERSION` and hold the SHA-256 of the
    payload; an entry failing a check is logged, deleted and reported absent.
    """
    if not settings.use_cache:
        return None
    data_path, meta_path = _paths(key, suffix)
    if not data_path.exists() and not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        payload = data_path.read_bytes()
    except (OSError, ValueError) as exc:
        _discard(key, f"unreadable: {exc}", suffix)
        return None
    if meta.get("key") != key or meta.get("version") != CACHE_VERSION:
        _discard(key, "key or cache version mismatch", suffix)
        return None
    if hashlib.sha256(payload).hexdigest() != meta.get("sha256"):
        _discard(key, "checksum mismatch", suffix)
        return None
    return payload


def store_payload(key: str, payload: bytes, description: Mapping[str, Any], suffix: str) -> None:
    """Write ``payload`` as ``<key><suffix>`` and its sidecar atomically (no-op when disabled)."""
    if not settings.use_cache:
        return
    data_path, meta_path = _paths(key, suffix)
    meta = {
        "key": key,
        "version": CACHE_VERSION,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "description": dict(description),
    }
    try:
        write_bytes_atomic(data_path, payload)
        write_text_atomic(meta_path, json.dumps(meta, indent=2, sort_keys=True, default=str))
    except OSError as exc:
        logger.warning("cannot write graph cache entry %s: %s", data_path, exc)


def load(key: str) -> nx.MultiDiGraph | None:
    """Return the cached graph for ``key``, or None when absent, disabled or invalid."""
    payload = load_payload(key, ".pickle")
    if payload is None:
        return None
    try:
        graph = pickle.loads(payload)  # our own cache folder, checksum verified
    except Exception as exc:  # a corrupt pickle raises many types
        _discard(key, f"cannot be unpickled: {exc}")
        return None
    if not isinstance(graph, nx.MultiDiGraph):
        _discard(key, f"holds a {type(graph).__name__}, not a MultiDiGraph")
        return None
    logger.info("graph loaded from cache %s", _paths(key)[0])
    return graph


def store(key: str, graph: nx.MultiDiGraph, description: Mapping[str, Any]) -> None:
    """Write ``graph`` and its sidecar atomically (no-op when the cache is disabled)."""
    if not settings.use_cache:
        return
    payload = pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL)
    store_payload(key, payload, description, ".pickle")


def cached_graph(
    kind: str,
    identity: Mapping[str, Any],
    params: Mapping[str, Any],
    build: Callable[[], nx.MultiDiGraph],
) -> nx.MultiDiGraph:
    """Return the cached graph for (kind, identity, params), building and storing it if needed."""
    key = cache_key(kind, identity, params)
    graph = load(key)
    if graph is None:
        graph = build()
        store(key, graph, {"kind": kind, "identity": dict(identity), "params": dict(params)})
    return graph
