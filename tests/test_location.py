"""Site selection: the exact and greedy solvers against brute force, and hand-made instances."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoattract.accessibility.location import (
    GREEDY_GUARANTEE,
    LocationProblem,
    attribute_gains,
    choose_sites,
    solve_exact,
    solve_greedy,
)
from geoattract.errors import DataError


def dense_problem(gain: np.ndarray, weights, model: str = "best", caps=None) -> LocationProblem:
    rows, cols = np.nonzero(gain)
    return LocationProblem(
        rows, cols, gain[rows, cols], np.asarray(weights, float), gain.shape[1], model, caps
    )


def brute_force(problem: LocationProblem, k: int) -> float:
    """The optimum by enumeration: sets of at most k sites (best), or unit vectors (capped)."""
    n = problem.n_candidates
    best = 0.0
    if problem.model == "best":
        for size in range(1, min(k, n) + 1):
            for sites in itertools.combinations(range(n), size):
                x = np.zeros(n)
                x[list(sites)] = 1
                best = max(best, problem.value(x))
        return best
    for x in itertools.product(range(k + 1), repeat=n):
        if sum(x) <= k:
            best = max(best, problem.value(np.array(x)))
    return best


# Four demands a, b, c, d (weights 4, 3, 3, 4) and e (2); three candidates:
#   left covers a, b (7); right covers c, d (7); middle covers b, c, e (8).
# Greedy takes the middle first (8), then a or d (+4): 12. The optimum is left + right: 14.
COVER = np.array(
    [
        # left right middle
        [1, 0, 0],  # a
        [1, 0, 1],  # b
        [0, 1, 1],  # c
        [0, 1, 0],  # d
        [0, 0, 1],  # e
    ],
    dtype=float,
)
COVER_W = [4, 3, 3, 4, 2]


def test_maximal_covering_by_hand():
    problem = dense_problem(COVER, COVER_W)
    exact = solve_exact(problem, 2)
    assert exact.value == 14 and exact.upper_bound == 14 and exact.gap == 0
    assert exact.counts.tolist() == [1, 1, 0]
    greedy = solve_greedy(problem, 2)
    assert greedy.order == (2, 0)  # the middle first, then left (ties: the first candidate)
    assert greedy.value == 12
    # the online bound, smallest along the way: at the start the two largest single gains,
    # 8 + 7 = 15; after the middle, 8 + 4 + 4 = 16; at the end 12 + 4 = 16; and
    # 12 / (1 - 1/e) = 18.98
    assert greedy.upper_bound == 15
    assert greedy.value >= GREEDY_GUARANTEE * exact.value
    # each demand counts once, at its best site: the site gains add up to the value
    site, serving = attribute_gains(problem, exact.counts)
    assert site.tolist() == [7, 7, 0]
    assert serving.tolist() == [0, 0, 1, 1, -1]


def test_one_site_and_too_many_units():
    problem = dense_problem(COVER, COVER_W)
    assert solve_exact(problem, 1).counts.tolist() == [0, 0, 1]  # middle: 8
    # three units cover everything (16); a fourth adds nothing and is not placed
    four = choose_sites(problem, 4)
    assert four.value == 16 and int(four.counts.sum()) == 3
    assert solve_greedy(problem, 4).value == 16


def test_p_median_with_the_existing_offer_by_hand():
    """Minutes saved: demand i gains max(0, t0_i - t_ij) at its best new site."""
    t0 = np.array([10.0, 10.0, 4.0])  # today's nearest facility
    t = np.array([[2.0, 9.0], [8.0, 3.0], [1.0, 5.0]])  # demand x candidate
    saved = np.maximum(t0[:, None] - t, 0.0)
    problem = dense_problem(saved, [100, 50, 1000])
    # candidate 0 saves 8*100 + 2*50 + 3*1000 = 3900; candidate 1: 1*100 + 7*50 = 450
    one = solve_exact(problem, 1)
    assert one.counts.tolist() == [1, 0] and one.value == pytest.approx(3900)
    # both: demand 1 takes candidate 1 (7 min saved instead of 2): 3900 + 5*50 = 4150
    two = solve_exact(problem, 2)
    assert two.value == pytest.approx(4150)
    site, _ = attribute_gains(problem, two.counts)
    assert site.tolist() == pytest.approx([3800, 350])


def test_capped_gains_stack_units_and_stop_at_the_target():
    """Additive gains per unit, capped at the room left below a target."""
    gain = np.array([[10.0, 2.0], [0.0, 6.0]])
    caps = np.array([15.0, np.inf])
    problem = dense_problem(gain, [1.0, 2.0], "capped", caps)
    # one unit: candidate 0 gives 10, candidate 1 gives 2 + 12 = 14
    assert solve_exact(problem, 1).counts.tolist() == [0, 1]
    # two units: (2, 0) gives min(20, 15) = 15; (1, 1) gives 12 + 12 = 24; (0, 2) gives 4 + 24
    two = solve_exact(problem, 2)
    assert two.counts.tolist() == [0, 2] and two.value == pytest.approx(28)
    assert brute_force(problem, 3) == pytest.approx(solve_exact(problem, 3).value)
    site, _ = attribute_gains(problem, two.counts)
    assert site.sum() == pytest.approx(28)


def test_uncapped_gains_put_every_unit_at_the_best_site():
    gain = np.array([[3.0, 1.0], [1.0, 2.0]])
    problem = dense_problem(gain, [1.0, 1.0], "capped")  # no caps: additive
    sol = solve_exact(problem, 3)
    assert sol.counts.tolist() == [3, 0] and sol.value == pytest.approx(12)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n_demand=st.integers(1, 7),
    n_cand=st.integers(1, 5),
    k=st.integers(1, 3),
    model=st.sampled_from(["best", "capped"]),
)
def test_exact_equals_brute_force_and_greedy_keeps_its_guarantee(data, n_demand, n_cand, k, model):
    values = st.floats(0, 10, allow_nan=False).map(lambda v: round(v, 2))
    gain = np.array(
        data.draw(st.lists(values, min_size=n_demand * n_cand, max_size=n_demand * n_cand))
    ).reshape(n_demand, n_cand)
    weights = data.draw(st.lists(st.integers(0, 50), min_size=n_demand, max_size=n_demand))
    caps = None
    if model == "capped":
        caps = np.array(
            data.draw(
                st.lists(
                    st.one_of(st.just(math.inf), st.floats(0, 20)),
                    min_size=n_demand,
                    max_size=n_demand,
                )
            )
        )
    problem = dense_problem(gain, weights, model, caps)
    best = brute_force(problem, k)
    exact = solve_exact(problem, k)
    assert exact.value == pytest.approx(best, rel=1e-7, abs=1e-7)
    assert int(exact.counts.sum()) <= k
    greedy = solve_greedy(problem, k)
    assert greedy.value >= GREEDY_GUARANTEE * best - 1e-7
    assert greedy.upper_bound >= best - 1e-7
    site, _ = attribute_gains(problem, exact.counts)
    assert site.sum() == pytest.approx(exact.value, rel=1e-9, abs=1e-9)


def test_large_problems_go_greedy():
    problem = dense_problem(COVER, COVER_W)
    sol = choose_sites(problem, 2, max_pairs=3)  # 6 pairs > 3: greedy
    assert sol.method == "greedy" and sol.value == 12


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_number_of_units(k):
    with pytest.raises(DataError, match="integer >= 1"):
        choose_sites(dense_problem(COVER, COVER_W), k)


def test_bad_problems():
    with pytest.raises(DataError, match="unknown method"):
        choose_sites(dense_problem(COVER, COVER_W), 1, method="magic")
    with pytest.raises(DataError, match="weights must be finite"):
        dense_problem(COVER, [1, 1, 1, np.nan, 1])
    with pytest.raises(DataError, match="unknown model"):
        dense_problem(COVER, COVER_W, "median")
