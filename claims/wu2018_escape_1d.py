"""SGD escapes a GD-stable minimum that is too non-uniform: the 1-D example of Wu, Ma & E.

Wu, Ma & E (NeurIPS 2018), Sec. 2, Fig. 2: f = (f1 + f2)/2, f1 = min(x^2, 0.1 (x-1)^2),
f2 = min(x^2, 1.9 (x-1)^2). The escape is predicted from the stability criterion before running.
"""
import numpy as np

from sgdcheck import Claim, Source, combine, criterion, holds, proportion, sharpness_nonuniformity, shown
from sgdcheck.figures import figure, panel, series
from sgdcheck.landscapes import EscapeToy1D
from sgdcheck.samplers import gd, sgd

CLAIM = Claim(
    id="wu2018.escape-1d",
    source=Source("Wu, Ma & E 2018", "Sec. 2, Fig. 2"),
    statement="SGD (B = 1, eta = 0.7) started at x0 = 1 - 1e-5 escapes the minimum x = 1 and converges to x = 0, "
              "fast and with a burst of the loss; GD with eta = 0.7 converges to x = 1.",
    paper={"a at x=1": "f'' = 1 (text)", "s at x=1": 1.8, "SGD ends at": "0", "GD ends at": 1},
)
LR, STEPS, X0 = 0.7, 600, 1 - 1e-5


def test_escape_1d(scale, evidence):
    toy = EscapeToy1D()
    chains = scale.pick(smoke=2000, full=20000, paper=100000)
    a1, s1 = sharpness_nonuniformity(toy.component_hessians(1))
    a0, s0 = sharpness_nonuniformity(toy.component_hessians(0))
    crit1, crit0 = criterion(toy.component_hessians(1), LR, 1), criterion(toy.component_hessians(0), LR, 1)
    predicted = holds(crit1 > 1 and crit0 <= 1, f"predicted before running: criterion {crit1:.4f} > 1 at x = 1 "
                                                f"(unstable), {crit0:.4f} <= 1 at x = 0 (stable)")
    escaped = stayed = total = 0
    escape_steps, bursts = [], []
    for seed in scale.seeds:
        run = sgd(toy, np.full((chains, 1), X0), LR, 1, STEPS, np.random.default_rng(seed),
                  record_every=1, record_values=True)
        x = run.x[:, 0]
        escaped += int((np.abs(x) < 1e-6).sum())
        stayed += int((np.abs(x - 1) < 1e-3).sum())
        total += chains
        left = np.abs(run.samples[:, :, 0] - 1) > 0.5
        first = np.where(left.any(0), left.argmax(0), STEPS)
        escape_steps.append(float(np.median(first)))
        bursts.append(float(np.nanmax(run.values, axis=0).mean() / toy.value(np.array([[X0]]))[0]))
        if seed == scale.seeds[0]:
            paths, losses = run.samples[:120, :5, 0], run.values[:120, 0]
    gd_run = gd(toy, np.array([[X0]]), LR, STEPS)
    gd_end = float(gd_run.x[0, 0])
    evidence.record(a_at_0=a0, s_at_0=s0, criterion_at_1=crit1, criterion_at_0=crit0,
                    sgd_fraction_at_0=escaped / total, sgd_fraction_at_1=stayed / total, gd_final_x=gd_end,
                    median_escape_step=float(np.median(escape_steps)), loss_burst_factor=float(np.mean(bursts)))
    evidence.record(**{"a at x=1": a1, "s at x=1": s1, "SGD ends at": shown(escaped / total, f"0 in {escaped / total:.1%} of runs", unit="share at x = 0"),
                       "GD ends at": gd_end})
    evidence.finding(
        f"Convention slip in the paper's text: with f1, f2 as written, the component curvatures at x = 1 are "
        f"f1'' = 0.2 and f2'' = 3.8 (the text says 0.1 and 1.9) and f'' = {a1:g} at both minima (the text says 1). "
        f"s = {s1:.2f} at x = 1 matches the paper, and so does every stability conclusion: GD is stable at both "
        f"minima for eta < 2/f'' = 1 (the text says 2), SGD with eta = 0.7 only at x = 0.")
    t = list(range(1, 121))
    evidence.figure("escape", figure("Escape of SGD from x = 1 (eta = 0.7, B = 1)", [
        panel("five SGD trajectories", "step", "x", [series("line", t, paths[:, i].tolist(), "") for i in range(5)],
              hlines=[(1.0, "minimum x = 1"), (0.0, "minimum x = 0")]),
        panel("loss along one trajectory: the burst", "step", "f(x)", [series("line", t, losses.tolist(), "SGD")],
              yscale="log"),
    ]))
    verdict = combine([predicted, proportion(escaped, total, low=0.95, what="fraction of SGD runs ending at x = 0"),
                       holds(abs(gd_end - 1) < 1e-6, f"GD ends at x = {gd_end:.8f} (at 1)")])
    control = proportion(stayed, total, low=0.95, what="fraction of SGD runs staying at x = 1")
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds,
                      negative_control=("SGD with B = 1 stays at the GD minimum x = 1", control))
