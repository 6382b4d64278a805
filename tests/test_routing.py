"""Tests of the routing engine against hand-computed times and networkx."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from geoattract.errors import DataError, RoutingError
from geoattract.routing import (
    count_within,
    count_within_multi,
    facility_access,
    nearest_facility_times,
    nearest_facility_times_multi,
    reach,
    routing_graph,
    routing_graph_from_arrays,
    travel_times_to,
    travel_times_within,
)
from geoattract.routing.synthetic import (
    HIGHWAY_CLASSES,
    HIGHWAY_SPEEDS_KPH,
    synthetic_road_arrays,
    synthetic_road_graph,
)


def grid_graph(size: int = 3, edge_s: float = 60.0) -> nx.MultiDiGraph:
    """Two-way square grid: nodes (i, j), every edge ``edge_s`` seconds."""
    G = nx.MultiDiGraph(crs="EPSG:2154")
    for i in range(size):
        for j in range(size):
            G.add_node((i, j), x=1000.0 * j, y=1000.0 * i)
    for i in range(size):
        for j in range(size):
            for di, dj in ((0, 1), (1, 0)):
                a, b = (i, j), (i + di, j + dj)
                if b in G:
                    G.add_edge(a, b, travel_time=edge_s)
                    G.add_edge(b, a, travel_time=edge_s)
    return G


def one_way_graph() -> nx.MultiDiGraph:
    """a -> b (10 s), b -> c (10 s), c -> a (100 s), plus an isolated node z."""
    G = nx.MultiDiGraph()
    G.add_edge("a", "b", travel_time=10.0)
    G.add_edge("b", "c", travel_time=10.0)
    G.add_edge("c", "a", travel_time=100.0)
    G.add_node("z")
    return G


# ---------------------------------------------------------------------------- building


def test_routing_graph_keeps_min_parallel_edge_and_drops_self_loops():
    G = nx.MultiDiGraph()
    G.add_edge(1, 2, key="slow", travel_time=30.0)
    G.add_edge(1, 2, key="fast", travel_time=12.5)
    G.add_edge(2, 2, travel_time=1.0)
    rg = routing_graph(G)
    assert rg.n_nodes == 2
    assert rg.n_edges == 1
    assert rg.weights.tolist() == [12.5]
    assert rg.edge_keys.tolist() == ["fast"]
    assert rg.rindptr.tolist() == [0, 0, 1]
    assert rg.rindices.tolist() == [0]


@pytest.mark.parametrize("bad", [None, -1.0, float("nan"), "fast"])
def test_routing_graph_rejects_bad_weight_and_names_edge(bad):
    G = nx.MultiDiGraph()
    G.add_edge("n1", "n2", travel_time=5.0)
    if bad is None:
        G.add_edge("n2", "n3")
    else:
        G.add_edge("n2", "n3", travel_time=bad)
    with pytest.raises(RoutingError, match=r"travel_time.*'n2', 'n3'"):
        routing_graph(G)


def test_routing_graph_rejects_undirected():
    with pytest.raises(RoutingError, match="directed"):
        routing_graph(nx.Graph([(1, 2)]))


def test_unknown_node_is_named():
    rg = routing_graph(one_way_graph())
    with pytest.raises(RoutingError, match=r"origins.*'nowhere'"):
        travel_times_within(rg, ["a", "nowhere"], 60)
    with pytest.raises(RoutingError, match=r"facility_nodes.*'q'"):
        nearest_facility_times(rg, ["q"])


def test_negative_cutoff_and_offsets_rejected():
    rg = routing_graph(one_way_graph())
    with pytest.raises(RoutingError, match="cutoff"):
        travel_times_within(rg, ["a"], -1)
    with pytest.raises(RoutingError, match="origin_offsets"):
        travel_times_within(rg, ["a"], 10, origin_offsets=[-3.0])
    with pytest.raises(RoutingError, match="thresholds_s"):
        count_within(rg, ["a"], ["b"], [float("nan")])


def test_integer_ids_lookup_without_identity():
    rg = routing_graph_from_arrays([0, 1], [1, 2], [1.0, 2.0], node_ids=np.array([10, 20, 30]))
    times = travel_times_to(rg, [10], [30, 20, 10])
    assert times.tolist() == [[3.0, 1.0, 0.0]]


# ---------------------------------------------------------------------------- exact times


def test_grid_known_times():
    rg = routing_graph(grid_graph(3, 60.0))
    table = travel_times_within(rg, [(0, 0)], 1e9)
    got = {rg.node_ids[t]: d for t, d in zip(table.target, table.time, strict=True)}
    assert got == {(i, j): 60.0 * (i + j) for i in range(3) for j in range(3)}
    # cutoff keeps exactly the nodes at <= 120 s (a node at exactly the cutoff is kept)
    table = travel_times_within(rg, [(0, 0)], 120.0)
    assert sorted(rg.node_ids[t] for t in table.target) == [
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
        (2, 0),
    ]


def test_one_way_edges_and_unreachable_node():
    rg = routing_graph(one_way_graph())
    times = travel_times_to(rg, ["a", "b", "z"], ["a", "b", "c", "z"])
    np.testing.assert_array_equal(
        times,
        [
            [0.0, 10.0, 20.0, np.inf],
            [110.0, 0.0, 10.0, np.inf],
            [np.inf, np.inf, np.inf, 0.0],
        ],
    )
    near = nearest_facility_times(rg, ["a"])  # every node, by position a, b, c, z
    np.testing.assert_array_equal(near, [0.0, 110.0, 100.0, np.inf])
    table = travel_times_within(rg, ["z"], 1e6)
    assert table.target.tolist() == [3]  # only itself, never the others with time 0


def test_two_facilities_at_equal_distance_tie_goes_to_first_listed():
    G = nx.MultiDiGraph()
    for a, b in (("w", "m"), ("m", "e")):
        G.add_edge(a, b, travel_time=25.0)
        G.add_edge(b, a, travel_time=25.0)
    rg = routing_graph(G)
    for facilities in (["w", "e"], ["e", "w"]):
        times, which = nearest_facility_times(rg, facilities, origins=["m"], return_facility=True)
        assert times.tolist() == [25.0]
        assert which.tolist() == [0]


def test_facility_on_origin_node_is_zero_plus_offsets():
    rg = routing_graph(grid_graph(3, 60.0))
    times, which = nearest_facility_times(
        rg,
        [(2, 2), (0, 0)],
        facility_offsets=[0.0, 30.0],
        origins=[(0, 0), (0, 1)],
        return_facility=True,
    )
    # (0, 0) -> facility on itself: 0 + 30 s offset; (0, 1): 60 + 30 = 90 s
    assert times.tolist() == [30.0, 90.0]
    assert which.tolist() == [1, 1]
    table = reach(rg, [(0, 0)], [(0, 0)], 100.0, origin_offsets=[7.0], target_offsets=[3.0])
    assert table.time.tolist() == [10.0]


def test_multi_source_cutoff_and_early_stop_give_inf_not_zero():
    rg = routing_graph(one_way_graph())
    # to c: from a 20 s (a -> b -> c), from b 10 s, z never
    times = nearest_facility_times(rg, ["c"], cutoff=15.0)
    np.testing.assert_array_equal(times, [np.inf, 10.0, 0.0, np.inf])
    # early stop on origins: b settles first; a must come back exact or inf, never partial
    times = nearest_facility_times(rg, ["c"], origins=["b", "a"])
    np.testing.assert_array_equal(times, [10.0, 20.0])


def test_counts_exact_and_monotone():
    rg = routing_graph(grid_graph(3, 60.0))
    everything = list(rg.node_ids)
    counts = count_within(rg, [(0, 0), (1, 1)], everything, [0, 60, 120, 240])
    # corner: 1, 3, 6, 9 nodes; centre: 1, 5, 9, 9
    assert counts.tolist() == [[1, 3, 6, 9], [1, 5, 9, 9]]
    assert counts.dtype == np.int64
    assert (np.diff(counts, axis=1) >= 0).all()
    sums = count_within(
        rg, [(0, 0)], [(0, 1), (2, 2)], [60, 240], weights=[2.5, 4.0], facility_offsets=[0, 1]
    )
    # (2, 2) is 240 s away + 1 s offset: beyond 240
    assert sums.tolist() == [[2.5, 2.5]]


def test_count_within_multi_and_facility_access_match_single_calls():
    rg = routing_graph(grid_graph(4, 45.0))
    cats = {
        "gp": [(0, 3), (2, 2)],
        "school": ([(0, 0), (3, 3), (3, 3)], [100.0, 50.0, 25.0]),
        "none": [],
    }
    origins = [(0, 0), (1, 1), (3, 3)]
    thr = [45, 90, 180]
    multi = count_within_multi(rg, origins, cats, thr)
    assert multi["gp"].tolist() == count_within(rg, origins, cats["gp"], thr).tolist()
    school = count_within(rg, origins, cats["school"][0], thr, weights=cats["school"][1])
    np.testing.assert_array_equal(multi["school"], school)
    # school capacity from (0, 0): itself 100; from (1, 1): (0, 0) at 90 s, (3, 3) at 180 s
    assert multi["school"].tolist() == [
        [100.0, 100.0, 100.0],
        [0.0, 100.0, 175.0],
        [75.0, 75.0, 75.0],
    ]
    assert multi["gp"].tolist() == [[0, 0, 2], [0, 1, 2], [0, 1, 2]]
    assert multi["none"].tolist() == [[0, 0, 0]] * 3
    access = facility_access(rg, origins, cats, [45])
    near = nearest_facility_times_multi(rg, origins, cats)
    for name in cats:
        np.testing.assert_array_equal(access.nearest_s[name], near[name])
    # gp from node 0 = (0, 0): nearest is (0, 3) at 135 s, beyond the 45 s cutoff: completed
    assert access.nearest_s["gp"][0] == 135.0
    assert np.isinf(access.nearest_s["none"]).all()


def test_reach_reverse_direction():
    rg = routing_graph(one_way_graph())
    fwd = reach(rg, ["a"], ["b", "c"], 1000).to_dense()
    rev = reach(rg, ["a"], ["b", "c"], 1000, reverse=True).to_dense()
    assert fwd.tolist() == [[10.0, 20.0]]
    assert rev.tolist() == [[110.0, 100.0]]  # from b and c to a


def test_reach_table_views_keep_zero_times():
    rg = routing_graph(one_way_graph())
    table = travel_times_within(rg, ["a", "z"], 15)
    frame = table.to_frame()
    assert frame.to_dict("list") == {
        "origin": [0, 0, 1],
        "target": [0, 1, 3],
        "time": [0.0, 10.0, 0.0],
    }
    labelled = table.to_frame(["a", "z"], rg.node_ids)
    assert labelled["target"].tolist() == ["a", "b", "z"]
    assert labelled["origin"].tolist() == ["a", "a", "z"]
    matrix = table.to_sparse()
    assert matrix.shape == (2, 4)
    assert matrix.nnz == 3  # the zero times are explicit entries
    assert matrix[1, 3] == 0.0


def test_spatial_order_changes_positions_not_results():
    G = synthetic_road_graph(400, seed=9)
    ordered = routing_graph(G)
    plain = routing_graph(G, spatial_order=False)
    assert plain.node_ids.tolist() == list(G.nodes)
    assert ordered.node_ids.tolist() != plain.node_ids.tolist()
    origins = [0, 57, 311]
    a = travel_times_within(ordered, origins, 300).to_frame(origins, ordered.node_ids)
    b = travel_times_within(plain, origins, 300).to_frame(origins, plain.node_ids)
    key = ["origin", "target"]
    a = a.sort_values(key, ignore_index=True)
    b = b.sort_values(key, ignore_index=True)
    assert a.equals(b)


def test_threads_do_not_change_results():
    rg = synthetic_road_arrays(2_500, seed=3)
    origins = np.arange(0, rg.n_nodes, 97)
    one = travel_times_within(rg, origins, 600, n_threads=1)
    two = travel_times_within(rg, origins, 600, n_threads=2)
    for attr in ("origin", "target", "time"):
        np.testing.assert_array_equal(getattr(one, attr), getattr(two, attr))


# ---------------------------------------------------------------------------- property test


@st.composite
def random_digraphs(draw):
    n = draw(st.integers(min_value=1, max_value=12))
    edges = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1),
                st.integers(0, n - 1),
                st.floats(min_value=0.0, max_value=100.0, allow_nan=False),
            ),
            max_size=40,
        )
    )
    G = nx.MultiDiGraph()
    G.add_nodes_from(range(n))  # nodes without edges are unreachable
    for u, v, w in edges:
        G.add_edge(u, v, travel_time=w)
    origin = draw(st.integers(0, n - 1))
    facilities = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4))
    cutoff = draw(st.floats(min_value=0.0, max_value=300.0))
    return G, origin, facilities, cutoff


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_digraphs())
def test_matches_networkx(case):
    G, origin, facilities, cutoff = case
    rg = routing_graph(G)
    # bounded single source
    expected = nx.single_source_dijkstra_path_length(G, origin, cutoff=cutoff, weight="travel_time")
    table = travel_times_within(rg, [origin], cutoff)
    got = dict(zip(rg.node_ids[table.target].tolist(), table.time.tolist(), strict=True))
    assert got.keys() == expected.keys()
    for node, t in expected.items():
        assert math.isclose(got[node], t, abs_tol=1e-6)
    # nearest facility = multi-source Dijkstra on the reversed graph
    expected_near = nx.multi_source_dijkstra_path_length(
        G.reverse(copy=True), set(facilities), weight="travel_time"
    )
    near = nearest_facility_times(rg, facilities)
    for pos, node in enumerate(rg.node_ids.tolist()):
        if node in expected_near:
            assert math.isclose(near[pos], expected_near[node], abs_tol=1e-6)
        else:
            assert near[pos] == np.inf
    # counts against the networkx distances
    thr = [cutoff / 2, cutoff]
    counts = count_within(rg, [origin], facilities, thr)
    for k, limit in enumerate(thr):
        assert counts[0, k] == sum(1 for f in facilities if expected.get(f, np.inf) <= limit)


# ---------------------------------------------------------------------------- synthetic


def test_synthetic_graph_model_and_determinism():
    G = synthetic_road_graph(900, seed=5)
    again = synthetic_road_graph(900, seed=5)
    assert nx.utils.graphs_equal(G, again)
    assert G.graph["crs"] == "EPSG:2154"
    assert G.graph["schematic"] is True
    assert 800 <= G.number_of_nodes() <= 900
    speeds = dict(zip(HIGHWAY_CLASSES, HIGHWAY_SPEEDS_KPH, strict=True))
    for _, _, d in G.edges(data=True):
        assert d["speed_kph"] == speeds[d["highway"]]
        assert math.isclose(d["travel_time"], d["length"] / (d["speed_kph"] / 3.6))
    assert any(d["oneway"] for _, _, d in G.edges(data=True))
    assert nx.is_strongly_connected(G)
    xs = [d["x"] for _, d in G.nodes(data=True)]
    assert 480_000 < min(xs) and max(xs) < 520_000
    rg = synthetic_road_arrays(900, seed=5)
    rg_nx = routing_graph(G)
    np.testing.assert_array_equal(rg.indptr, rg_nx.indptr)
    np.testing.assert_array_equal(rg.indices, rg_nx.indices)
    np.testing.assert_allclose(rg.weights, rg_nx.weights, rtol=0, atol=1e-9)


def test_synthetic_arrays_degree_hierarchy_and_connectivity():
    rg = synthetic_road_arrays(40_000, seed=47)
    import scipy.sparse as sp

    adj = sp.csr_matrix((rg.weights, rg.indices, rg.indptr), shape=(rg.n_nodes, rg.n_nodes))
    n_comp, _ = connected_components(adj, directed=True, connection="strong")
    assert n_comp == 1
    undirected = ((adj + adj.T) > 0).astype(np.int8)
    degree = np.asarray(undirected.sum(axis=1)).ravel()
    share_3_4 = np.isin(degree, (3, 4)).mean()
    assert share_3_4 > 0.7
    assert (degree == 1).sum() > 0  # some dead ends


def test_synthetic_rejects_tiny():
    with pytest.raises(DataError, match="n_nodes"):
        synthetic_road_graph(2)


def test_thread_count_rule_and_map_threads_order(monkeypatch):
    from geoattract._util.parallel import THREADS_ENV_VAR, map_threads, thread_count
    from geoattract.errors import ConfigError

    monkeypatch.setenv(THREADS_ENV_VAR, "3")
    assert thread_count() == 3
    assert thread_count(1) == 1  # the argument wins over the environment
    monkeypatch.setenv(THREADS_ENV_VAR, "many")
    with pytest.raises(ConfigError, match=THREADS_ENV_VAR):
        thread_count()
    with pytest.raises(ConfigError, match="n_threads"):
        thread_count(0)
    monkeypatch.delenv(THREADS_ENV_VAR)
    assert thread_count() >= 1
    assert map_threads(lambda x: x * x, range(7), 2) == [0, 1, 4, 9, 16, 25, 36]
    assert map_threads(str, [], 2) == []
