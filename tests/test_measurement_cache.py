import importlib.util
import sys

import pytest
import torch

from sgdcheck import measurement_cache
from sgdcheck.fingerprint import source_fingerprint
from sgdcheck.runs import RunRecord

MODULE = '''
from sgdcheck.stats import mean_interval
from sgdcheck.losses import mse_loss

CALLS = []

def measured(n, code):
    CALLS.append(n)
    return {"n": n, "squares": [k * k for k in range(n)]}

def measured_run(record, scale, code):
    CALLS.append(record.seed)
    return float(sum(v.sum() for v in record.params.values())) * scale
'''


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def claim_module(tmp_path, monkeypatch):
    path = tmp_path / "claim_like.py"
    path.write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield path, _load(path, "claim_like")
    sys.modules.pop("claim_like", None)


def test_a_measurement_is_computed_once_per_arguments(claim_module, tmp_path):
    _, module = claim_module
    store = tmp_path / "cache"
    first = measurement_cache.cached_measurement(module.measured, 4, location=store)
    assert first == {"n": 4, "squares": [0, 1, 4, 9]}
    assert measurement_cache.cached_measurement(module.measured, 4, location=store) == first
    assert module.CALLS == [4]
    measurement_cache.cached_measurement(module.measured, 5, location=store)
    assert module.CALLS == [4, 5]


def test_editing_the_claim_file_computes_it_again(claim_module, tmp_path):
    path, module = claim_module
    store = tmp_path / "cache"
    before = measurement_cache.code_fingerprint(module.measured)
    measurement_cache.cached_measurement(module.measured, 3, location=store)
    path.write_text(MODULE + "\nTHRESHOLD = 0.5\n")
    edited = _load(path, "claim_like")
    assert measurement_cache.code_fingerprint(edited.measured) != before
    measurement_cache.cached_measurement(edited.measured, 3, location=store)
    assert edited.CALLS == [3]


def test_the_fingerprint_covers_the_engine_modules_the_file_uses(claim_module, monkeypatch):
    _, module = claim_module
    assert measurement_cache._engine_modules(vars(module)) == {"losses"}     # stats shapes verdicts only
    before = measurement_cache.code_fingerprint(module.measured)
    real = source_fingerprint
    monkeypatch.setattr(measurement_cache, "source_fingerprint",
                        lambda name: "edited" if name in ("losses", "stats") else real(name))
    assert measurement_cache.code_fingerprint(module.measured) != before


def test_editing_the_verdict_rules_keeps_the_measurement(claim_module, monkeypatch):
    _, module = claim_module
    before = measurement_cache.code_fingerprint(module.measured)
    real = source_fingerprint
    monkeypatch.setattr(measurement_cache, "source_fingerprint",
                        lambda name: "edited" if name == "stats" else real(name))
    assert measurement_cache.code_fingerprint(module.measured) == before


def test_a_function_without_a_code_keyword_is_refused(tmp_path):
    with pytest.raises(TypeError, match="keyword 'code'"):
        measurement_cache.cached_measurement(lambda n: n, 1, location=tmp_path)


def _record(seed, weights):
    return RunRecord(config={"seed": seed}, params={"w": weights}, steps=1, loss=0.0, converged=True, diverged=False,
                     history=[])


def test_a_run_record_is_keyed_by_its_content_not_its_storage(claim_module, tmp_path):
    _, module = claim_module
    store = tmp_path / "cache"
    ensemble = torch.arange(6.0).reshape(2, 3)            # an ensemble's records are views of one storage
    first = measurement_cache.cached_measurement(module.measured_run, _record(0, ensemble[0]), 2.0, location=store)
    again = measurement_cache.cached_measurement(module.measured_run, _record(0, ensemble[0].clone()), scale=2.0,
                                                 location=store)
    assert first == again == 6.0 and module.CALLS == [0]
    measurement_cache.cached_measurement(module.measured_run, _record(0, ensemble[1].clone()), 2.0, location=store)
    measurement_cache.cached_measurement(module.measured_run, _record(0, ensemble[0]), 3.0, location=store)
    assert module.CALLS == [0, 0, 0]                      # other weights, another argument: computed again


def test_comments_and_docstrings_of_the_claim_file_keep_its_measurements(claim_module, tmp_path):
    path, module = claim_module
    before = measurement_cache.code_fingerprint(module.measured)
    path.write_text('"""A claim module, now documented."""\n' + MODULE.replace(
        "def measured(n, code):\n", 'def measured(n, code):\n    """The squares below n."""  # and a comment\n'))
    edited = _load(path, "claim_like")
    assert measurement_cache.code_fingerprint(edited.measured) == before
