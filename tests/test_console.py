"""The command line as a person reads it (issue 29): tables within 100 columns, one meaning of
--data-dir, shipped studies exported for editing, warnings that point to the copy."""

from __future__ import annotations

import pandas as pd
import pytest

from geoattract import settings
from geoattract._util.io import resolve_data_dir
from geoattract.app.cli import main
from geoattract.config import load_study_config
from geoattract.errors import DataNotFoundError
from geoattract.outputs.console import fit_table


def test_a_wide_table_is_cut_into_blocks_that_repeat_the_keys():
    labels = [f"Temps d'accès à l'équipement numéro {i} de la liste (min) ↓" for i in range(3)]
    table = pd.DataFrame({"Indicateur": labels})
    for c in range(6):
        table[f"Commune numéro {c} (4700{c})"] = [f"{c},{i} (médiane 9,9)" for i in range(3)]
    text = fit_table(table, keys=["Indicateur"], width=100, key_width=40)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    # three communes of 25 characters beside a 40-character key: blocks of 2, so 3 blocks
    blocks = text.split("\n\n")
    assert len(blocks) == 3
    assert all(b.splitlines()[0].startswith("Indicateur") for b in blocks)
    for c in range(6):  # every value printed once, none lost
        assert sum(f"{c},1 (médiane 9,9)" in line for line in lines) == 1
    # the label wraps onto a second line rather than being cut
    assert "Temps d'accès à l'équipement numéro 0" in text and "la liste (min) ↓" in text


def test_a_narrow_table_is_one_block_with_numbers_right_aligned():
    t = pd.DataFrame({"Code": ["47001", "47157"], "Score": ["73,9", "8,0"]})
    assert fit_table(t, keys=["Code"], width=100) == "Code   Score\n47001   73,9\n47157    8,0"


def test_compare_prints_within_100_columns(tiny_config, capsys):
    codes = ["99001", "99002", "99003", "99004"]
    args = ["compare", *codes, "--config", str(tiny_config.path)]
    assert main([*args, "--data-dir", str(tiny_config.data_dir)]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "Bernac" in out  # 99002


def test_data_dir_is_the_shared_folder_in_every_command(tmp_path, monkeypatch):
    root = tmp_path / "shared"
    study = root / "lot-et-garonne"
    study.mkdir(parents=True)
    (root / "roads").mkdir()
    monkeypatch.delenv(settings.data_dir_env_var, raising=False)
    # a study command finds its folder inside the shared one; the study folder works too
    assert resolve_data_dir(root, "lot-et-garonne") == study.resolve()
    assert resolve_data_dir(study, "lot-et-garonne") == study.resolve()
    # a shared-data command (matrix: roads/, france/) gets the root from either
    assert resolve_data_dir(root) == root.resolve()
    assert resolve_data_dir(study) == root.resolve()
    # the environment variable means the same
    monkeypatch.setenv(settings.data_dir_env_var, str(root))
    assert resolve_data_dir(None, "lot-et-garonne") == study.resolve()
    assert resolve_data_dir(None) == root.resolve()
    with pytest.raises(DataNotFoundError, match="shared data folder"):
        resolve_data_dir(tmp_path / "absent")


def test_matrix_and_run_read_the_same_data_dir(tmp_path, capsys):
    """One folder given to both: the run finds its study inside it, the matrix its roads."""
    root = tmp_path / "shared"
    (root / "lot-et-garonne").mkdir(parents=True)
    (root / "france").mkdir()
    assert (
        main(
            [
                "matrix",
                "--from",
                "47001",
                "--to",
                "47157",
                "--out",
                str(tmp_path / "m.csv"),
                "--data-dir",
                str(root),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert str(root / "roads") in err or str(root / "france") in err
    cfg = load_study_config("lot-et-garonne", data_dir=root)
    assert cfg.data_dir == (root / "lot-et-garonne").resolve()


def test_config_export_copies_a_shipped_study_and_refuses_to_overwrite(tmp_path, capsys):
    dest = tmp_path / "etude"
    assert main(["config", "export", "lot-et-garonne", str(dest)]) == 0
    shipped_files = sorted(
        p.name for p in (settings.studies_folder / "lot-et-garonne").glob("*.toml")
    )
    assert {"study.toml", "facilities.toml", "scoring.toml"} <= set(shipped_files)
    assert sorted(p.name for p in dest.iterdir()) == shipped_files

    copied = load_study_config(dest / "study.toml")
    shipped = load_study_config("lot-et-garonne")
    assert copied.raw == shipped.raw
    assert copied.config_file("scoring") == dest / "scoring.toml"
    capsys.readouterr()
    assert main(["config", "export", "lot-et-garonne", str(dest)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "would overwrite" in err[0] and "study.toml" in err[0]
    assert main(["config", "export", "lot-et-garonne", str(dest), "--force"]) == 0
    assert main(["config", "export", "nowhere", str(tmp_path / "x")]) == 2
    assert "shipped studies: france, lot-et-garonne" in capsys.readouterr().err


def test_a_warning_about_a_shipped_file_points_to_the_export(caplog):
    from geoattract.config.export import edit_hint

    hint = edit_hint(settings.studies_folder / "lot-et-garonne" / "scoring.toml")
    assert "site-packages" not in hint and "geoattract config export lot-et-garonne DIR" in hint


def test_no_help_text_shows_a_doubled_percent_sign():
    import argparse

    from geoattract.app.cli import build_parser

    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    pages = {name: sp.format_help() for name, sp in subs.choices.items()}
    assert {"run", "compare", "levers", "config", "matrix"} <= set(pages)
    assert [name for name, text in pages.items() if "%%" in text] == []
    assert "5-95 % interval" in " ".join(pages["compare"].split())
