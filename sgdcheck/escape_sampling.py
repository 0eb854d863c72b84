"""Escape probes of one trained minimum under a sampling other than the one the prediction assumes (Wu, Ma & E
2018, Sec. 4.4, Table 3: the paper does not state how its minibatches were drawn; its stability theory,
Theorem 1 and eq. 8-9, assumes independent uniform B-subsets). The minimum is polished exactly as
sgdcheck.escape_table polishes it, so the rows sit beside that table's rows for the same minimum and batch size.

A module of its own, so that the measurement cache keys these probes apart from the table's: adding them
does not compute the table again."""
from __future__ import annotations

from .curvature import sharpness
from .errors import InvalidArgumentError
from .escape import escape_probe, polished
from .losses import mse_loss
from .runs import RunConfig, RunRecord, trained_model, training_data
from .sampling import THEORY_SAMPLING, checked


def probes_with_sampling(record: RunRecord, config: RunConfig, data_name: str, batches, steps: int, budget: int, *,
                         lr: float, sampling: str, polish_goal: float, polish_steps: int, burst_steps: int,
                         code: str = "") -> list[dict]:
    """The minimum of `record` (trained with `config`) polished by GD at `lr` to `polish_goal` (at most
    `polish_steps` steps), then probed by SGD at `lr` with each batch size in `batches`, minibatches drawn as
    `sampling` says (sgdcheck.sampling.SAMPLINGS, not the theory's own). Each probe runs `steps` steps and, when
    it left (the loss at 10x its start for `burst_steps` steps), on until it is back at the config's loss goal or
    `budget` steps have run (sgdcheck.escape.escape_probe). No prediction is made: eq. 8-9 assume the theory's
    sampling. `code` is the measurement cache's fingerprint. Returns one dict per probe, its loss history
    included."""
    if checked(sampling) == THEORY_SAMPLING:
        raise InvalidArgumentError(f"probes_with_sampling is for samplings other than the theory's "
                                   f"({THEORY_SAMPLING!r}); sgdcheck.escape_table.probe_minimum probes that one")
    x, y = training_data(config)
    n = len(x)
    minimum, polish = polished(trained_model(record, config), x, y, lr, polish_goal, max_steps=polish_steps)
    a = float(sharpness(minimum, x, y, mse_loss, tol=1e-3, chunk_size=n))
    rows = []
    for batch in batches:
        probe = escape_probe(minimum, x, y, lr, batch, steps, loss_goal=config.loss_goal, budget=budget,
                             burst_steps=burst_steps, seed=record.seed, sampling=sampling)
        rows.append({"data": data_name, "seed": record.seed, "run": f"SGD B={batch}, {sampling}", "lr": lr,
                     "batch": batch, "sampling": sampling, "n": n, "polished": polish.converged,
                     "start_loss": polish.loss, "a": a, "left": probe.left, "returned": probe.returned,
                     "escaped": probe.escaped, "diverged": probe.diverged, "burst": probe.burst,
                     "leave_step": probe.leave_step, "return_step": probe.return_step, "steps": probe.steps,
                     "a_after": probe.sharpness_after, "history": probe.history})
    return rows
