"""The atelier: weight files, the page's scoring model and its explanation, the merge of groups.

The browser side (the page itself, driven in Chromium) is in ``test_atelier_browser.py``.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest_d.atelier import STUDY

from geoattract.app.cli import main
from geoattract.errors import ConfigError, DataNotFoundError
from geoattract.outputs import atelier as atelier_out
from geoattract.scoring import (
    WeightSet,
    apply_weight_set,
    atelier_model,
    check_weight_set,
    composite_scores,
    merge_weight_sets,
    model_scores,
    profile_weight_set,
    read_weight_set,
    score_contributions,
    scoring_config_from_dict,
)
from geoattract.scoring.consensus import group_key, top_count

# ------------------------------------------------------------------------ the scoring model

CUSTOM = {
    "arithmetic": (
        {"health": 0.4, "services": 2.5, "environment": 1.3},
        {"time_a_min": 0.37, "count_b": 2, "time_gp_min": 6, "fibre_pct": 1.5},
    ),
    # health at 0: two pillars only; the geometric mean
    "geometric": (
        {"health": 0, "services": 1, "environment": 3},
        {"time_a_min": 1, "count_b": 0, "forest_pct": 0.2, "fibre_pct": 2},
    ),
}


@pytest.mark.parametrize("aggregation", ["arithmetic", "geometric"])
@pytest.mark.parametrize("profile", ["general", "familles"])
def test_model_scores_are_the_package_scores(synthetic_scoring, aggregation, profile):
    """The page's computation (model_scores on the exported values) equals composite_scores
    under the same weights, bit for bit, for the profiles' weights and custom weights."""
    cfg, df = synthetic_scoring
    model = atelier_model(df, cfg)
    pil, ind = model.profiles[profile]
    cases = [(pil, ind), (CUSTOM[aggregation][0], {**ind, **CUSTOM[aggregation][1]})]
    for pw, iw in cases:
        ws = WeightSet(STUDY, "g", "2026-12-08", profile, dict(pw), dict(iw), aggregation)
        ref = composite_scores(df, apply_weight_set(cfg, ws), profile)
        ms = model_scores(model, {p: pw[p] for p in pil}, iw, aggregation)
        np.testing.assert_array_equal(ms.score, ref[f"score_{profile}"].to_numpy(float))
        ranks = ref[f"rank_{profile}"].to_numpy(dtype=float, na_value=np.nan)
        np.testing.assert_array_equal(ms.rank, ranks)


def test_reweighting_and_min_weight_share(synthetic_scoring):
    """Commune 7 misses both health indicators: its health pillar is NaN and its score is the
    mean of the other pillars; time_gp_min at weight 6 (of 7) fails the 50 % share where it
    is missing (communes 3 and 11), not where only e2sfca is missing (commune 20)."""
    cfg, df = synthetic_scoring
    model = atelier_model(df, cfg)
    pw = {"services": 1.0, "health": 1.0, "environment": 1.0}
    iw = {**model.profiles["general"][1], "time_gp_min": 6.0}
    ms = model_scores(model, pw, iw)
    health = ms.pillar[:, ms.pillars.index("health")]
    assert np.isnan(health[[3, 7, 11]]).all()
    assert not np.isnan(health[20])
    j = model.indicators.index("time_gp_min")
    assert health[20] == pytest.approx(model.values[20, j])  # re-weighted over the one left
    others = ms.pillar[7, [ms.pillars.index("services"), ms.pillars.index("environment")]]
    assert ms.score[7] == pytest.approx(others.mean())


def test_ties_are_ranked_by_code(synthetic_scoring):
    """Communes 14 and 15 are identical: equal scores, the smaller INSEE code ranks first."""
    cfg, df = synthetic_scoring
    model = atelier_model(df, cfg)
    ms = model_scores(model, *model.profiles["general"])
    assert ms.score[14] == ms.score[15]
    first = 14 if df.loc[14, "code"] < df.loc[15, "code"] else 15
    assert ms.rank[first] + 1 == ms.rank[29 - first]
    assert sorted(ms.rank[~np.isnan(ms.rank)].astype(int)) == list(range(1, 41))


def test_the_model_keeps_zero_weight_indicators_and_leaves_out_sparse_ones(synthetic_scoring):
    cfg, df = synthetic_scoring
    sparse = df.assign(count_b=np.where(np.arange(len(df)) < 25, np.nan, df["count_b"]))
    model = atelier_model(sparse, cfg)
    assert "fibre_pct" in model.indicators  # weight 0 in general: a slider can raise it
    assert model.left_out == ["count_b"]  # 15 of 40 communes: under min_coverage
    assert model.profiles["familles"][0] == {"health": 1.0, "services": 2.0, "environment": 0.5}


# ------------------------------------------------------------------------- contributions


def _hand_config(aggregation: str = "arithmetic"):
    ind = {
        "a": {"pillar": "p1", "direction": "higher_is_better", "label_fr": "a"},
        "b": {"pillar": "p1", "direction": "lower_is_better", "label_fr": "b"},
        "c": {"pillar": "p2", "direction": "higher_is_better", "label_fr": "c"},
    }
    return scoring_config_from_dict(
        {
            "method": {"aggregation": aggregation},
            "pillars": {"p1": {"label_fr": "P1"}, "p2": {"label_fr": "P2"}},
            "indicators": ind,
            "profiles": {
                "general": {"label_fr": "G", "rationale": "r", "pillars": {"p1": 1, "p2": 1}}
            },
        }
    )


def test_contributions_by_hand():
    """a = 0, 50, 100 and b = 10, 20, 30 (lower is better) normalise to 0/50/100 and
    100/50/0, c = 0, 100, 25 stays; P1 = 50 for all, P2 = c, scores 25, 75, 37.5. The median
    commune has a = b = 50, c = 25: score 37.5. Commune 1: a −12.5, b +12.5, c −12.5."""
    df = pd.DataFrame({"code": ["1", "2", "3"], "a": [0, 50, 100], "b": [10, 20, 30]})
    df["c"] = [0.0, 100.0, 25.0]
    model = atelier_model(df, _hand_config())
    c = score_contributions(model, *model.profiles["general"])
    assert c.reference == pytest.approx(37.5)
    np.testing.assert_allclose(c.indicator[0], [-12.5, 12.5, -12.5])
    np.testing.assert_allclose(c.indicator[1], [0.0, 0.0, 37.5])
    np.testing.assert_allclose(c.pillar[0], [0.0, -12.5])
    # b missing for commune 2: b normalises to 100, NaN, 0 (median 50); P1 = a alone = 50;
    # a now carries the whole pillar: 0.5 · 1 · 50 − 0.5 · 0.5 · 50 = +12.5, b −12.5
    df.loc[1, "b"] = np.nan
    model = atelier_model(df, _hand_config())
    c = score_contributions(model, *model.profiles["general"])
    np.testing.assert_allclose(c.indicator[1], [12.5, -12.5, 37.5])


@pytest.mark.parametrize("aggregation", ["arithmetic", "geometric"])
def test_contributions_add_up_to_the_gap(synthetic_scoring, aggregation):
    cfg, df = synthetic_scoring
    model = atelier_model(df, cfg)
    pw, iw = CUSTOM[aggregation][0], {**model.profiles["general"][1], **CUSTOM[aggregation][1]}
    ms = model_scores(model, pw, iw, aggregation)
    c = score_contributions(model, pw, iw, aggregation)
    ok = ~np.isnan(ms.score)
    np.testing.assert_allclose(c.indicator[ok].sum(axis=1), ms.score[ok] - c.reference, atol=1e-9)
    np.testing.assert_allclose(c.pillar[ok].sum(axis=1), ms.score[ok] - c.reference, atol=1e-9)
    zero = [j for j, name in enumerate(model.indicators) if iw.get(name, 0) == 0]
    assert (c.indicator[ok][:, zero] == 0).all()


# --------------------------------------------------------------------------- weight files


def _doc(cfg, **changes):
    doc = profile_weight_set(cfg, "familles", STUDY, group="Vivre et habiter", date="2026-12-08")
    return {**doc.to_json(), **changes}


def test_weight_file_round_trip(synthetic_scoring, tmp_path):
    cfg, _ = synthetic_scoring
    path = tmp_path / "a.json"
    path.write_text(json.dumps(_doc(cfg)), encoding="utf-8")
    ws = read_weight_set(path, cfg, STUDY)
    assert (ws.group, ws.profile, ws.date, ws.aggregation) == (
        "Vivre et habiter",
        "familles",
        "2026-12-08",
        "arithmetic",
    )
    assert ws.pillars == {"health": 1.0, "services": 2.0, "environment": 0.5}
    assert ws.indicators["time_a_min"] == 3.0
    # the profile's own weights give the profile's own scores
    assert apply_weight_set(cfg, ws).profile_weights("familles") == cfg.profile_weights("familles")


BAD_FILES = [
    ({"study": "Gironde"}, "weights set for the study 'Gironde', not for 'Étude test'"),
    ({"profile": "retraites"}, "unknown profile 'retraites'"),
    (
        {"pillars": {"services": 1, "health": 1, "environment": 1, "culture": 1}},
        "'pillars.culture'",
    ),
    ({"pillars": {"services": 1, "health": 1}}, "missing weight 'pillars.environment'"),
    (
        {"pillars": {"services": -1, "health": 1, "environment": 1}},
        "'pillars.services' must be >= 0",
    ),
    (
        {"pillars": {"services": 0, "health": 0, "environment": 0}},
        "all weights in [pillars] are zero",
    ),
    ({"indicators": {"time_zz_min": 1}}, "unknown indicator 'indicators.time_zz_min'"),
    (
        {"indicators": {"forest_pct": 0, "fibre_pct": 0}},
        "'pillars.environment' has weight 0.5 but no indicator",
    ),
    ({"indicators": {"count_b": "deux"}}, "'indicators.count_b' must be a finite number"),
    ({"aggregation": "harmonic"}, "key 'aggregation' must be one of"),
    ({"date": "8/12/2026"}, "key 'date' must be a date YYYY-MM-DD"),
    ({"group": "  "}, "key 'group' must be a non-empty text"),
    ({"version": 2}, "not a weight file of this version"),
    ({"colour": "bleu"}, "unknown key(s) 'colour'"),
]


@pytest.mark.parametrize(("change", "message"), BAD_FILES)
def test_bad_weight_file_one_line_error(synthetic_scoring, change, message):
    cfg, _ = synthetic_scoring
    with pytest.raises(ConfigError) as err:
        check_weight_set(_doc(cfg, **change), cfg, STUDY, "groupe.json")
    text = str(err.value)
    assert text.startswith("groupe.json: ") and message in text and "\n" not in text


def test_weight_file_not_json_or_missing(synthetic_scoring, tmp_path):
    cfg, _ = synthetic_scoring
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": ', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.json: not valid JSON \(line 1, column 12"):
        read_weight_set(bad, cfg, STUDY)
    with pytest.raises(DataNotFoundError, match="none.json: weight file not found"):
        read_weight_set(tmp_path / "none.json", cfg, STUDY)


# ------------------------------------------------------------------------------ the merge


def _two_groups():
    """Ten communes; group A weighs p1 alone (a: ranks 1..10 in table order; b is constant),
    group B p2 alone (c: commune 10 second, commune 2 last)."""
    df = pd.DataFrame({"code": [f"{i:02d}" for i in range(1, 11)]})
    df["nom"] = [f"C{i}" for i in range(1, 11)]
    df["a"] = [100.0, 90, 80, 70, 60, 50, 40, 30, 20, 10]
    df["b"] = 5.0
    df["c"] = [120.0, 10, 80, 70, 60, 50, 40, 30, 20, 110]
    cfg = _hand_config()
    cfg = replace(cfg, montecarlo={**cfg.montecarlo, "n": 40, "seed": 5})
    a = WeightSet(STUDY, "Groupe A", "2026-12-08", "general", {"p1": 1, "p2": 0}, {}, source="A")
    b = WeightSet(STUDY, "Groupe B", "2026-12-08", "general", {"p1": 0, "p2": 1}, {}, source="B")
    return df, cfg, a, b


def test_merge_by_hand():
    df, cfg, a, b = _two_groups()
    r = merge_weight_sets(df, cfg, [a, b])
    t = r.table.set_index("nom")
    assert r.keys == ["groupe_a", "groupe_b"] and r.n_top == 2  # ⌈0.2 · 10⌉
    assert t["rank_groupe_a"].tolist() == list(range(1, 11))
    assert t["rank_groupe_b"].tolist() == [1, 10, 3, 4, 5, 6, 7, 8, 9, 2]
    assert t.loc["C2", "rank_spread"] == 8 and t.loc["C10", "rank_spread"] == 8
    assert r.consensus["nom"].tolist() == ["C1"]  # rank ≤ 2 for both groups
    # spread ≥ 2 places; widest first, then best rank (both 2nd somewhere), then code
    assert r.contested["nom"].tolist() == ["C2", "C10"]
    assert t["n_groups_top"].tolist() == [2, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    # one pillar per group: every draw of a group gives its own ranks; 20 draws each
    assert (t.loc["C1", ["rank_p05", "rank_median", "rank_p95"]] == 1).all()
    assert t.loc["C2", ["rank_p05", "rank_median", "rank_p95"]].tolist() == [2, 6, 10]


def test_merge_refuses_one_group_or_the_same_group_twice():
    df, cfg, a, b = _two_groups()
    with pytest.raises(ConfigError, match="at least two groups, got 1"):
        merge_weight_sets(df, cfg, [a])
    twin = replace(b, group="groupe  A!", source="B.json")
    with pytest.raises(ConfigError, match="B.json: group 'groupe  A!' is also the group of A"):
        merge_weight_sets(df, cfg, [a, twin])
    assert group_key("Vivre & habiter — été") == "vivre_habiter_ete"
    assert top_count(319) == 64 and top_count(10) == 2 and top_count(5) == 1


# --------------------------------------------------------------------------------- the page


def test_packed_coordinates_round_trip():
    coords = [(0.612345, 44.201234), (0.61236, 44.2013), (0.6, 44.2)]
    packed = atelier_out.packed_coordinates(coords)
    assert packed == [61234, 4420123, 2, 7, -1236, -130]
    x = np.cumsum(packed[0::2]) / 1e5
    y = np.cumsum(packed[1::2]) / 1e5
    np.testing.assert_allclose(np.c_[x, y], np.round(coords, 5))


def _squares(df: pd.DataFrame):
    """One 900 m square per commune, in rows of eight (Lambert-93)."""
    import geopandas as gpd
    import shapely

    x0, y0 = 500_000, 6_400_000
    geoms = [
        shapely.box(
            x0 + 1000 * (i % 8),
            y0 + 1000 * (i // 8),
            x0 + 1000 * (i % 8) + 900,
            y0 + 1000 * (i // 8) + 900,
        )
        for i in range(len(df))
    ]
    return gpd.GeoDataFrame(df[["code", "nom"]], geometry=geoms, crs=2154)


def test_page_data_is_inert_text(synthetic_scoring):
    """A commune named like markup reaches the page as JSON text, never as a tag."""
    cfg, df = synthetic_scoring
    evil = "</script><img src=x onerror=alert(1)>"
    df = df.assign(nom=[evil if i == 0 else n for i, n in enumerate(df["nom"])])
    model = atelier_model(df, cfg)
    payload = atelier_out.atelier_payload(model, _squares(df), cfg, study=STUDY)
    html = atelier_out.atelier_html(payload)
    assert evil not in html and "<img src=x" not in html
    block = html.split('id="atelier-data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(block)
    assert data["communes"]["names"][0] == evil
    gp = model.indicators.index("time_gp_min")
    median = np.nanmedian(df["time_gp_min"])
    assert data["indicators"][gp]["median"].split() == [f"{median:.0f}", "min"]
    assert data["raw"][3][gp] is None  # time_gp_min missing for commune 3
    assert data["raw"][0][gp].split() == [f"{df.loc[0, 'time_gp_min']:.0f}", "min"]
    assert len(data["geometry"]["communes"]) == len(df)
    assert data["values"][3][gp] is None


# ----------------------------------------------------------------------------- the command


def _weight_files(cfg, tmp_path, study, groups):
    paths = []
    for i, (group, profile, pillars) in enumerate(groups):
        ws = profile_weight_set(cfg, profile, study, group=group, date="2026-12-08")
        doc = ws.to_json()
        if pillars:
            doc["pillars"] = pillars
        path = tmp_path / f"g{i}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        paths.append(str(path))
    return paths


def test_merge_command_refuses_bad_files_at_the_door(tiny_config, tmp_path, capsys, monkeypatch):
    """Exit code 2 and one line naming the file and the key, before the study is computed."""
    from geoattract.app import pipeline
    from geoattract.scoring import load_scoring_config

    def boom(*args, **kwargs):
        raise AssertionError("the study was computed before the weight files were checked")

    monkeypatch.setattr(pipeline, "compute_study", boom)
    scfg = load_scoring_config(tiny_config.config_file("scoring"))
    good = {"services": 1, "health": 1, "transition": 1, "environment": 1}
    common = ["atelier", "merge", "--config", str(tiny_config.path)]
    common += ["--data-dir", str(tiny_config.data_dir), "--out", str(tmp_path / "out")]
    cases = [
        (tiny_config.name, {**good, "culture": 2}, "unknown pillar 'pillars.culture'"),
        ("Gironde", good, "weights set for the study 'Gironde', not for 'Tiny'"),
    ]
    for study, pillars, message in cases:
        files = _weight_files(
            scfg, tmp_path, study, [("A", "general", pillars), ("B", "nature", None)]
        )
        assert main(common + files) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("geoattract atelier: error: ") and message in err, err
        assert "g0.json" in err and len(err.splitlines()) == 1
    files = _weight_files(scfg, tmp_path, tiny_config.name, [("A", "general", None)])
    doc = json.loads(open(files[0], encoding="utf-8").read())
    doc["profile"] = "retraites"
    open(files[0], "w", encoding="utf-8").write(json.dumps(doc))
    assert main([*common, files[0], files[0]]) == 2
    assert "unknown profile 'retraites'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_merge_command_on_three_groups(tiny_config, tmp_path, capsys):
    """Three groups' files on a finished tiny run: scores, both maps and the report section."""
    from PIL import Image

    from geoattract import settings
    from geoattract.app import pipeline
    from geoattract.scoring import load_scoring_config

    run = tmp_path / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(settings, "cache_folder", tmp_path / "cache")
        pipeline.run_study(tiny_config, out_dir=run, maps=False, isochrones=False)
    scfg = load_scoring_config(tiny_config.config_file("scoring"))
    groups = [
        ("Vivre et habiter", "general", None),
        (
            "Entreprendre",
            "general",
            {"services": 3, "health": 0, "transition": 1, "environment": 0},
        ),
        (
            "Focus médical",
            "nature",
            {"services": 0, "health": 2, "transition": 0, "environment": 1},
        ),
    ]
    files = _weight_files(scfg, tmp_path, tiny_config.name, groups)
    args = ["atelier", "merge", "--config", str(tiny_config.path), "--data-dir"]
    args += [str(tiny_config.data_dir), "--results", str(run), "--draws", "30", *files]
    assert main(args) == 0
    out = run / "atelier"
    assert "Communes consensuelles" in capsys.readouterr().out
    table = pd.read_csv(out / "atelier_scores.csv", dtype={"code": str})
    assert len(table) == 6
    keys = ["vivre_et_habiter", "entreprendre", "focus_medical"]
    for key in keys:
        assert sorted(table[f"rank_{key}"]) == [1, 2, 3, 4, 5, 6]
    # a group's scores are the package's scores under its weights
    import geopandas as gpd

    layer = gpd.read_file(run / "communes.gpkg", layer="communes")
    ws = read_weight_set(files[1], scfg, tiny_config.name)
    ref = composite_scores(layer, apply_weight_set(scfg, ws), "general")
    np.testing.assert_allclose(
        table["score_entreprendre"], ref["score_general"], rtol=0, atol=1e-12
    )
    spread = table[[f"rank_{k}" for k in keys]].max(axis=1) - table[
        [f"rank_{k}" for k in keys]
    ].min(axis=1)
    assert table["rank_spread"].tolist() == spread.tolist()
    assert table["contested"].tolist() == (spread >= 2).tolist()  # ⌈0.2 · 6⌉ = 2 places
    top = table[[f"rank_{k}" for k in keys]] <= 2
    assert table["consensus"].tolist() == top.all(axis=1).tolist()
    assert (table["rank_p05"] <= table["rank_median"]).all()
    assert (table["rank_median"] <= table["rank_p95"]).all()
    for name in ("consensus.png", "contested.png"):
        with Image.open(out / name) as im:
            assert im.size[0] > 800
    section = (out / "atelier_section.html").read_text(encoding="utf-8")
    assert section.startswith('<h2 id="atelier">Ateliers : réconciliation des pondérations</h2>')
    for text in ("Focus médical", "Communes consensuelles", "Communes disputées", "data:image/png"):
        assert text in section
    assert (out / "atelier_merge.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_tiny_outputs_replace_the_separate_maps_by_atelier(tiny_state, tmp_path, monkeypatch):
    """By default one atelier.html instead of a map per profile and pillar; [maps]
    separate_maps keeps them."""
    from geoattract.outputs import write

    monkeypatch.setattr(write, "make_static_maps", lambda *args, **kwargs: {})
    files = write.write_outputs(tiny_state, tmp_path / "a", ["99005"], {}, maps=True)
    assert "atelier.html" in files and "isochrones.html" in files
    assert not [f for f in files if f.startswith(("score_", "pillar_"))]
    index = (tmp_path / "a" / "index.html").read_text(encoding="utf-8")
    assert index.index('href="atelier.html"') < index.index('href="communes.gpkg"')
    state = replace(tiny_state, config=tiny_state.config.with_section("maps", separate_maps=True))
    files = write.write_outputs(state, tmp_path / "b", ["99005"], {}, maps=True)
    assert {"atelier.html", "score_general.html", "pillar_health.html"} <= set(files)
    with pytest.raises(ConfigError, match="separate_maps"):
        tiny_state.config.with_section("maps", separate_maps="oui")
