"""Reference tables of drive times read at the door (issue 23): French CSV dialects, commune
codes a spreadsheet made numbers, repeated and conflicting trips, bad minutes."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoattract.errors import DataError
from geoattract.network.references import read_reference

CODES = ["01004", "01053", "2A004", "2B033", "33063", "38185", "47001", "75056", "09122"]


@st.composite
def reference_files(draw):
    """A pair table as someone may have saved it, and the trips it should read as."""
    n = draw(st.integers(1, 25))
    trips = {}
    for _ in range(n):
        o, d = draw(st.sampled_from(CODES)), draw(st.sampled_from(CODES))
        trips.setdefault((o, d), round(draw(st.floats(0.5, 900.0)), 1))
    rows = list(trips.items())
    repeats = draw(st.lists(st.sampled_from(rows), max_size=5))  # identical repeated rows
    rows = rows + repeats
    rows = draw(st.permutations(rows))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    comma = sep != "," and draw(st.booleans())  # decimal commas where the separator allows
    numeric_codes = draw(st.booleans())  # a spreadsheet dropped the leading zeros
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]))
    lines = [sep.join(["origin", "destination", "osrm_minutes"])]
    for (o, d), m in rows:
        if numeric_codes:
            o, d = (c.lstrip("0") if c.isdigit() else c for c in (o, d))
        text = f"{m:.1f}".replace(".", ",") if comma else f"{m:.1f}"
        lines.append(sep.join([o, d, text]))
    payload = "\n".join(lines) + "\n"
    expected = {k: v for k, v in trips.items() if k[0] != k[1]}
    return payload, encoding, expected


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=reference_files())
def test_any_dialect_reads_as_the_same_trips(tmp_path, case):
    payload, encoding, expected = case
    path = tmp_path / "ref.csv"
    raw = payload.encode("utf-8") if encoding != "latin-1" else payload.encode("latin-1")
    if encoding == "utf-8-sig":
        raw = codecs.BOM_UTF8 + raw
    path.write_bytes(raw)
    if not expected:  # only trips from a commune to itself
        ref = read_reference(path)
        assert len(ref.minutes) == 0
        return
    ref = read_reference(path)
    got = dict(zip(zip(ref.origin, ref.destination, strict=True), ref.minutes, strict=True))
    assert got == pytest.approx(expected)
    assert all(len(c) == 5 for c in [*ref.origin, *ref.destination])
    assert ref.kind == "pairs" and ref.name == "ref"


def test_conflicting_repeats_are_refused_naming_the_pair(tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text("origin;destination;minutes\n47001;47157;50,8\n47001;47157;52,0\n")
    with pytest.raises(DataError, match=r"47001→47157: 50.8 and 52 min"):
        read_reference(path)


def test_bad_minutes_name_their_rows(tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text("origin,destination,minutes\n47001,47157,50.8\n47001,47323,\n47001,47195,-3\n")
    with pytest.raises(DataError) as err:
        read_reference(path)
    assert str(err.value).endswith(
        "column 'minutes' has 2 missing, non-numeric or non-positive value(s): "
        "row 3 (empty), row 4 (-3)"
    )


def test_a_one_destination_table_names_paris_and_restores_codes(tmp_path, caplog):
    path = tmp_path / "to_paris.csv"
    path.write_text("code;osrm_minutes_to_paris\n1004;301,5\n47001;420\n75056;0,0\n")
    with pytest.raises(DataError, match="row 4"):  # Paris to itself at 0 min is a bad value
        read_reference(path)
    path.write_text("code;osrm_minutes_to_paris\n1004;301,5\n47001;420\n")
    caplog.set_level("INFO", logger="geoattract")
    ref = read_reference(path)
    assert ref.kind == "to_one"
    assert ref.origin.tolist() == ["01004", "47001"] and set(ref.destination) == {"75056"}
    assert ref.minutes.tolist() == [301.5, 420.0]
    assert "1 commune code(s) of column 'code' restored to 5 characters" in caplog.text


def test_identical_repeats_and_self_trips_are_counted(tmp_path, caplog):
    path = tmp_path / "ref.csv"
    path.write_text(
        "origin,destination,minutes\n47001,47157,50.8\n47001,47157,50.8\n47001,47001,3\n"
    )
    ref = read_reference(path)
    assert ref.origin.tolist() == ["47001"] and ref.minutes.tolist() == [50.8]
    assert "1 repeated row(s) of the same trip kept once" in caplog.text
    assert "1 trip(s) from a commune to itself left out" in caplog.text
