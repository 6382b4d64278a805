"""Report hygiene on the tiny study: no internal word in French text, the offer across the
border said where it is unknown, estimated counts labelled, the compare page complete.

The tiny study (``tests/test_tiny_study.py`` gives its design): study communes 99001-99006 on
rows 0-1 of a 3 × 3 grid of 4 km squares, the buffer communes 98001-98003 on row 2; a
départementale between neighbouring town halls takes 6 min. GPs and pharmacies come from a BPE
extract of 99 only (``covers_buffer = false``): their offer across the border is unknown.

* Nearest town hall across the border: 6 min from row 1 (99004, 99005, 99006, one
  départementale north), 12 min from row 0 (99001, 99002, 99003, two).
* Nearest pharmacy (99002, 99006; the BPE facility sits at the town hall with a 2.257 min
  intra-commune leg): 99004 (Douzac) 12 + 2.257 = 14.257 min > 6 → a pharmacy across the
  border could be nearer: the caveat; 99006 (Fongrave) 2.257 min < 6 → none; 99001
  (Aubas) 8.257 < 12 → none; 99005 (Esclottes) 8.257 > 6 → the caveat.
* Nearest GP (99003, 99005): 99004 and 99006 at 8.257 min > 6 → the caveat; 99001 and 99002
  at 8.257 < 12 → none; 99003 and 99005 have their own (2.257 min) → none.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geoattract.accessibility import UNKNOWN_OFFER_FR, unknown_offer
from geoattract.scoring import afom_summary

#: Minutes of the intra-commune leg of a BPE facility of the tiny study (1 128.4 m at 30 km/h).
LEG_MIN = 0.5 * (16e6 / np.pi) ** 0.5 / (30 / 3.6) / 60

#: A snake_case token (two words or more joined by ``_``): a column, key or file stem.
SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")

#: A file name or path (``../france/x.csv``, ``roads.gpkg``, ``static/map.png``).
PATH = re.compile(
    r"(?:\.\./|\b[\w-]+/)*\b[\w-]+\.(?:csv|gpkg|geojson|json|toml|tif|py|png|html|txt|shp)\b"
)

#: Addresses of sources (citations) are not internal words.
URL = re.compile(r"https?://\S+")


class _Text(HTMLParser):
    """The text a reader sees: element text, ``alt`` and ``title`` (no style, no script)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._hidden += 1
        self.parts += [v for k, v in attrs if k in ("alt", "title") and v]

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html_text: str) -> str:
    parser = _Text()
    parser.feed(html_text)
    return "\n".join(p for p in parser.parts if p.strip())


def internal_words(text: str, out_dir: Path) -> list[str]:
    """snake_case tokens and file paths of ``text``, but the files written beside the report."""
    text = URL.sub(" ", text)
    found = []
    for m in PATH.finditer(text):
        if not (out_dir / m.group()).is_file():
            found.append(m.group())
    found += SNAKE.findall(PATH.sub(" ", text))
    return found


@pytest.fixture(scope="module")
def tiny_out(tiny_state, tmp_path_factory):
    """Every output of the tiny study, maps and report (the printable PNGs left out)."""
    from geoattract.outputs import write

    out = tmp_path_factory.mktemp("hygiene")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(write, "make_static_maps", lambda *args, **kwargs: {})
        write.write_outputs(tiny_state, out, ["99005"], {}, maps=True)
    return out


@pytest.fixture(scope="module")
def layer(tiny_state) -> pd.DataFrame:
    return tiny_state.communes_layer().set_index("code")


# ------------------------------------------------------------------------ the flag, by hand


def test_time_to_the_nearest_town_hall_across_the_border(layer):
    assert layer["time_outside_min"].tolist() == pytest.approx([12, 12, 12, 6, 6, 6])
    # every commune reaches a town hall of 98 within 30 min (the largest GP threshold)
    assert layer["outside_unknown_gp"].all() and layer["outside_unknown_pharmacy"].all()
    # the schools' sources cover 98: never flagged
    assert not layer["outside_unknown_school_primary"].any()


def test_which_times_and_counts_rest_on_the_unknown_offer(layer):
    assert layer.loc["99004", "time_pharmacy_min"] == pytest.approx(12 + LEG_MIN)
    assert unknown_offer(layer, "time_pharmacy_min").tolist() == [
        False,  # 99001: 8.26 min < 12
        False,  # 99002: its own pharmacy, 2.26 min
        False,  # 99003: 8.26 < 12
        True,  # 99004: 14.26 > 6
        True,  # 99005: 8.26 > 6
        False,  # 99006: its own pharmacy
    ]
    assert unknown_offer(layer, "time_gp_min").tolist() == [False, False, False, True, False, True]
    # a town hall of 98 within 10 min only from row 1
    assert unknown_offer(layer, "count_gp_10min").tolist() == [False] * 3 + [True] * 3
    assert unknown_offer(layer, "count_gp_20min").all()
    assert not unknown_offer(layer, "time_school_primary_min").any()
    assert not unknown_offer(layer, "env_forest_cover").any()


# ---------------------------------------------------------------------------- the texts


def test_afom_line_says_the_offer_across_the_border_is_unknown(tiny_state):
    afom = tiny_state.scores.afom.set_index(["code", "indicator", "kind"])
    douzac = afom.loc[("99004", "time_pharmacy_min", "faiblesse")]
    assert douzac["sentence"] == (
        "Faiblesse : temps d'accès à une pharmacie parmi les 25 % les moins favorables du "
        "département (14 min, offre hors département non renseignée)."
    )
    assert bool(douzac["unknown_offer"])
    fongrave = afom.loc[("99006", "time_pharmacy_min", "atout")]
    assert fongrave["sentence"].endswith("(2 min).") and not bool(fongrave["unknown_offer"])
    # the map tooltips' text (afom_faiblesses) carries it too
    summary = afom_summary(tiny_state.scores.afom, pd.Series(["99004", "99006"]))
    assert (
        f"temps d'accès à une pharmacie ({UNKNOWN_OFFER_FR})" in summary.loc[0, "afom_faiblesses"]
    )
    atouts = summary.loc[1, "afom_atouts"].split(" ; ")
    assert "temps d'accès à une pharmacie" in atouts  # its own pharmacy: no caveat
    # its GPs' APL: a GP of 98 within the APL's reach would change it
    assert (
        f"accessibilité potentielle aux médecins généralistes (E2SFCA) ({UNKNOWN_OFFER_FR})"
        in atouts
    )


def test_atelier_card_values_say_it(tiny_state):
    from geoattract.outputs.atelier import atelier_payload
    from geoattract.scoring.atelier import atelier_model

    ind = tiny_state.scores.indicators
    model = atelier_model(ind, tiny_state.scores.config)
    flags = np.column_stack([unknown_offer(ind, c) for c in model.indicators])
    com = tiny_state.territory.study.set_index(tiny_state.territory.study["code"], drop=False)
    payload = atelier_payload(
        model, com.loc[model.codes], tiny_state.scores.config, study="Tiny", unknown=flags
    )
    j = model.indicators.index("time_pharmacy_min")
    raw = {code: row[j] for code, row in zip(model.codes, payload["raw"], strict=True)}
    assert raw["99004"] == "14 min, offre hors département non renseignée"
    assert raw["99006"] == "2 min"


def test_the_written_atelier_page_carries_the_caveat(tiny_out):
    page = (tiny_out / "atelier.html").read_text(encoding="utf-8")
    assert "14 min, offre hors département non renseignée" in page


def test_rankings_name_the_categories_resting_on_the_unknown_offer(tiny_out):
    text = visible_text((tiny_out / "report.html").read_text(encoding="utf-8"))
    assert "Offre hors département non renseignée (catégories)" in text
    # Douzac (99004): GP (8.26 > 6) and pharmacy (14.26 > 6) in the general profile
    assert re.search(r"Douzac\nCC des Coteaux\n900\n17,5\nMédecin généraliste ; Pharmacie", text)
    # the synthesis' medians say which times take flagged communes
    assert (
        "temps d'accès à un médecin généraliste (2 communes) ; temps d'accès à une pharmacie "
        "(2 communes)"
    ) in text


# -------------------------------------------------------------------------- no internal word


def test_report_has_no_internal_word(tiny_out):
    text = visible_text((tiny_out / "report.html").read_text(encoding="utf-8"))
    assert "Tiny" in text and "Esclottes" in text  # the report is there
    assert internal_words(text, tiny_out) == []
    # the network is named, not its file
    assert "routes classées de France (22 août 2026)" in text and "roads.gpkg" not in text


def test_the_check_finds_internal_words(tmp_path):
    (tmp_path / "rail_links.csv").write_text("")
    text = (
        "l'offre de la source counts ../france/bpe2017_general_practitioners.csv ; colonne "
        "transfer_min de rail_links.csv ; https://example.org/stop_times.txt"
    )
    assert internal_words(text, tmp_path) == [
        "../france/bpe2017_general_practitioners.csv",
        "transfer_min",
    ]


def test_vintage_assumption_names_no_file():
    from geoattract.facilities.catalogue import Source
    from geoattract.facilities.coverage import Adjustment, source_fr

    src = Source(type="counts", file="../france/bpe2017_general_practitioners.csv", vintage="2017")
    adj = Adjustment(
        "counts ../france/x.csv (2017)", {"24": 0.795}, "47: 206 / 259", "", source_fr(src)
    )
    text = adj.describe_fr()
    assert "« table des effectifs par commune, 2017 »" in text and "0,795" in text
    assert ".csv" not in text and "counts" not in text
    assert "non des nombres entiers" in text


def test_network_caption_names_the_network_not_its_file():
    from geoattract.network import NetworkCaption

    caption = NetworkCaption(
        source="Travel Mapping, routes classées de France (france_roads_travelmapping.gpkg)",
        kind="file",
        vintage="2026-08-22",
        schematic=False,
    )
    assert (
        caption.text_fr
        == "Réseau routier : Travel Mapping, routes classées de France (22 août 2026)."
    )


# --------------------------------------------------------------------------- counts, compare


def test_estimated_counts_are_labelled_so():
    from geoattract.outputs.labels import ESTIMATED_COUNT_FR, CategoryLabel, Labels

    labels = Labels(
        categories={
            "gp": CategoryLabel("Médecin généraliste", estimated=True),
            "pharmacy": CategoryLabel("Pharmacie"),
        }
    )
    assert (
        labels.column("count_gp_20min")
        == "Médecin généraliste à moins de 20 min" + ESTIMATED_COUNT_FR
    )
    assert labels.column("count_pharmacy_20min") == "Pharmacie à moins de 20 min"


def test_shipped_gp_count_label_says_it_is_an_estimate():
    from geoattract import settings
    from geoattract.scoring import load_scoring_config

    cfg = load_scoring_config(settings.config_folder / "scoring.toml")
    label = cfg.indicators["count_gp_20min"]["label_fr"]
    assert label.startswith("nombre estimé de médecins généralistes à moins de 20 min")
    assert "effectifs 2017" in label


def test_compare_page_shows_the_table_the_command_prints(tiny_state, tiny_config, tmp_path):
    from geoattract.app.commands import compare_command

    folder = tmp_path / "run"
    folder.mkdir()
    tiny_state.communes_layer().to_file(folder / "communes.gpkg", layer="communes")
    page = tmp_path / "compare.html"
    printed = compare_command(
        ["99004", "99006"],
        html=page,
        results=folder,
        config=tiny_config.path,
        data_dir=tiny_config.data_dir,
    )
    text = visible_text(page.read_text(encoding="utf-8"))
    assert "Indicateurs, commune par commune" in text
    # pharmacy: 14.26 min at Douzac against the median 8.26 min, the offer across unknown
    cell = "14,3 (médiane 8,3), offre hors département non renseignée"
    assert cell in text
    # the command marks it and says it once, in a footnote, within 100 columns
    assert "14,3 (médiane 8,3) *" in printed
    assert "* offre hors département non renseignée" in printed
    assert max(len(line) for line in printed.splitlines()) <= 100
    assert "2,3 (médiane 8,3)\n" in text  # Fongrave: its own pharmacy, no caveat
    table_part = printed.split("\n\n* ")[0]
    for name in tiny_labels_of(table_part):
        assert name in " ".join(text.split()), name


def tiny_labels_of(printed: str) -> list[str]:
    """Row labels of a printed table, wrapped label lines joined (the first column)."""
    names: list[str] = []
    for row in printed.splitlines()[1:]:
        first = row.split("  ")[0].strip()
        if not first:
            continue
        if row.startswith(" ") or not row.split("  ")[1:] or not row.split("  ")[-1].strip():
            names[-1:] = [f"{names[-1]} {first}"] if names else [first]
        else:
            names.append(first)
    return names
