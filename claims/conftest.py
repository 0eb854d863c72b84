"""Which claim tests are `slow`: those whose smoke run takes more than a minute on one core from an empty run cache
(the marker's own definition, sgdcheck.plugin.MARKERS).

`./run tests` (what CI runs) leaves them out with `-m "not slow"`, which keeps it under 15 minutes on two cores;
`./run claims` runs every claim, and so do the nightly workflow and the committed reports. The seconds are cold
runs on two cores (pytest-xdist, one worker a core, one thread a worker), measured with `--durations`: the first
17 in a run of the whole suite (2026-12-05), the last 6 in a run of the test command itself (2026-12-07, 916 s).
Tests that read one shared computation (an xdist group, a shared run set) pay for it in whichever of them runs
first, so leaving some out moves that cost onto the rest: the test command's own cold run is what to measure. A
claim whose smoke run grows past a minute there belongs here, one that shrinks below it can leave. The list lives
here, not in the claim modules, because a claim's code hash (sgdcheck.report.stale) covers its module: marking a
module would make its report entries stale without changing any result.
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
    # measured in the test command's cold run once the 17 above were out of it
    "wu2018_batch_sharpness.py::test_batch_sharpness": 338,           # builds the shared stability diagram
    "poggio_basins.py::test_basins[within a basin]": 239,             # builds the basins' shared measurement
    "wu2018_sgd_nonuniformity.py::test_sgd_nonuniformity": 71,        # would build the diagram in its place
    "wu2020_scaling_width.py::test_scaling_width": 70,
    "poggio_sgdl_like_sgd.py::test_sgdl_like_sgd[training]": 69,
    "wu2020_two_layer_sparse.py::test_two_layer_sparse": 61,
}


def slow_key(item) -> str:
    """How SLOW names a collected test: its file's name, '::', and its name with any parameter."""
    return f"{item.path.name}::{item.name}"


def pytest_collection_modifyitems(items):
    for item in items:
        if slow_key(item) in SLOW:
            item.add_marker(pytest.mark.slow)
