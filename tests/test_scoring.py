"""Tests of geoattract.scoring: hand-computed scores, properties, validation, Monte Carlo, EPCI."""

from __future__ import annotations

import copy
import logging
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoattract import settings as ga_settings
from geoattract._util.ranks import percentile_rank
from geoattract.errors import ConfigError, DataError
from geoattract.scoring import (
    aggregate,
    composite_scores,
    epci_scores,
    load_scoring_config,
    monte_carlo_ranks,
    normalise,
    pillar_scores,
    rank_scores,
    score_all_profiles,
    score_changes,
    scoring_config_from_dict,
    sensitivity,
    winsorise,
)

#: The study's scoring configuration, shipped inside the package.
SCORING_TOML = ga_settings.config_folder / "scoring.toml"

# --------------------------------------------------------------------------------------------
# the 3-commune x 3-indicator example
#
#   commune  i1 (higher better, pillar a)  i2 (lower better, pillar b)  i3 (higher better, pillar b)
#   A 47001          10                             5                          5
#   B 47002          20                            10                          7
#   C 47003          30                            15                         18
#
# Profile "p": pillar weights a = 1, b = 1; indicator weights all 1.
# --------------------------------------------------------------------------------------------


def small_doc(**method) -> dict:
    return {
        "method": {"min_coverage": 0.0, **method},
        "pillars": {"a": {"label_fr": "A"}, "b": {"label_fr": "B"}},
        "indicators": {
            "i1": {
                "pillar": "a",
                "direction": "higher_is_better",
                "label_fr": "indicateur 1",
                "reference": 20.0,
            },
            "i2": {
                "pillar": "b",
                "direction": "lower_is_better",
                "label_fr": "indicateur 2",
                "unit": "min",
                "reference": 10.0,
            },
            "i3": {"pillar": "b", "direction": "higher_is_better", "label_fr": "indicateur 3"},
        },
        "profiles": {"p": {"label_fr": "P", "rationale": "test", "pillars": {"a": 1, "b": 1}}},
    }


def small_df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": ["47001", "47002", "47003"],
            "nom": ["A", "B", "C"],
            "i1": [10.0, 20.0, 30.0],
            "i2": [5.0, 10.0, 15.0],
            "i3": [5.0, 7.0, 18.0],
        },
        index=[10, 11, 12],
    )


def scores(method: str, aggregation: str = "arithmetic") -> pd.DataFrame:
    cfg = scoring_config_from_dict(small_doc(normalisation=method, aggregation=aggregation))
    return composite_scores(small_df(), cfg, "p")


def test_minmax_arithmetic_by_hand():
    # i1: (x - 10) / 20 * 100            -> 0, 50, 100
    # i2: (15 - x) / 10 * 100            -> 100, 50, 0
    # i3: (x - 5) / 13 * 100             -> 0, 200/13 = 15.385, 100
    # pillar b = (i2 + i3) / 2           -> 50, (50 + 200/13) / 2 = 32.692, 50
    # score = (a + b) / 2                -> 25, (50 + 32.692) / 2 = 41.346, 75
    out = scores("minmax")
    b = [50.0, (50 + 200 / 13) / 2, 50.0]
    assert out["pillar_a_p"].tolist() == pytest.approx([0.0, 50.0, 100.0])
    assert out["pillar_b_p"].tolist() == pytest.approx(b)
    assert out["score_p"].tolist() == pytest.approx([25.0, (50 + b[1]) / 2, 75.0])
    assert out["rank_p"].tolist() == [3, 2, 1]
    assert list(out.index) == [10, 11, 12]  # aligned on the input index
    cfg = scoring_config_from_dict(small_doc())
    pil = pillar_scores(small_df(), cfg, "p")
    assert pil["pillar_b"].tolist() == pytest.approx(b)


def test_minmax_geometric_by_hand():
    # same normalised values; geometric means with zeros floored at 1:
    # pillar a = max(i1, 1)              -> 1, 50, 100
    # pillar b = sqrt(i2 * i3)           -> sqrt(100 * 1) = 10, sqrt(50 * 200/13) = 27.735, sqrt(1 * 100) = 10
    # score = sqrt(a * b)                -> sqrt(10) = 3.162, sqrt(50 * 27.735) = 37.239, sqrt(1000) = 31.623
    # the unbalanced commune C falls behind B: ranks A 3, B 1, C 2
    out = scores("minmax", "geometric")
    b1 = math.sqrt(50 * 200 / 13)
    assert out["pillar_a_p"].tolist() == pytest.approx([1.0, 50.0, 100.0])
    assert out["pillar_b_p"].tolist() == pytest.approx([10.0, b1, 10.0])
    assert out["score_p"].tolist() == pytest.approx(
        [math.sqrt(10), math.sqrt(50 * b1), math.sqrt(1000)]
    )
    assert out["score_p"].tolist() == pytest.approx([3.1623, 37.239, 31.623], abs=1e-3)
    assert out["rank_p"].tolist() == [3, 1, 2]


def test_zscore_by_hand():
    # z with sample sd (ddof = 1), mapped by 50 + 50 z / 3:
    # i1: mean 20, sd 10, z = -1, 0, 1               -> 100/3, 50, 200/3
    # i2: mean 10, sd 5, lower is better z = 1, 0, -1 -> 200/3, 50, 100/3
    # i3: mean 10, deviations -5, -3, 8, var (25 + 9 + 64) / 2 = 49, sd 7
    #     z = -5/7, -3/7, 8/7                        -> 50 - 250/21, 50 - 150/21, 50 + 400/21
    # pillar b = (i2 + i3) / 2 ; score = (i1 + b) / 2
    i1 = [100 / 3, 50, 200 / 3]
    i2 = [200 / 3, 50, 100 / 3]
    i3 = [50 - 250 / 21, 50 - 150 / 21, 50 + 400 / 21]
    b = [(x + y) / 2 for x, y in zip(i2, i3, strict=True)]
    out = scores("zscore")
    assert out["pillar_b_p"].tolist() == pytest.approx(b)
    assert out["score_p"].tolist() == pytest.approx(
        [(x + y) / 2 for x, y in zip(i1, b, strict=True)]
    )
    assert out["score_p"].tolist() == pytest.approx([42.857, 48.214, 58.929], abs=1e-3)
    assert out["rank_p"].tolist() == [3, 2, 1]


def test_zscore_geometric_by_hand():
    # same normalised values as above, no zero, geometric means:
    # b = sqrt(i2 * i3); score = sqrt(i1 * b)
    i1 = [100 / 3, 50, 200 / 3]
    i2 = [200 / 3, 50, 100 / 3]
    i3 = [50 - 250 / 21, 50 - 150 / 21, 50 + 400 / 21]
    b = [math.sqrt(x * y) for x, y in zip(i2, i3, strict=True)]
    out = scores("zscore", "geometric")
    assert out["score_p"].tolist() == pytest.approx(
        [math.sqrt(x * y) for x, y in zip(i1, b, strict=True)]
    )


def test_rank_by_hand():
    # percentile ranks (r - 1) / (n - 1): i1 -> 0, 50, 100; i2 (lower better) -> 100, 50, 0; i3 -> 0, 50, 100
    # pillar b = 50, 50, 50 ; score = 25, 50, 75 (arithmetic)
    # geometric: a = 1, 50, 100 ; b = sqrt(100 * 1) = 10, 50, 10 ; score = sqrt(10), 50, sqrt(1000)
    out = scores("rank")
    assert out["pillar_b_p"].tolist() == pytest.approx([50.0, 50.0, 50.0])
    assert out["score_p"].tolist() == pytest.approx([25.0, 50.0, 75.0])
    geo = scores("rank", "geometric")
    assert geo["score_p"].tolist() == pytest.approx([math.sqrt(10), 50.0, math.sqrt(1000)])
    assert geo["rank_p"].tolist() == [3, 1, 2]


def test_distance_to_reference_by_hand():
    # ratio r capped at 2, score 100 r / 2 (the reference scores 50):
    # i1 ref 20: r = 0.5, 1, 1.5                  -> 25, 50, 75
    # i2 ref 10, lower better: r = 10/x = 2, 1, 2/3 -> 100, 50, 100/3
    # i3 no reference -> mean 10: r = 0.5, 0.7, 1.8 -> 25, 35, 90
    # pillar b = 62.5, 42.5, (100/3 + 90) / 2 = 61.667 ; score = 43.75, 46.25, 68.333
    out = scores("distance_to_reference")
    assert out["pillar_b_p"].tolist() == pytest.approx([62.5, 42.5, (100 / 3 + 90) / 2])
    assert out["score_p"].tolist() == pytest.approx([43.75, 46.25, (75 + (100 / 3 + 90) / 2) / 2])
    # geometric: b = sqrt(100*25) = 50, sqrt(50*35), sqrt(100/3*90); score = sqrt(i1 * b)
    geo = scores("distance_to_reference", "geometric")
    b = [50.0, math.sqrt(50 * 35), math.sqrt(100 / 3 * 90)]
    assert geo["score_p"].tolist() == pytest.approx(
        [math.sqrt(x * y) for x, y in zip([25, 50, 75], b, strict=True)]
    )


def test_normalise_edge_cases():
    s = pd.Series([3.0, 3.0, np.nan], name="x")
    assert normalise(s, "minmax").tolist()[:2] == [50.0, 50.0]  # constant: neutral 50
    assert np.isnan(normalise(s, "minmax").iloc[2])  # missing stays missing, never 0
    # distance_to_reference: lower is better, x = 0 is the best possible (ratio capped)
    assert normalise(
        pd.Series([0.0, 10.0]), "distance_to_reference", "lower_is_better", 10.0
    ).tolist() == [100.0, 50.0]
    with pytest.raises(DataError, match="values >= 0"):
        normalise(pd.Series([-1.0, 2.0], name="x"), "distance_to_reference")
    with pytest.raises(ConfigError, match="unknown normalisation"):
        normalise(s, "logistic")
    # rank with ties: average rank -> (1.5 - 1) / 2 = 25 for both 1's, 100 for the 2
    assert normalise(pd.Series([1.0, 1.0, 2.0]), "rank").tolist() == [25.0, 25.0, 100.0]
    # fit_on: fixed goal-posts from another series, values outside clipped
    assert normalise(
        pd.Series([15.0, 40.0]), "minmax", fit_on=pd.Series([10.0, 30.0])
    ).tolist() == [25.0, 100.0]


def test_winsorise_by_hand():
    # quantile 0.75 of [1, 2, 3, 4, 100] (linear) is 4; quantile 0 is 1
    s = pd.Series([1.0, 2.0, 3.0, 4.0, 100.0])
    assert winsorise(s, 0.0, 0.75).tolist() == [1.0, 2.0, 3.0, 4.0, 4.0]
    with pytest.raises(ConfigError):
        winsorise(s, 0.9, 0.1)


def test_winsorise_option_changes_minmax():
    # with winsorise [0, 0.5] on i3 = 5, 7, 18: the median 7 caps C -> i3 = 0, 100, 100
    cfg = scoring_config_from_dict(small_doc(winsorise=[0.0, 0.5]))
    out = composite_scores(small_df(), cfg, "p")
    # i1 (10, 20, 30; median 20) -> 10, 20, 20 -> 0, 100, 100
    # i2 (5, 10, 15) -> 5, 10, 10, lower better -> 100, 0, 0
    # b = (100 + 0)/2, (0 + 100)/2, (0 + 100)/2 = 50, 50, 50 ; score = 25, 75, 75 ; tie -> by code
    assert out["score_p"].tolist() == pytest.approx([25.0, 75.0, 75.0])
    assert out["rank_p"].tolist() == [3, 1, 2]


def test_aggregate_by_hand_and_missing():
    v = pd.DataFrame({"x": [10.0, np.nan, np.nan], "y": [40.0, 70.0, np.nan]})
    # row 0: (1*10 + 3*40) / 4 = 32.5 ; row 1: only y, share 3/4 >= 0.5 -> 70 ; row 2: nothing -> NaN
    out = aggregate(v, {"x": 1, "y": 3}, "arithmetic", min_weight_share=0.5)
    assert out.iloc[:2].tolist() == [32.5, 70.0] and np.isnan(out.iloc[2])
    # row 1 with x weighted 3, y 1: share 1/4 < 0.5 -> NaN
    assert np.isnan(aggregate(v, {"x": 3, "y": 1}, "arithmetic", 0.5).iloc[1])
    # geometric row 0: exp((ln 10 + 3 ln 40) / 4) = 10^0.25 * 40^0.75
    assert aggregate(v, {"x": 1, "y": 3}, "geometric").iloc[0] == pytest.approx(10**0.25 * 40**0.75)


def test_missing_rule_reweights_then_flags():
    df = small_df()
    df.loc[10, "i3"] = np.nan  # commune A lacks i3 (half of pillar b's weight)
    cfg = scoring_config_from_dict(small_doc(min_weight_share=0.5))
    out = composite_scores(df, cfg, "p")
    # i2 of A normalises to 100; pillar b of A = 100 (re-weighted over i2); score A = (0 + 100) / 2
    assert out.loc[10, "pillar_b_p"] == pytest.approx(100.0)
    assert out.loc[10, "score_p"] == pytest.approx(50.0)
    assert out.loc[10, "n_missing_indicators_p"] == 1 and out.loc[10, "missing_pillars_p"] == ""
    strict = composite_scores(df, scoring_config_from_dict(small_doc(min_weight_share=0.75)), "p")
    # share 0.5 < 0.75: pillar b NaN, then the composite has half its weight -> NaN too
    assert np.isnan(strict.loc[10, "pillar_b_p"]) and np.isnan(strict.loc[10, "score_p"])
    assert strict.loc[10, "missing_pillars_p"] == "b"
    assert pd.isna(strict.loc[10, "rank_p"])
    assert strict["rank_p"].dropna().tolist() == [2, 1]  # B, C still ranked 1..2


def test_low_coverage_indicator_left_out(caplog):
    df = small_df()
    df["i3"] = [np.nan, np.nan, 4.0]
    doc = small_doc()
    doc["method"]["min_coverage"] = 0.5
    with caplog.at_level(logging.WARNING, logger="geoattract.scoring.model"):
        out = composite_scores(df, scoring_config_from_dict(doc), "p")
    assert "i3" in caplog.text
    assert out.attrs["indicators"] == ["i1", "i2"]
    assert out["pillar_b_p"].tolist() == pytest.approx([100.0, 50.0, 0.0])  # i2 only


def test_missing_column_is_data_error():
    cfg = scoring_config_from_dict(small_doc())
    with pytest.raises(DataError, match=r"'i3'.*available columns.*'i1'"):
        composite_scores(small_df().drop(columns="i3"), cfg, "p")


def test_unknown_profile():
    with pytest.raises(ConfigError, match="unknown profile 'zz'"):
        composite_scores(small_df(), scoring_config_from_dict(small_doc()), "zz")


# --------------------------------------------------------------------------------------------
# weight validation
# --------------------------------------------------------------------------------------------


def test_negative_weight_names_key():
    doc = small_doc()
    doc["profiles"]["p"]["pillars"]["b"] = -1
    with pytest.raises(ConfigError, match=r"profiles\.p\.pillars\.b.*>= 0"):
        scoring_config_from_dict(doc)
    doc = small_doc()
    doc["profiles"]["p"]["indicator_weights"] = {"i2": -0.5}
    with pytest.raises(ConfigError, match=r"profiles\.p\.indicator_weights\.i2"):
        scoring_config_from_dict(doc)
    with pytest.raises(ConfigError, match=r"weights\.y"):
        aggregate(pd.DataFrame({"x": [1.0], "y": [2.0]}), {"x": 1, "y": -1})


def test_all_zero_weights_names_key():
    doc = small_doc()
    doc["profiles"]["p"]["pillars"] = {"a": 0, "b": 0}
    with pytest.raises(ConfigError, match=r"profiles\.p\.pillars.*zero"):
        scoring_config_from_dict(doc)
    with pytest.raises(ConfigError, match="all weights are zero"):
        aggregate(pd.DataFrame({"x": [1.0]}), {"x": 0})


def test_unknown_indicator_and_pillar_name_key():
    doc = small_doc()
    doc["profiles"]["p"]["indicator_weights"] = {"i9": 2}
    with pytest.raises(ConfigError, match=r"profiles\.p\.indicator_weights\.i9"):
        scoring_config_from_dict(doc)
    doc = small_doc()
    doc["profiles"]["p"]["pillars"]["zz"] = 1
    with pytest.raises(ConfigError, match=r"profiles\.p\.pillars\.zz"):
        scoring_config_from_dict(doc)
    doc = small_doc()
    doc["indicators"]["i1"]["pillar"] = "zz"
    with pytest.raises(ConfigError, match=r"indicators\.i1\.pillar"):
        scoring_config_from_dict(doc)
    doc = small_doc()
    del doc["profiles"]["p"]["pillars"]["b"]
    with pytest.raises(ConfigError, match=r"profiles\.p\.pillars\.b"):
        scoring_config_from_dict(doc)
    doc = small_doc()
    doc["indicators"]["i1"]["direction"] = "up"
    with pytest.raises(ConfigError, match=r"indicators\.i1\.direction"):
        scoring_config_from_dict(doc)
    doc = small_doc()
    doc["montecarlo"] = {"threshold_alternatives": {"i7": ["i8"]}}
    with pytest.raises(ConfigError, match=r"montecarlo\.threshold_alternatives\.i7"):
        scoring_config_from_dict(doc)
    doc = small_doc()
    doc["profiles"]["p"]["indicator_weights"] = {"i1": 0}
    with pytest.raises(ConfigError, match=r"profiles\.p\.pillars\.a.*no indicator"):
        scoring_config_from_dict(doc)


# --------------------------------------------------------------------------------------------
# properties (hypothesis)
# --------------------------------------------------------------------------------------------

METHODS = st.sampled_from(["minmax", "zscore", "rank", "distance_to_reference"])
AGGS = st.sampled_from(["arithmetic", "geometric"])
VALUE = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False, allow_infinity=False)


GRID = st.integers(0, 100_000).map(lambda v: v / 100)  # 0.01 steps: no subnormal differences


@st.composite
def tables(draw, allow_nan=False, min_rows=2, values=VALUE):
    n = draw(st.integers(min_rows, 8))
    elem = st.one_of(values, st.just(np.nan)) if allow_nan else values
    cols = {c: draw(st.lists(elem, min_size=n, max_size=n)) for c in ("i1", "i2", "i3")}
    codes = [f"47{i:03d}" for i in draw(st.permutations(range(n)))]
    return pd.DataFrame({"code": codes, **cols})


def _cfg(method, agg, share=0.5):
    doc = small_doc(normalisation=method, aggregation=agg, min_weight_share=share)
    for spec in doc["indicators"].values():
        spec.pop("reference", None)
        spec["reference"] = 10.0  # keep distance_to_reference defined when a column is all 0
    return scoring_config_from_dict(doc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), METHODS, AGGS, st.data())
def test_improving_an_indicator_never_lowers_the_score(df, method, agg, data):
    cfg = _cfg(method, agg)
    i = data.draw(st.integers(0, len(df) - 1))
    col = data.draw(st.sampled_from(["i1", "i2", "i3"]))
    delta = data.draw(st.floats(min_value=0.01, max_value=500.0))
    better = df.copy()
    if cfg.indicators[col]["direction"] == "higher_is_better":
        better.loc[i, col] += delta
    else:
        better.loc[i, col] = max(0.0, better.loc[i, col] - delta)
    before = composite_scores(df, cfg, "p")["score_p"].iloc[i]
    after = composite_scores(better, cfg, "p")["score_p"].iloc[i]
    assert after >= before - 1e-9


@settings(max_examples=60, deadline=None)
@given(
    tables(values=GRID),
    AGGS,
    st.floats(0.001, 1000.0),
    st.floats(-1e4, 1e4),
    st.sampled_from(["i1", "i2", "i3"]),
)
def test_minmax_invariant_to_units(df, agg, a, b, col):
    cfg = _cfg("minmax", agg)
    rescaled = df.copy()
    rescaled[col] = df[col] * a + b
    s0 = composite_scores(df, cfg, "p")["score_p"]
    s1 = composite_scores(rescaled, cfg, "p")["score_p"]
    np.testing.assert_allclose(s1.to_numpy(), s0.to_numpy(), atol=1e-6)


@settings(max_examples=80, deadline=None)
@given(tables(allow_nan=True, min_rows=1), METHODS, AGGS, st.sampled_from([0.3, 0.5, 1.0]))
def test_ranks_are_a_permutation_ordered_by_score(df, method, agg, share):
    out = composite_scores(df, _cfg(method, agg, share), "p")
    s = out["score_p"].dropna()
    ranks = out["rank_p"].dropna().astype(int)
    assert sorted(ranks) == list(range(1, len(s) + 1))
    assert out["rank_p"].isna().equals(out["score_p"].isna())
    # better score -> better (smaller) rank
    ordered = out.dropna(subset=["score_p"]).sort_values("rank_p")["score_p"].round(9)
    assert ordered.is_monotonic_decreasing


@given(st.lists(st.integers(0, 3), min_size=1, max_size=12))
def test_rank_ties_broken_by_code(values):
    codes = pd.Series(
        [f"47{i:03d}" for i in range(len(values))][::-1]
    )  # codes descending by position
    r = rank_scores(pd.Series(values, dtype=float), codes)
    assert sorted(r.astype(int)) == list(range(1, len(values) + 1))
    for i in range(len(values)):
        for j in range(len(values)):
            if values[i] == values[j] and codes[i] < codes[j]:
                assert r[i] < r[j]


# --------------------------------------------------------------------------------------------
# scenarios, EPCI, all profiles
# --------------------------------------------------------------------------------------------


def test_score_changes_by_hand():
    cfg = scoring_config_from_dict(small_doc())
    before = small_df()
    after = before.copy()
    after.loc[10, "i1"] = 20.0  # A catches up with B on i1
    ch = score_changes(before, after, cfg, "p")
    # normalised with before's min/max (10, 30): i1 of A 0 -> 50; score A 25 -> (50 + 50) / 2 = 50
    assert ch.loc[10, "score_before"] == pytest.approx(25.0)
    assert ch.loc[10, "score_after"] == pytest.approx(50.0)
    assert ch.loc[10, "contribution_a"] == pytest.approx(25.0)  # weight 1/2 x pillar change 50
    assert ch.loc[10, "contribution_b"] == pytest.approx(0.0)
    assert ch.loc[[11, 12], "score_change"].tolist() == pytest.approx([0.0, 0.0])  # others unmoved
    # ranks: A 3 -> 2 (50 > 41.35), B 2 -> 3
    assert ch["rank_change"].tolist() == [1, -1, 0]
    same = score_changes(before, before, cfg, "p")
    assert (same["score_change"] == 0).all() and (same["rank_change"] == 0).all()
    with pytest.raises(DataError):
        score_changes(before, after.iloc[:2], cfg, "p")


def test_epci_scores_population_weighted_by_hand():
    df = pd.DataFrame(
        {
            "code": ["47001", "47002", "47003", "47004"],
            "epci": ["E1", "E1", "E1", "E2"],
            "epci_nom": ["Un", "Un", "Un", "Deux"],
            "population": [100.0, 300.0, 50.0, 1000.0],
            "score_general": [10.0, 30.0, np.nan, 80.0],
        }
    )
    out = epci_scores(df).set_index("epci")
    # E1: (100 x 10 + 300 x 30) / (100 + 300) = 25 ; the commune without score is left out
    assert out.loc["E1", "score_general"] == pytest.approx(25.0)
    assert out.loc["E2", "score_general"] == pytest.approx(80.0)
    assert out.loc["E1", "population"] == 450 and out.loc["E1", "n_communes"] == 3
    assert out.loc["E2", "rank_general"] == 1 and out.loc["E1", "rank_general"] == 2
    with pytest.raises(DataError, match="population"):
        epci_scores(df.assign(population=[1.0, np.nan, 1.0, 1.0]))


# --------------------------------------------------------------------------------------------
# the shipped configuration, on a synthetic 40-commune table
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    return load_scoring_config(SCORING_TOML)


def synthetic(cfg, n=40, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "code": [f"47{i:03d}" for i in range(1, n + 1)],
            "nom": [f"C{i}" for i in range(n)],
            "population": rng.integers(50, 5000, n).astype(float),
            "epci": rng.choice(["E1", "E2", "E3"], n),
        }
    )
    df["epci_nom"] = "EPCI " + df["epci"]
    cols = set(cfg.indicators) | {
        a for v in cfg.montecarlo["threshold_alternatives"].values() for a in v
    }
    for c in sorted(cols):
        df[c] = rng.gamma(2.0, 10.0, n)
    df["tr_pvd"] = (rng.random(n) < 0.2).astype(float)
    df.loc[rng.random(n) < 0.2, "housing_price_flat_rel"] = np.nan
    return df


def test_scoring_toml_loads_and_validates(shipped, tmp_path):
    from geoattract.config import load_study_config

    config = load_study_config("lot-et-garonne", data_dir=tmp_path)  # the TOML, not the data
    assert config.config_file("scoring") == SCORING_TOML.resolve()
    assert set(shipped.profiles) == {
        "general",
        "jeunes",
        "familles",
        "personnel_medical",
        "saisonniers",
        "teletravailleurs",
    }
    assert set(shipped.pillars) == {
        "services",
        "health",
        "culture",
        "housing",
        "transition",
        "environment",
    }
    for name, prof in shipped.profiles.items():
        assert len(prof["rationale"]) > 80, name
    ind_w, pil_w = shipped.profile_weights("familles")
    assert ind_w["time_school_primary_min"] > ind_w["time_bakery_min"]
    assert shipped.montecarlo["threshold_alternatives"]["count_gp_20min"] == [
        "count_gp_10min",
        "count_gp_30min",
    ]


def test_bad_toml_names_key(tmp_path):
    text = SCORING_TOML.read_text(encoding="utf-8").replace(
        'normalisation = "minmax"', 'normalisation = "softmax"'
    )
    p = tmp_path / "scoring.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"method\.normalisation"):
        load_scoring_config(p)


def test_score_all_profiles_columns(shipped):
    df = synthetic(shipped)
    out = score_all_profiles(df, shipped)
    for p in shipped.profiles:
        assert sorted(out[f"rank_{p}"].astype(int)) == list(range(1, len(df) + 1))
    assert out["pillar_housing"].equals(out["pillar_housing_general"])
    assert (out["n_missing_indicators"] == df["housing_price_flat_rel"].isna().astype(int)).all()
    assert set(out.loc[df["housing_price_flat_rel"].isna(), "missing_indicators"]) == {
        "housing_price_flat_rel"
    }
    # profiles differ: the familles ranking is not the general one
    assert not out["rank_familles"].equals(out["rank_general"])


# --------------------------------------------------------------------------------------------
# Monte Carlo and sensitivity
# --------------------------------------------------------------------------------------------


def test_monte_carlo_deterministic_and_ordered(shipped):
    df = synthetic(shipped)
    a = monte_carlo_ranks(df, shipped, "jeunes", n=60, seed=5)
    b = monte_carlo_ranks(df, shipped, "jeunes", n=60, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert (a["rank_jeunes_p05"] <= a["rank_jeunes_median"]).all()
    assert (a["rank_jeunes_median"] <= a["rank_jeunes_p95"]).all()
    assert a["rank_jeunes_p05"].min() >= 1 and a["rank_jeunes_p95"].max() <= len(df)
    c = monte_carlo_ranks(df, shipped, "jeunes", n=60, seed=6)
    assert not c.equals(a)


def test_monte_carlo_without_uncertainty_matches_deterministic():
    # one normalisation, no alternatives, huge Dirichlet concentration: every draw = base model
    doc = small_doc()
    doc["montecarlo"] = {"normalisations": ["minmax"], "concentration": 1e9}
    cfg = scoring_config_from_dict(doc)
    mc = monte_carlo_ranks(small_df(), cfg, "p", n=20, seed=1)
    det = composite_scores(small_df(), cfg, "p")
    assert mc["rank_p_median"].tolist() == det["rank_p"].astype(float).tolist()
    np.testing.assert_allclose(mc["score_p_median"], det["score_p"], atol=1e-3)


def test_sensitivity_single_group_and_null_group():
    df = small_df()
    df["i3_alt"] = df["i3"]  # an alternative identical to the declared column: no effect at all
    doc = small_doc()
    doc["montecarlo"] = {
        "normalisations": ["minmax"],
        "concentration": 2.0,
        "threshold_alternatives": {"i3": ["i3_alt"]},
    }
    cfg = scoring_config_from_dict(doc)
    s = sensitivity(df, cfg, "p", n=400, seed=2)
    assert list(s.index) == ["weights", "thresholds"]
    assert s.loc["thresholds", "first_order"] == 0.0 and s.loc["thresholds", "total_order"] == 0.0
    # the weights explain all the rank variance: S and ST close to 1 (Monte Carlo error)
    assert s.loc["weights", "first_order"] == pytest.approx(1.0, abs=0.15)
    assert s.loc["weights", "total_order"] == pytest.approx(1.0, abs=0.15)
    per = sensitivity(df, cfg, "p", n=50, seed=2, per_commune=True)
    assert list(per.columns) == [
        "S_weights",
        "ST_weights",
        "S_thresholds",
        "ST_thresholds",
        "rank_variance",
    ]
    assert s.attrs["evaluations"] == 400 * 4


def test_shipped_sensitivity_groups(shipped):
    s = sensitivity(synthetic(shipped), shipped, "general", n=40, seed=1)
    assert list(s.index) == ["weights", "normalisation", "thresholds"]
    assert np.isfinite(s.to_numpy()).all()


def test_config_not_mutated(shipped):
    before = copy.deepcopy(shipped.profiles)
    composite_scores(synthetic(shipped), shipped, "saisonniers")
    assert shipped.profiles == before


def test_zscore_of_a_tiny_spread_does_not_underflow():
    # found by hypothesis: squaring deviations of 1e-188 underflows; z-scores are scale-free
    tiny = normalise(pd.Series([0.0, 1.786561e-188]), "zscore")
    unit = normalise(pd.Series([0.0, 1.0]), "zscore")
    np.testing.assert_allclose(tiny, unit)
    # n = 2: z = ±1/√2 → 50 ± 50·0.7071/3
    np.testing.assert_allclose(unit, [50 - 50 * np.sqrt(0.5) / 3, 50 + 50 * np.sqrt(0.5) / 3])


# --------------------------------------------------------------------------------------------
# units, directions, labels, the one percentile-rank rule
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["minmax", "zscore", "rank", "distance_to_reference"])
@pytest.mark.parametrize("factor", [60.0, 1000.0])
def test_a_unit_change_leaves_scores_unchanged(method, factor):
    # minutes -> seconds (x 60) or km -> m (x 1000) on every indicator: every method is
    # scale-free (distance_to_reference too, its reference being then the scaled mean)
    doc = small_doc(normalisation=method)
    for spec in doc["indicators"].values():
        spec.pop("reference", None)
    cfg = scoring_config_from_dict(doc)
    df = small_df()
    scaled = df.assign(**{c: df[c] * factor for c in ("i1", "i2", "i3")})
    a = composite_scores(df, cfg, "p")
    b = composite_scores(scaled, cfg, "p")
    np.testing.assert_allclose(b["score_p"], a["score_p"], rtol=1e-12)
    assert b["rank_p"].tolist() == a["rank_p"].tolist()


def test_scores_move_with_each_indicator_in_its_direction():
    # minmax, arithmetic: B (i1 = 20) scores 41.346; raising i1 (higher is better) to 25 adds
    # 0.5 x 25 = 12.5 points of pillar a, lowering i2 (lower is better) from 10 to 5 adds
    # 0.5 x 0.5 x 50 = 12.5 points; the opposite moves take them away
    cfg = scoring_config_from_dict(small_doc())
    base = composite_scores(small_df(), cfg, "p").loc[11, "score_p"]
    assert base == pytest.approx((50 + (50 + 200 / 13) / 2) / 2)
    for col, value, delta in (("i1", 25.0, 12.5), ("i1", 15.0, -12.5), ("i2", 5.0, 12.5)):
        df = small_df()
        df.loc[11, col] = value
        after = composite_scores(df, cfg, "p").loc[11, "score_p"]
        assert after - base == pytest.approx(delta), (col, value)


def test_labels_come_from_the_configuration():
    cfg = scoring_config_from_dict(small_doc())
    assert cfg.indicator_label("i2") == "indicateur 2"
    assert cfg.pillar_label("b") == "B"
    assert cfg.profile_label("p") == "P"
    assert cfg.indicator_label("time_gym_min", default="time_gym_min") == "time_gym_min"
    with pytest.raises(ConfigError, match="unknown indicator 'i9'"):
        cfg.indicator_label("i9")


def test_rank_normalisation_and_afom_percentile_count_the_same_way():
    # 7 values with ties, lower is better: the rank normalisation (mid-rank on an n - 1 scale)
    # is the AFOM percentile p = 100 (worse + equal / 2) / n rescaled: 100 (p n / 100 - 1/2) / (n - 1)
    s = pd.Series([4.0, 1.0, 4.0, 9.0, 2.0, 4.0, 7.0], name="t")
    p = percentile_rank(s, "lower_is_better")
    # 1 -> 6 worse -> 100 x 6.5 / 7 ; the three 4s -> 2 worse, 3 equal -> 100 x 3.5 / 7 = 50
    assert p.tolist() == pytest.approx(
        [50.0, 100 * 6.5 / 7, 50.0, 100 * 0.5 / 7, 100 * 5.5 / 7, 50.0, 100 * 1.5 / 7]
    )
    n = len(s)
    expected = 100 * (p * n / 100 - 0.5) / (n - 1)
    np.testing.assert_allclose(normalise(s, "rank", "lower_is_better"), expected, atol=1e-12)
