"""Package-wide defaults, as plain module-level values (the osmnx ``settings`` convention).

Every function reads them when it is called, never at import: change them at run time,
before calling the functions that read them::

    import geoattract as ga
    ga.settings.cache_folder = "/tmp/ga-cache"
    ga.settings.use_cache = False

Study-specific choices (département, buffer, thresholds, weights) live in the study TOML files
in ``data/``, not here; these are the fall-backs those files override.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

#: Projected CRS of every layer geoattract returns: RGF93 / Lambert-93.
default_crs: str = "EPSG:2154"

#: Geographic CRS of the source files in the shared data folder.
source_crs: str = "EPSG:4326"

#: Environment variable that overrides the data folder.
data_dir_env_var: str = "GEOATTRACT_DATA_DIR"

#: Environment variable that overrides the cache folder.
cache_dir_env_var: str = "GEOATTRACT_CACHE_DIR"

#: Folder of the package (``site-packages/geoattract`` or a checkout's ``geoattract/``).
package_root: Path = Path(__file__).resolve().parent

#: Repository root when running from a checkout (``geoattract/..``); for a wheel install this
#: is ``site-packages``, only used to look for ``../shared/data`` beside a checkout.
repo_root: Path = package_root.parent

#: Folder of the study configurations shipped inside the package, one sub-folder per study.
studies_folder: Path = package_root / "config" / "studies"

#: Name of the default study (a sub-folder of :data:`studies_folder`).
default_study: str = "lot-et-garonne"

#: Folder of the default study's configuration files.
config_folder: Path = studies_folder / default_study

#: Default study configuration.
default_study_config: Path = config_folder / "study.toml"

#: Where the data folder is looked for when neither ``--data-dir`` nor the environment
#: variable is given: ``../shared/data/<study>`` beside the checkout, then the current folder.
data_dir_candidates: tuple[Path, ...] = (
    repo_root.parent / "shared" / "data",
    Path.cwd().parent / "shared" / "data",
    Path.cwd() / "shared" / "data",
)

#: Folder of on-disk caches (road graphs, routing results): the user's cache folder
#: (``~/.cache/geoattract`` on Linux, from :mod:`platformdirs`), never inside the package;
#: ``GEOATTRACT_CACHE_DIR`` or an assignment at run time overrides it.
cache_folder: Path = Path(
    os.environ.get(cache_dir_env_var) or platformdirs.user_cache_dir("geoattract", appauthor=False)
)

#: Whether loaders may read and write the on-disk cache.
use_cache: bool = True

#: Default buffer around the study département, in metres.
buffer_m: float = 30_000.0

#: Default isochrone and count thresholds, in minutes.
thresholds_min: tuple[int, ...] = (10, 20, 30)

#: A town hall farther than this from its commune polygon is replaced (metres).
town_hall_tolerance_m: float = 200.0

#: Points farther than this from the nearest graph node are reported, not snapped (metres).
snap_max_distance_m: float = 2_000.0

#: Speed used for the access leg between a point and its snapped node (km/h); 15 km/h
#: is a slow drive on a local road or a brisk bicycle ride: deliberately conservative.
snap_speed_kph: float = 15.0

#: Timeout of HTTP requests to Overpass / data.gouv.fr, in seconds.
http_timeout_s: float = 180.0

#: Seed of every random draw (Monte Carlo, synthetic graphs) unless the caller gives one.
random_seed: int = 47
