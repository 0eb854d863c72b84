import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import sgdcheck
from sgdcheck.fingerprint import code_digest, dependencies, source_fingerprint

PACKAGE = Path(sgdcheck.__file__).parent


def test_a_runs_dependencies_are_read_from_its_imports():
    found = dependencies("runs")
    assert {"runs", "train", "ensemble", "optim", "models", "data", "losses"} <= set(found)
    assert "stats" not in found and "report" not in found       # verdicts and reports never change a run
    assert "curvature" not in found      # a curvature routine measures trained runs; its edits retrain none


CHECK = textwrap.dedent("""
    import sys
    from sgdcheck.runs import RunConfig, cached_run, is_cached
    config = RunConfig(dataset="digits", n=60, model="fnn", model_options=(("inputs", 64), ("hidden", (8,))),
                       lr=0.5, max_steps=5, eval_every=5)
    print("cached" if is_cached(config, sys.argv[1]) else "miss")
    cached_run(config, sys.argv[1])
""")


def test_an_edit_of_the_training_code_is_a_cache_miss(tmp_path):
    """A copy of the engine whose GD step does nothing must not be served the runs of the real one."""
    copy = tmp_path / "src" / "sgdcheck"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"

    def check():
        return subprocess.run([sys.executable, "-c", CHECK, str(cache)], cwd=tmp_path, capture_output=True,
                              text=True, env={"PYTHONPATH": str(copy.parent), "PATH": ""}, check=True).stdout.strip()

    assert check() == "miss"
    assert check() == "cached"
    optim = copy / "optim.py"
    source = optim.read_text()
    assert "class GD" in source
    optim.write_text(source + "\n\ndef _edited():\n    return None\n")
    assert check() == "miss"
    before = source_fingerprint("runs")
    assert before == source_fingerprint("runs", PACKAGE)
    edited = source_fingerprint.__wrapped__("runs", copy)
    assert edited != before
    (copy / "report" / "results.py").write_text((copy / "report" / "results.py").read_text() + "\n# a report change\n")
    (copy / "stats.py").write_text((copy / "stats.py").read_text() + "\n# a verdict change\n")
    assert source_fingerprint.__wrapped__("runs", copy) == edited          # no retraining for those
    train = copy / "train.py"                       # comments, docstrings and layout compute nothing
    train.write_text(train.read_text().replace('"""Train one model', '"""Train a model', 1)
                     .replace("def train(", "# a note\ndef   train(", 1))
    assert source_fingerprint.__wrapped__("runs", copy) == edited


def test_code_digest_ignores_docstrings_comments_and_layout_only():
    plain = "def f(x):\n    return x + 1\n"
    assert code_digest(plain) == code_digest('"""Module."""\n# note\ndef f( x ):\n    """Doc."""\n    return x+1\n')
    assert code_digest(plain) != code_digest("def f(x):\n    return x + 2\n")
    assert code_digest("def f(x):\n    'only a docstring'\n") == code_digest("def f(x):\n    pass\n")
    assert code_digest("x = 'a string that is data'\n") != code_digest("x = 'another'\n")
    assert code_digest("def broken(:\n") == b"def broken(:\n"
