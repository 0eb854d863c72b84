"""Every escape probe of one trained minimum, one table row each (Wu, Ma & E 2018, Sec. 4.4, Table 3): the
minimum polished by its own GD, its sharpness a and non-uniformity s, the linear-stability prediction made
before each run (sgdcheck.network_stability.predict_escape_at) and what the run did (sgdcheck.escape).

A module of its own, so that the measurement cache (sgdcheck.measurement_cache) keys these probes by the code
that measures them: a claim that reads the rows can change how it judges them without running them again."""
from __future__ import annotations

from .curvature import non_uniformity, sharpness
from .escape import escape_probe, polished
from .losses import mse_loss
from .network_stability import predict_escape_at
from .runs import RunConfig, RunRecord, trained_model, training_data
from .sampling import THEORY_SAMPLING
from .stability import necessary_box

GD_PAST_EDGE = 2.5      # the GD probe's step, in units of 1/a: a eta / 2 = 1.25, a quarter past GD's edge 2/a


def probe_minimum(record: RunRecord, config: RunConfig, data_name: str, batches, steps: int, budget: int,
                  slack: float, *, lr: float, polish_goal: float, polish_steps: int, burst_steps: int,
                  reshuffled_batch: int | None = None, code: str = "") -> list[dict]:
    """The minimum of `record` (trained with `config`) polished by GD at `lr` to `polish_goal` (at most
    `polish_steps` steps), then probed from there: SGD at `lr` with each batch size in `batches` (independent
    uniform B-subsets, the sampling the prediction assumes), GD at GD_PAST_EDGE / a, and, if `reshuffled_batch`
    is given, SGD at that batch size with random reshuffling. Each probe runs `steps` steps and, when it left
    (the loss at 10x its start for `burst_steps` steps), on until it is back at the config's loss goal or
    `budget` steps have run. `slack`: the growth per step of the linearised mean square that eq. 8 tolerates.
    `code` is the measurement cache's fingerprint (sgdcheck.measurement_cache.cached_measurement). Returns one
    dict per probe, its loss history included."""
    x, y = training_data(config)
    n = len(x)
    minimum, polish = polished(trained_model(record, config), x, y, lr, polish_goal, max_steps=polish_steps)
    a = float(sharpness(minimum, x, y, mse_loss, tol=1e-3, chunk_size=n))
    s = float(non_uniformity(minimum, x, y, mse_loss, tol=1e-2, chunk_size=n))
    probes = [(f"SGD B={b}", lr, b, THEORY_SAMPLING) for b in batches] + [("GD eta=2.5/a", GD_PAST_EDGE / a, n, None)]
    if reshuffled_batch is not None:
        probes.append((f"SGD B={reshuffled_batch}, reshuffling", lr, reshuffled_batch, "reshuffling"))
    rows = []
    for name, probe_lr, batch, sampling in probes:
        a_bound, s_bound = necessary_box(probe_lr, batch, n)
        prediction = predict_escape_at(minimum, x, y, mse_loss, a, s, probe_lr, batch, criterion_slack=slack,
                                       chunk_size=n)
        probe = escape_probe(minimum, x, y, probe_lr, batch, steps, loss_goal=config.loss_goal, budget=budget,
                             burst_steps=burst_steps, seed=record.seed, sampling=sampling or THEORY_SAMPLING)
        s_after = float("nan")
        if probe.escaped and batch < n:
            s_after = float(non_uniformity(probe.end_model(minimum), x, y, mse_loss, tol=1e-2, chunk_size=n))
        rows.append({"data": data_name, "seed": record.seed, "run": name, "lr": probe_lr, "batch": batch,
                     "polished": polish.converged, "polish_steps": polish.steps, "start_loss": polish.loss,
                     "sampling": sampling, "n": n, "a": a, "s": s, "a_bound": a_bound, "s_bound": s_bound,
                     "predicted": prediction.outcome,
                     "rule": prediction.rule, "rule_value": prediction.value, "left": probe.left,
                     "returned": probe.returned, "escaped": probe.escaped, "diverged": probe.diverged,
                     "burst": probe.burst, "leave_step": probe.leave_step, "peak_step": probe.peak_step,
                     "return_step": probe.return_step, "steps": probe.steps, "a_after": probe.sharpness_after,
                     "s_after": s_after, "history": probe.history})
    return rows
