"""Small helpers shared by every stage: tolerant table readers, atomic writers, parallel fan-out."""

from __future__ import annotations
