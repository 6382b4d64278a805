"""Application layer: the study pipeline, the planner commands and the command line. Nothing imports it."""

from __future__ import annotations
