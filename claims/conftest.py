"""Which claim tests are `slow`: those whose smoke run takes more than a minute on one core from an empty run cache
(the marker's own definition, sgdcheck.plugin.MARKERS).

`./run tests` (what CI runs) leaves them out with `-m "not slow"`, which keeps it under 15 minutes on two cores;
`./run claims` runs every claim, and so do the nightly workflow and the committed reports. The seconds are one
cold run of the whole suite on two cores (pytest-xdist, one worker a core, one thread a worker), measured with
`--durations` on 2026-12-05; a claim whose smoke run grows past a minute belongs here, one that shrinks below it
can leave. The list lives here, not in the claim modules, because a claim's code hash (sgdcheck.report.stale)
covers its module: marking a module would make its report entries stale without changing any result.
"""
import pytest

SLOW = {                       # test (file::name[parameter]) -> seconds, smoke, cold cache, one core
    "wu2018_generalization.py::test_generalization": 1113,
    "wu2018_escape_speed.py::test_escape_speed[network]": 730,
    "keskar_small_vs_large_batch.py::test_small_vs_large_batch": 646,
    "poggio_sgd_degenerate_bias.py::test_sgd_degenerate_bias[network]": 590,
    "chaudhari_entropy_sgd.py::test_entropy_sgd[0.5]": 448,
    "wu2018_lbfgs_sharp.py::test_lbfgs_sharp": 408,
    "wu2018_gd_sharpness.py::test_gd_sharpness": 310,
    "wu2018_nonuniformity_tightness.py::test_nonuniformity_tightness": 270,
    "poggio_basins.py::test_basins[walls]": 216,
    "poggio_gaussian_noise.py::test_gaussian_noise": 145,
    "wu2018_a_s_correlation.py::test_a_s_correlation": 142,
    "poggio_polynomial_net.py::test_polynomial_net[fnn]": 129,
    "wu2018_lr_batch_roles.py::test_lr_batch_roles[fnn]": 105,
    "cohen2021_edge_of_stability.py::test_edge_of_stability": 85,
    "poggio_flatness_labels.py::test_flatness_labels[all parameters]": 74,
    "poggio_sgd_degenerate_bias.py::test_sgd_degenerate_bias[additive]": 69,
    "poggio_degenerate.py::test_degenerate": 68,
}


def slow_key(item) -> str:
    """How SLOW names a collected test: its file's name, '::', and its name with any parameter."""
    return f"{item.path.name}::{item.name}"


def pytest_collection_modifyitems(items):
    for item in items:
        if slow_key(item) in SLOW:
            item.add_marker(pytest.mark.slow)
