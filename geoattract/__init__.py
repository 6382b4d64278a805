"""geoattract: territorial attractiveness studies over the road network.

The package is a pipeline of plain stages, one module each::

    territory → graph (road network) → facilities → routing / isochrones
    → accessibility → transition → scoring → plot / report → cli

Quick start::

    import geoattract as ga
    cfg = ga.load_study_config()           # Lot-et-Garonne, data found in ../shared/data
    communes = ga.load_territory(cfg)      # 319 study communes + 30 km buffer, EPSG:2154
"""

from __future__ import annotations

import logging

from . import settings
from .config import StudyConfig, load_study_config
from .errors import (
    ConfigError,
    DataError,
    DataNotFoundError,
    GeoattractError,
    NetworkError,
    RoutingError,
    SnapError,
)
from .territory import load_territory

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ConfigError",
    "DataError",
    "DataNotFoundError",
    "GeoattractError",
    "NetworkError",
    "RoutingError",
    "SnapError",
    "StudyConfig",
    "__version__",
    "load_study_config",
    "load_territory",
    "settings",
]
