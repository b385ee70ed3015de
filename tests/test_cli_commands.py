"""The subcommands other than `outliers`: distance, pairwise, test, chart, report (and
`outliers --report`). In-process through mahalanobis.cli.main, plus one console-script run."""

import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mahalanobis.cli import main


def _has_t2chart():
    try:
        from mahalanobis.control import T2Chart  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def tables(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((30, 3)), columns=["a", "b", "c"])
    X.insert(0, "name", [f"x{i}" for i in range(30)])
    Y = pd.DataFrame(rng.standard_normal((6, 3)) * 2, columns=["a", "b", "c"])
    Y.insert(0, "name", [f"y{i}" for i in range(6)])
    px, py = tmp_path / "X.csv", tmp_path / "Y.csv"
    X.to_csv(px, index=False)
    Y.to_csv(py, index=False)
    return px, py, X.set_index("name"), Y.set_index("name")


def run(args, capsys, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _mahal(Y, X):
    """MATLAB mahal(Y, X): squared distances of Y's rows to X's mean in X's covariance."""
    d = Y - X.mean(0)
    return np.einsum("ij,jk,ik->i", d, np.linalg.inv(np.cov(X.T)), d)


# ----------------------------------------------------------------------- distance
def test_distance_to_reference_like_matlab_mahal(tables, tmp_path, capsys):
    px, py, X, Y = tables
    out = tmp_path / "d.csv"
    code, so, _ = run(["distance", py, "--reference", px, "--id-column", "name", "-o", out],
                      capsys)
    assert code == 0
    res = pd.read_csv(out, index_col=0)
    assert list(res.columns) == ["distance", "d2", "pvalue"] and list(res.index) == list(Y.index)
    np.testing.assert_allclose(res["d2"], _mahal(Y.to_numpy(), X.to_numpy()), rtol=1e-9)
    np.testing.assert_allclose(res["pvalue"], stats.chi2.sf(res["d2"], 3), rtol=1e-8)
    assert "scored against reference" in so and f"wrote {out}" in so


@pytest.mark.parametrize("fmt", ["csv", "json", "npy", "json-object"])
def test_distance_to_center_and_cov_files(tables, tmp_path, capsys, fmt):
    _px, py, X, Y = tables
    m, S = X.to_numpy().mean(0), np.cov(X.to_numpy().T)
    if fmt == "csv":
        pd.DataFrame([m], columns=["a", "b", "c"]).to_csv(tmp_path / "m.csv", index=False)
        np.savetxt(tmp_path / "S.csv", S, delimiter=",")
        opts = ["--center", tmp_path / "m.csv", "--cov", tmp_path / "S.csv"]
    elif fmt == "npy":
        np.save(tmp_path / "m.npy", m)
        np.save(tmp_path / "P.npy", np.linalg.inv(S))
        opts = ["--center", tmp_path / "m.npy", "--precision", tmp_path / "P.npy"]
    elif fmt == "json":
        (tmp_path / "m.json").write_text(json.dumps(m.tolist()))
        (tmp_path / "S.json").write_text(json.dumps(S.tolist()))
        opts = ["--center", tmp_path / "m.json", "--cov", tmp_path / "S.json"]
    else:
        (tmp_path / "fit.json").write_text(json.dumps({"center": m.tolist(), "cov": S.tolist()}))
        opts = ["--center", tmp_path / "fit.json", "--cov", tmp_path / "fit.json"]
    code, out, err = run(["distance", py, "--id-column", "name", "--json", *opts], capsys)
    assert code == 0, err
    records = json.loads(out)
    assert [r["name"] for r in records] == list(Y.index)
    np.testing.assert_allclose([r["d2"] for r in records],
                               _mahal(Y.to_numpy(), X.to_numpy()), rtol=1e-8)
    assert "scored against centre" in err          # summary on stderr when data on stdout


def test_distance_stdin_to_stdout(tables, capsys, monkeypatch):
    px, py, X, Y = tables
    code, out, err = run(["distance", "-", "--reference", px, "--id-column", "name", "-q"],
                         capsys, stdin=py.read_text(), monkeypatch=monkeypatch)
    assert code == 0 and err == ""
    res = pd.read_csv(io.StringIO(out), index_col=0)
    np.testing.assert_allclose(res["d2"], _mahal(Y.to_numpy(), X.to_numpy()), rtol=1e-9)


@pytest.mark.parametrize("opts, msg", [
    ([], "give --reference FILE, or --center"),
    (["--center", "m.csv"], "exactly one of --cov"),
    (["--reference", "nofile.csv"], "nofile.csv: no such file"),
    (["--center", "S.csv", "--cov", "S.csv"], "expected p numbers"),
    (["--center", "m.csv", "--cov", "m.csv"], "expected a 3 x 3 matrix"),
    (["--center", "m.csv", "--cov", "bad.json"], "not a numeric vector or matrix"),
    (["--reference", "X.csv", "--center", "m.csv"], "not both"),
])
def test_distance_bad_input_exit_2_one_line(tables, tmp_path, capsys, monkeypatch, opts, msg):
    _px, py, X, _ = tables
    monkeypatch.chdir(tmp_path)
    np.savetxt("m.csv", X.to_numpy().mean(0)[None], delimiter=",")
    np.savetxt("S.csv", np.cov(X.to_numpy().T), delimiter=",")
    (tmp_path / "bad.json").write_text('{"cov": "x"}')
    code, _out, err = run(["distance", py, "--id-column", "name", "-o", "out.csv", *opts],
                         capsys)
    assert code == 2
    assert msg in err and err.startswith("mahalanobis distance: error:") and err.count("\n") == 1
    assert not (tmp_path / "out.csv").exists()
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".mahalanobis-")]


def test_distance_reference_missing_column(tables, tmp_path, capsys):
    px, _py, _X, Y = tables
    Y.drop(columns="c").to_csv(tmp_path / "Y2.csv")
    code, _, err = run(["distance", tmp_path / "Y2.csv", "--reference", px, "--id-column",
                        "name"], capsys)
    assert code == 2 and "lacks column(s) 'c'" in err


# ----------------------------------------------------------------------- pairwise
def test_pairwise_matrix_and_long(tables, tmp_path, capsys):
    px, py, X, Y = tables
    out = tmp_path / "D.csv"
    code, _, _ = run(["pairwise", px, "--id-column", "name", "-o", out, "-q"], capsys)
    assert code == 0
    D = pd.read_csv(out, index_col=0)
    assert D.shape == (30, 30) and list(D.columns) == list(X.index)
    A = X.to_numpy()
    P = np.linalg.inv(np.cov(A.T))
    diff = A[3] - A[7]
    assert D.loc["x3", "x7"] == pytest.approx(np.sqrt(diff @ P @ diff), rel=1e-8)
    np.testing.assert_array_equal(np.diag(D.to_numpy()), 0.0)
    code, so, _ = run(["pairwise", px, py, "--id-column", "name", "--squared", "--long",
                       "--json", "-q"], capsys)
    recs = json.loads(so)
    assert len(recs) == 30 * 6 and set(recs[0]) == {"row", "col", "d2"}
    r = next(r for r in recs if r["row"] == "x2" and r["col"] == "y4")
    diff = A[2] - Y.to_numpy()[4]
    assert r["d2"] == pytest.approx(diff @ P @ diff, rel=1e-8)


def test_pairwise_with_cov_file_and_errors(tables, tmp_path, capsys):
    px, _py, X, _ = tables
    np.savetxt(tmp_path / "I.csv", np.eye(3), delimiter=",")
    code, out, _ = run(["pairwise", px, "--id-column", "name", "--cov", tmp_path / "I.csv"],
                       capsys)
    D = pd.read_csv(io.StringIO(out), index_col=0)
    A = X.to_numpy()
    assert D.loc["x0", "x1"] == pytest.approx(np.linalg.norm(A[0] - A[1]), rel=1e-10)
    np.savetxt(tmp_path / "I2.csv", np.eye(2), delimiter=",")
    code, _, err = run(["pairwise", px, "--id-column", "name", "--cov", tmp_path / "I2.csv"],
                       capsys)
    assert code == 2 and "expected a 3 x 3 matrix" in err
    code, _, err = run(["pairwise", "-", "-"], capsys)
    assert code == 2 and "only one input" in err


# ----------------------------------------------------------------------- test
@pytest.fixture
def groups(tmp_path):
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.standard_normal((40, 2)), columns=["u", "v"])
    df["arm"] = ["A"] * 20 + ["B"] * 20
    df.loc[df.arm == "B", "u"] += 1.5
    path = tmp_path / "g.csv"
    df.to_csv(path, index=False)
    return path, df


def test_two_sample_test_matches_formula(groups, capsys):
    path, df = groups
    code, out, err = run(["test", path, "--group", "arm", "--json"], capsys)
    assert code == 0, err
    (rec,) = json.loads(out)
    a, b = (df[df.arm == g][["u", "v"]].to_numpy() for g in "AB")
    d = a.mean(0) - b.mean(0)
    Sp = ((len(a) - 1) * np.cov(a.T) + (len(b) - 1) * np.cov(b.T)) / (len(a) + len(b) - 2)
    t2 = len(a) * len(b) / (len(a) + len(b)) * d @ np.linalg.solve(Sp, d)
    assert rec["statistic"] == pytest.approx(t2, rel=1e-9)
    assert (rec["df1"], rec["df2"]) == (2, 37)
    assert rec["pvalue"] == pytest.approx(stats.f.sf(t2 * 37 / (2 * 38), 2, 37), rel=1e-8)
    assert rec["test"] == "two-sample (A - B)"
    assert "Hotelling T² two-sample" in err and "p-value" in err


def test_one_sample_and_paired(groups, tmp_path, capsys):
    path, df = groups
    out = tmp_path / "t.csv"
    code, so, _ = run(["test", path, "--columns", "u,v", "--mu", "0,0", "-o", out], capsys)
    assert code == 0 and f"wrote {out}" in so
    res = pd.read_csv(out, index_col=0)
    X = df[["u", "v"]].to_numpy()
    m = X.mean(0)
    assert res.loc["one-sample", "statistic"] == pytest.approx(
        40 * m @ np.linalg.solve(np.cov(X.T), m), rel=1e-9)
    code, so, _ = run(["test", path, "--columns", "u", "--paired-with", "v", "-q"], capsys)
    res = pd.read_csv(io.StringIO(so), index_col=0)
    d = df.u - df.v
    assert res.loc["paired", "statistic"] == pytest.approx(40 * d.mean() ** 2 / d.var(),
                                                          rel=1e-9)


@pytest.mark.parametrize("opts, msg", [
    (["--group", "nope"], "--group 'nope' is not a column"),
    (["--group", "u"], "must hold exactly 2 groups"),
    ([], "give --mu"),
    (["--columns", "u,v", "--paired-with", "v"], "as many columns"),
    (["--mu", "0"], "mu"),
])
def test_test_bad_input(groups, capsys, opts, msg):
    path, _ = groups
    code, _, err = run(["test", path, *opts], capsys)
    assert code == 2 and msg in err and err.count("\n") == 1


# ----------------------------------------------------------------------- chart
@pytest.mark.skipif(not _has_t2chart(), reason="mahalanobis.control.T2Chart not importable yet")
def test_chart_phase1_and_monitor(tables, tmp_path, capsys):
    px, py, _X, _Y = tables
    out, img = tmp_path / "chart.csv", tmp_path / "chart.svg"
    code, so, err = run(["chart", px, "--id-column", "name", "--monitor", py, "-o", out,
                         "--plot", img], capsys)
    assert code == 0, err
    res = pd.read_csv(out, index_col=0)
    assert list(res["phase"]).count("I") == 30 and list(res["phase"]).count("II") == 6
    assert "phase I" in so and "phase II" in so and img.read_text().startswith("<?xml")


def test_chart_bad_input(tables, tmp_path, capsys):
    px, *_ = tables
    code, _, err = run(["chart", px, "--alpha", "2"], capsys)
    assert code == 2 and "error:" in err
    code, _, err = run(["chart", px, "--id-column", "name", "--plot", tmp_path / "x.gif"],
                       capsys)
    assert code == 2 and "error:" in err
    assert not (tmp_path / "x.gif").exists()


# ----------------------------------------------------------------------- report
def test_report_file_and_stdout(tables, tmp_path, capsys, monkeypatch):
    px, *_ = tables
    out = tmp_path / "r.html"
    code, so, err = run(["report", px, "--id-column", "name", "--method", "empirical", "-o",
                         out, "--title", "My data"], capsys)
    assert code == 0, err
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "My data" in html and f"wrote {out}" in so
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)     # a normal file, not private
    code, so, _ = run(["report", "-", "--id-column", "name", "--method", "empirical"], capsys,
                      stdin=px.read_text(), monkeypatch=monkeypatch)
    assert code == 0 and so.startswith("<!DOCTYPE html>") and "standard input" in so


def test_report_bad_input_leaves_no_file(tables, tmp_path, capsys):
    px, *_ = tables
    out = tmp_path / "r.html"
    code, _, err = run(["report", px, "-o", out], capsys)            # 'name' is text: fine
    assert code == 0
    out.unlink()
    code, _, err = run(["report", px, "--columns", "a,zz", "-o", out], capsys)
    assert code == 2 and "zz" in err and not out.exists()
    code, _, err = run(["report", px, "-o", tmp_path / "r.txt"], capsys)
    assert code == 2 and "name the file .html" in err
    code, _, err = run(["report", px, "--alpha", "1.5", "-o", out], capsys)
    assert code == 2 and "--alpha" in err and not out.exists()
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".mahalanobis-")]


def test_outliers_report_option(tables, tmp_path, capsys):
    px, *_ = tables
    out, rep = tmp_path / "o.csv", tmp_path / "o.html"
    code, so, _ = run(["outliers", px, "--id-column", "name", "-o", out, "--report", rep],
                      capsys)
    assert code == 0 and out.exists() and rep.read_text().startswith("<!DOCTYPE html>")
    assert f"wrote {rep}" in so
    assert list(pd.read_csv(out, index_col=0).columns) == ["distance", "d2", "pvalue",
                                                            "outlier", "rank", "n_observed"]
    out.unlink()
    rep.unlink()
    code, _, _err = run(["outliers", px, "--id-column", "name", "-o", out, "--report",
                        tmp_path / "o.pdf"], capsys)
    assert code == 2 and not out.exists()


def test_progress_flag_writes_a_bar_to_stderr(tables, capsys):
    px, *_ = tables
    pytest.importorskip("tqdm")
    code, _, err = run(["pairwise", px, "--id-column", "name", "--progress"], capsys)
    assert code == 0 and "pairwise:" in err and "row/s" in err     # tqdm's bar
    code, _out, err = run(["pairwise", px, "--id-column", "name"], capsys)
    assert "row/s" not in err                   # stderr is not a terminal here


def test_every_subcommand_has_help_with_examples(capsys):
    for cmd in ("outliers", "distance", "pairwise", "test", "chart", "report"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and f"mahalanobis {cmd} " in out


def test_unexpected_failure_is_exit_1_one_line(tables, capsys, monkeypatch):
    import mahalanobis.cli.pairwise as pw
    px, *_ = tables

    def boom(*a, **k):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(pw, "pairwise", boom)
    code, _, err = run(["pairwise", px, "--id-column", "name"], capsys)
    assert code == 1 and "disk on fire" in err and err.count("\n") == 1


def test_console_script_smoke(tables, tmp_path):
    px, py, *_ = tables
    exe = shutil.which("mahalanobis", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("console script not installed next to this Python")
    res = subprocess.run([exe, "distance", str(py), "--reference", str(px), "--id-column",
                          "name"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == "name,distance,d2,pvalue"
    res = subprocess.run([exe, "distance", str(py)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2 and res.stderr.startswith("mahalanobis distance: error:")
