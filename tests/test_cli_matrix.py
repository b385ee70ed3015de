"""The command line over malformed files (issue 12): every command, every bad file, the exit
status, a message naming the file and saying what to do, and the folder left exactly as it was.
"""

import io
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import mahalanobis.cli as cli
from mahalanobis.cli import _io, main

GOOD = pd.DataFrame(np.random.default_rng(3).standard_normal((25, 3)), columns=["a", "b", "c"])

BAD_FILES = {  # name: (bytes, pattern the error must match)
    "ragged_all.csv": (b"a,b,c\n1,2,3,4\n5,6,7,8\n9,1,2,3\n",
                       r"more fields than the header.*line 2"),
    "ragged_one.csv": (b"a,b,c\n1,2,3\n5,6,7,8\n9,1,2\n",
                       r"more fields than the header|Expected 3 fields in line 3, saw 4"),
    "ragged_short.csv": (b"a,b,c\n1,2,3\n5,6\n9,1,2\n4,5,6\n",
                         r"line 3 has fewer fields than the header"),
    "headerless.csv": (b"1,2,3\n4,5,6.5\n7,8,9\n2,2,1\n", r"looks like data, not a header"),
    "semicolon.csv": (b"a;b;c\n1,5;2;3\n4;5;6\n", r"semicolon-separated"),
    "tabs.csv": (b"a\tb\tc\n1\t2\t3\n4\t5\t6\n", r"tab-separated"),
    "latin1.csv": (b"a,b,c\n1,2,3\n4,5,\xe96\n", r"not UTF-8.*0xe9 at byte offset 16 \(line 3\)"),
    "empty.csv": (b"", r"is empty"),
    "header_only.csv": (b"a,b,c\n", r"no rows of data"),
    # the report analyses the numeric columns only (and says so): here too few are left
    "text.csv": (b"a,b,c\n1,2,x\n4,5,6\n",
                 r"column 'c' .* not numeric|2 complete rows|2 rows for 2 features"),
}

COMMANDS = {  # command: extra arguments (FILE comes first)
    "outliers": [],
    "pairwise": [],
    "pca": [],
    "chart": [],
    "test": ["--mu", "0,0,0"],
    "distance": ["--reference", "{good}"],
    "report": ["-o", "{out}.html"],
}


def _snapshot(folder):
    return {p: (folder / p).read_bytes() for p in sorted(os.listdir(folder))}


def _run(argv, capsys, monkeypatch=None, stdin=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def folder(tmp_path):
    GOOD.to_csv(tmp_path / "good.csv", index=False)
    for name, (data, _) in BAD_FILES.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def _argv(command, file, folder, extra_out=True):
    extra = [a.format(good=folder / "good.csv", out=folder / "result") for a in COMMANDS[command]]
    argv = [command, file, *extra]
    if extra_out and command != "report":
        argv += ["-o", folder / "result.csv"]
    return argv


@pytest.mark.parametrize("bad", sorted(BAD_FILES))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_file_refused_and_nothing_written(command, bad, folder, capsys):
    before = _snapshot(folder)
    code, _, err = _run(_argv(command, folder / bad, folder), capsys)
    assert code == 2, err
    assert bad in err and "Traceback" not in err
    assert re.search(BAD_FILES[bad][1], err), err
    assert _snapshot(folder) == before


@pytest.mark.parametrize("bad", ["ragged_all.csv", "headerless.csv", "latin1.csv"])
def test_bad_standard_input_refused(bad, capsys, monkeypatch):
    code, _, err = _run(["outliers", "-", "-q"], capsys, monkeypatch, BAD_FILES[bad][0])
    assert code == 2
    assert "standard input" in err
    assert re.search(BAD_FILES[bad][1], err), err


def test_bom_is_read(folder, capsys, monkeypatch):
    data = b"\xef\xbb\xbf" + GOOD.to_csv(index=False).encode()
    (folder / "bom.csv").write_bytes(data)
    code, out, err = _run(["outliers", folder / "bom.csv", "-q"], capsys)
    assert code == 0, err
    assert list(pd.read_csv(io.StringIO(out)).columns[1:3]) == ["distance", "d2"]
    code, out2, err = _run(["outliers", "-", "-q"], capsys, monkeypatch, data)
    assert code == 0 and out2 == out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_output_naming_the_input_is_refused(command, folder, capsys):
    before = _snapshot(folder)
    argv = _argv(command, folder / "good.csv", folder, extra_out=False)
    if command == "report":
        argv = ["report", folder / "good.csv", "-o", folder / "good.csv"]
    else:
        argv += ["-o", folder / "good.csv"]
    code, _, err = _run(argv, capsys)
    assert code == 2
    assert "would destroy the data" in err
    assert _snapshot(folder) == before


def test_output_naming_the_reference_is_refused(folder, capsys):
    before = _snapshot(folder)
    GOOD.to_csv(folder / "y.csv", index=False)
    before = _snapshot(folder)
    code, _, err = _run(["distance", folder / "y.csv", "--reference", folder / "good.csv",
                         "-o", folder / "good.csv"], capsys)
    assert code == 2 and "--reference file" in err
    assert _snapshot(folder) == before


def test_two_outputs_sharing_a_file_refused(folder, capsys):
    before = _snapshot(folder)
    code, _, err = _run(["outliers", folder / "good.csv", "-o", folder / "r.html",
                         "--report", folder / "r.html"], capsys)
    assert code == 2 and "both name" in err
    assert _snapshot(folder) == before


def test_failing_second_output_leaves_no_first_output(folder, capsys, monkeypatch):
    """-o is written, then --report fails: neither appears (all outputs or none)."""
    pytest.importorskip("matplotlib")
    (folder / "result.csv").write_bytes(b"old result\n")
    before = _snapshot(folder)
    code, _, err = _run(["outliers", folder / "good.csv", "-o", folder / "result.csv",
                         "--report", folder / "missing" / "r.html"], capsys)
    assert code == 2 and "does not exist" in err
    assert _snapshot(folder) == before


def test_interrupted_run_leaves_folder_as_it_was(folder, capsys, monkeypatch):
    (folder / "result.csv").write_bytes(b"old result\n")
    before = _snapshot(folder)
    real = _io.atomic_write
    calls = []

    def write_then_interrupt(path, write, **kw):
        real(path, write, **kw)
        calls.append(path)
        raise KeyboardInterrupt

    monkeypatch.setattr(_io, "atomic_write", write_then_interrupt)
    monkeypatch.setattr("mahalanobis.cli.outliers.atomic_write", write_then_interrupt,
                        raising=False)
    code, _, err = _run(["outliers", folder / "good.csv", "-o", folder / "result.csv"], capsys)
    assert calls and code == 130 and "interrupted" in err and "Traceback" not in err
    assert _snapshot(folder) == before


def test_commit_failure_puts_back_replaced_files(tmp_path, monkeypatch):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("old a")
    real_replace = os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if str(dst) == str(b):
            raise OSError("disk full")
        return real_replace(src, dst)

    with pytest.raises(OSError, match="disk full"):
        with _io.output_transaction():
            _io.atomic_write(str(a), lambda fh: fh.write("new a"))
            _io.atomic_write(str(b), lambda fh: fh.write("new b"))
            monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "replace", real_replace)
    assert a.read_text() == "old a" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_read_only_folder(folder, capsys):
    ro = folder / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, _, err = _run(["outliers", folder / "good.csv", "-o", ro / "r.csv"], capsys)
    finally:
        ro.chmod(0o755)
    assert code == 2 and "no permission" in err
    assert list(ro.iterdir()) == []


def test_interrupt_while_parsing_is_quiet(capsys, monkeypatch):
    def boom(self, *a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli.argparse.ArgumentParser, "parse_args", boom)
    assert main(["outliers", "x.csv"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_entry_module_catches_interrupt_during_import(monkeypatch, capsys):
    import _mahalanobis_cli

    def boom():
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "main", boom)
    assert _mahalanobis_cli.main() == 130
    assert "interrupted" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigint_at_start_gives_no_traceback(folder):
    """SIGINT at once (during the import of numpy/scipy): no traceback, status 130."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys, _mahalanobis_cli; sys.exit(_mahalanobis_cli.main())",
         "outliers", str(folder / "good.csv")], stderr=subprocess.PIPE, stdout=subprocess.PIPE,
        env=env)
    # wait until the interpreter runs our module (its SIGINT handler is then Python's)
    import time
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err
    assert proc.returncode in (0, 130, -signal.SIGINT)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_texts_keep_their_case(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    for mangled in ("phase i,", "hotelling's t^2", " csv "):
        assert mangled not in text


def test_top_must_be_positive(folder, capsys):
    with pytest.raises(SystemExit):
        main(["outliers", str(folder / "good.csv"), "--top", "0"])
    assert "--top" in capsys.readouterr().err


def test_library_messages_name_the_file(folder, capsys):
    GOOD.iloc[:3].to_csv(folder / "short.csv", index=False)
    code, _, err = _run(["outliers", folder / "short.csv"], capsys)
    assert code == 2
    assert f"{folder / 'short.csv'} has 3 rows for 3 features" in err


def test_dask_without_extra_names_it(folder, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mahalanobis._dask._io", None)
    code, _, err = _run(["outliers", folder / "good.csv", "--dask", "local", "-o",
                         folder / "r.csv"], capsys)
    assert code == 2 and "mahalanobis[dask]" in err


# ------------------------------------------------------ python -m, and --dask outputs
@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigint_to_python_m_is_quiet_at_any_time(folder):
    """`python -m mahalanobis` imports the package before its __main__ runs: SIGINT during
    those imports (numpy, scipy, pandas), or later, ends it with status 130 and one line, the
    folder unchanged. (Before the interpreter runs the package's first line -- its own startup
    and runpy, a few tens of milliseconds -- no code of ours can catch it: Python's traceback
    then shows only its frozen import frames, and nothing has been written.)"""
    import time
    before = _snapshot(folder)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    clean = 0
    for delay in (0.2, 0.5, 1.0, 2.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "mahalanobis", "outliers", str(folder / "good.csv"), "-o",
             str(folder / "out.csv"), "--report", str(folder / "r.html")],
            stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(folder))
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        text = err.decode()
        frames = [ln for ln in text.splitlines() if ln.strip().startswith("File ")]
        assert all("<frozen " in ln for ln in frames), text[-400:]  # none of ours or numpy's
        after = _snapshot(folder)
        # all or none: the folder as it was, or both outputs whole (the signal came after
        # the outputs were committed, while the interpreter was shutting down)
        assert after == before or set(after) - set(before) == {"out.csv", "r.html"}
        if after != before:
            for name in ("out.csv", "r.html"):
                (folder / name).unlink()
        if proc.returncode == 0:  # pragma: no cover - the run beat the signal
            continue
        if proc.returncode == -signal.SIGINT and not text.strip():
            continue  # before the interpreter installed its handler: killed, nothing written
        if not frames:
            # the subcommand is named once the command line has been parsed
            assert proc.returncode == 130, text
            assert re.fullmatch(r"mahalanobis( outliers)?: interrupted", text.strip()), text
            clean += 1
    assert clean, "no run was interrupted after the interpreter started"


@pytest.fixture
def threaded_dask(monkeypatch):
    """`--dask` with dask's threaded scheduler (no cluster to start in a unit test)."""
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    from mahalanobis._dask import _io as dask_io
    real = dask_io.outliers_dask

    def threaded(*args, scheduler=None, **kw):
        return real(*args, scheduler=None, **kw)
    monkeypatch.setattr(dask_io, "outliers_dask", threaded)


@pytest.mark.parametrize("out", ["result.csv", "result_folder", "result.parquet"])
def test_dask_outputs_are_in_the_transaction(out, folder, capsys, monkeypatch, threaded_dask):
    """--dask writes through the all-or-none output transaction: an interrupt after the
    result is written but before the run ends leaves the old output (file or folder)."""
    if out.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    target = folder / out
    if out.endswith(".csv"):
        target.write_bytes(b"old result\n")
    else:
        target.mkdir()
        (target / "old.txt").write_bytes(b"old")
    before = {p: sorted(os.listdir(p)) if p.is_dir() else p.read_bytes()
              for p in folder.iterdir()}
    import mahalanobis.cli.outliers as cli_outliers

    def interrupt(*a, **k):
        raise KeyboardInterrupt
    with monkeypatch.context() as m:
        m.setattr(cli_outliers, "format_summary", interrupt)
        code, _, err = _run(["outliers", folder / "good.csv", "--dask", "local", "-o", target],
                            capsys)
    assert code == 130 and "interrupted" in err
    assert {p: sorted(os.listdir(p)) if p.is_dir() else p.read_bytes()
            for p in folder.iterdir()} == before
    code, _, err = _run(["outliers", folder / "good.csv", "--dask", "local", "-o", target,
                         "-q"], capsys)
    assert code == 0, err
    if out.endswith(".csv"):
        res = pd.read_csv(target)
    elif out.endswith(".parquet"):
        res = pd.read_parquet(target)
    else:
        res = pd.concat([pd.read_csv(target / f) for f in sorted(os.listdir(target))])
    np.testing.assert_allclose(res["d2"], mh_fit_d2(GOOD), rtol=1e-9)
    assert not [p for p in os.listdir(folder) if p.startswith(".mahalanobis-")]


def mh_fit_d2(df):
    import mahalanobis as mh
    return mh.fit(df).distance(df, squared=True)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_writes_through_the_transaction(command, folder, capsys, monkeypatch):
    """Each command's outputs go through atomic_write inside the transaction: an interrupt
    just before the run ends leaves the folder exactly as it was."""
    (folder / "result.csv").write_bytes(b"old result\n")
    argv = _argv(command, folder / "good.csv", folder)
    if command in ("pca", "chart"):
        pytest.importorskip("matplotlib")
        argv += ["--plot", folder / "result.svg"]
    before = _snapshot(folder)
    real_commit = _io._commit
    committed = []

    def interrupt(staged):
        committed.extend(path for _, path in staged)
        raise KeyboardInterrupt
    monkeypatch.setattr(_io, "_commit", interrupt)
    code, _, err = _run(argv, capsys)
    assert code == 130 and "interrupted" in err, err
    assert committed, "no output went through the transaction"
    assert _snapshot(folder) == before
    monkeypatch.setattr(_io, "_commit", real_commit)
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    assert set(map(os.path.basename, committed)) <= set(os.listdir(folder))
