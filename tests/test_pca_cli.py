"""`mahalanobis pca` and the robust PCA section of the report (--pca K)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import json

import numpy as np
import pandas as pd
import pytest

from mahalanobis.cli import main
from mahalanobis.pca import ROBPCA
from mahalanobis.report import build_report


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5)) @ np.diag([4.0, 2.0, 0.3, 0.3, 0.3])
    X[:3, 3] += 8
    df = pd.DataFrame(X, columns=list("abcde"))
    df.insert(0, "id", [f"r{i}" for i in range(60)])
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path, df.set_index("id")


def test_pca_command_writes_the_table_and_the_map(table, tmp_path, capsys):
    path, df = table
    out, svg = tmp_path / "pca.csv", tmp_path / "map.svg"
    rc = main(["pca", str(path), "-k", "2", "--id-column", "id", "-o", str(out), "--plot",
               str(svg), "--random-state", "0"])
    assert rc == 0
    res = pd.read_csv(out, index_col=0)
    assert list(res.columns) == ["score_distance", "orthogonal_distance", "category", "flag",
                                 "PC1", "PC2"]
    assert list(res.index[:3]) == ["r0", "r1", "r2"]
    assert (res.loc[["r0", "r1", "r2"], "category"] == "orthogonal outlier").all()
    ref = ROBPCA(n_components=2, random_state=0).fit(df).classify()
    np.testing.assert_allclose(res["orthogonal_distance"], ref.orthogonal_distance, rtol=1e-8)
    assert svg.read_text().startswith("<?xml")
    text = capsys.readouterr().out
    assert "k = 2" in text and "orthogonal outlier" in text and f"wrote {out}" in text


def test_pca_command_classical_json_and_errors(table, capsys):
    path, _ = table
    assert main(["pca", str(path), "--method", "classical", "--id-column", "id", "--json",
                 "-q"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 60 and rows[0]["id"] == "r0" and "score_distance" in rows[0]
    assert main(["pca", str(path), "--plot", "map.txt"]) == 2
    assert "name the file .svg" in capsys.readouterr().err
    assert main(["pca", str(path), "-k", "0", "--id-column", "id"]) == 2
    assert "positive number of components" in capsys.readouterr().err


def test_report_pca_section(table, tmp_path):
    path, _ = table
    rep = tmp_path / "rep.html"
    assert main(["report", str(path), "--id-column", "id", "--pca", "2", "-o", str(rep),
                 "-q"]) == 0
    html = rep.read_text()
    assert "Robust PCA (ROBPCA, k = 2)" in html and 'id="fig-pcamap"' in html
    assert 'id="pca-flagged"' in html and "<td>r0</td>" in html
    with pytest.raises(ValueError, match="pca must be at least 1"):
        build_report(pd.DataFrame(np.eye(4)), pca=0)
