"""`mahalanobis outliers`: outputs, exit codes, one-line errors, atomic files, stdin/stdout."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mahalanobis.cli import main


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.standard_normal((40, 3)), columns=["a", "b", "c"])
    df.loc[7] = [8.0, -8.0, 8.0]  # a planted outlier
    df.insert(0, "name", [f"row{i}" for i in range(40)])
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path, df


def run(args, capsys, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_outliers_to_csv_file(csv, tmp_path, capsys):
    path, df = csv
    out_path = tmp_path / "res.csv"
    code, out, err = run(["outliers", str(path), "--id-column", "name", "-o", str(out_path)],
                         capsys)
    assert code == 0, err
    res = pd.read_csv(out_path, index_col=0)
    assert list(res.columns) == ["distance", "d2", "pvalue", "outlier", "rank", "n_observed"]
    assert res.shape[0] == 40
    assert res.loc["row7", "outlier"] and res.loc["row7", "rank"] == 1
    X = df[["a", "b", "c"]].to_numpy()
    d2 = np.einsum("ij,jk,ik->i", X - X.mean(0), np.linalg.inv(np.cov(X.T)), X - X.mean(0))
    np.testing.assert_allclose(res["d2"].to_numpy(), d2, rtol=1e-9)
    # the printed table starts with the most outlying row, and a summary follows
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["row", "distance"]
    assert lines[1].startswith("row7")
    assert "outlier(s)" in out and "cutoff d2 > 9.348" in out
    assert f"wrote {out_path}" in out


def test_outliers_json_output(csv, tmp_path, capsys):
    path, _ = csv
    out_path = tmp_path / "res.json"
    code, _, _ = run(["outliers", str(path), "--id-column", "name", "-o", str(out_path),
                      "--quiet"], capsys)
    assert code == 0
    records = json.loads(out_path.read_text())
    assert len(records) == 40 and set(records[0]) >= {"distance", "d2", "pvalue", "outlier"}


def test_stdin_to_stdout_round_trip(csv, capsys, monkeypatch):
    path, _ = csv
    code, out, err = run(["outliers", "-", "--id-column", "name", "--columns", "a,b"], capsys,
                         stdin=path.read_text(), monkeypatch=monkeypatch)
    assert code == 0
    res = pd.read_csv(io.StringIO(out), index_col=0)
    assert res.shape == (40, 6)
    assert "2 columns" in err  # the summary goes to stderr when stdout carries the data


def test_non_numeric_column_is_named(csv, tmp_path, capsys):
    path, _ = csv
    out_path = tmp_path / "res.csv"
    code, _, err = run(["outliers", str(path), "-o", str(out_path)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "column 'name'" in err and "--columns" in err and "--id-column" in err
    assert not out_path.exists()


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["outliers", "missing.csv"], "no such file"),
        (["outliers", "{data}", "--id-column", "nope"], "--id-column 'nope' is not a column"),
        (["outliers", "{data}", "--columns", "a,zz", "--id-column", "name"],
         "--columns names 'zz'"),
        (["outliers", "{data}", "--id-column", "name", "--alpha", "2"], "--alpha must lie"),
        (["outliers", "{data}", "--id-column", "name", "-o", "{tmp}/r.xlsx"],
         "unknown output format"),
        (["outliers", "{data}", "--id-column", "name", "-o", "{tmp}/no/dir/r.csv"],
         "does not exist"),
    ],
)
def test_bad_input_exit_2_one_line(csv, tmp_path, capsys, args, pattern):
    path, _ = csv
    args = [a.format(data=path, tmp=tmp_path) for a in args]
    code, _, err = run(args, capsys)
    assert code == 2
    assert pattern in err
    assert len(err.strip().splitlines()) == 1


def test_missing_values_kept_by_default_or_skipped(tmp_path, capsys):
    path = tmp_path / "na.csv"
    path.write_text("a,b\n1,2\n2,\n3,1\n4,4\n5,2\n0,1\n")
    code, _, err = run(["outliers", str(path), "--nan-policy", "raise"], capsys)
    assert code == 2 and "--missing omit" in err
    code, out, err = run(["outliers", str(path), "--nan-policy", "omit"], capsys)
    assert code == 0
    assert pd.read_csv(io.StringIO(out), index_col=0).shape[0] == 5
    assert "1 skipped" in err
    for extra in ([], ["--missing", "em"], ["--missing", "marginal"]):
        code, out, err = run(["outliers", str(path), *extra], capsys)
        assert code == 0, err
        res = pd.read_csv(io.StringIO(out), index_col=0)
        assert res.shape[0] == 6 and list(res["n_observed"]) == [2, 1, 2, 2, 2, 2]
        assert "1 with missing cells judged on their observed coordinates" in err
    code, out, _ = run(["outliers", str(path), "--missing", "omit"], capsys)
    assert code == 0 and pd.read_csv(io.StringIO(out), index_col=0).shape[0] == 5


def test_missing_em_with_mcd_and_report(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    X[:4] += 6
    X[rng.random(X.shape) < 0.1] = np.nan
    X[0, 1] = np.nan
    path = tmp_path / "na.csv"
    pd.DataFrame(X, columns=["a", "b", "c"]).to_csv(path, index=False)
    out_path, rep = tmp_path / "res.csv", tmp_path / "rep.html"
    code, _, err = run(["outliers", str(path), "--method", "mcd", "--random-state", "1",
                        "-o", str(out_path), "--report", str(rep)], capsys)
    assert code == 0, err
    res = pd.read_csv(out_path, index_col=0)
    assert res["outlier"].iloc[:4].all() and res["n_observed"].iloc[0] <= 2
    html = rep.read_text()
    assert "observed" in html and "missing</td>" in html
    code, _, err = run(["outliers", str(path), "--method", "ledoit_wolf"], capsys)
    assert code == 2 and "--missing marginal" in err


def test_singular_data_message(tmp_path, capsys):
    path = tmp_path / "sing.csv"
    path.write_text("a,b,c\n1,2,3\n2,4,6\n3,1,4\n4,8,12\n5,1,6\n0,2,2\n")  # c = a + b
    code, _, err = run(["outliers", str(path)], capsys)
    assert code == 2 and "rank" in err and "ledoit_wolf" in err


def test_failure_leaves_existing_output_untouched(csv, tmp_path, capsys):
    path, _ = csv
    out_path = tmp_path / "keep.csv"
    out_path.write_text("precious\n")
    code, _, _ = run(["outliers", str(path), "-o", str(out_path)], capsys)  # fails: text column
    assert code == 2
    assert out_path.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".mahalanobis-")] == []


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["outliers", "--help"])
    assert exc.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_console_script_subprocess(csv, tmp_path):
    path, _ = csv
    exe = os.path.join(os.path.dirname(sys.executable), "mahalanobis")
    proc = subprocess.run([exe, "outliers", str(path), "--id-column", "name", "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "name,distance,d2,pvalue,outlier,rank,n_observed"
    bad = subprocess.run([exe, "outliers", str(path)], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
