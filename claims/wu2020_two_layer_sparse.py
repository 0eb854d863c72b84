"""GD with conventional scaling picks a sparse two-layer ReLU net; mean-field GD does not.

Wu 2020 lectures (seed 004), "GD dynamics for two-layer networks" and "Comparison between two scalings",
after Ma, Wu & E (2020), "The quenching-activation behavior of the gradient descent dynamics for
two-layer neural network models": learning f*(x) = relu(x_1) with x uniform on the sphere (n = infinity,
eq. 13), m = 200 and d = 100, GD on f = sum_j a_j relu(b_j . x) from Xavier-type initialisation ends with
one or two neurons carrying the function (quenching-activation); GD on f = (1/m) sum_j a_j relu(b_j . x)
(mean-field) fits as well with the weight spread over many neurons.
"""
import numpy as np

from sgdcheck import Claim, Source, at_least, at_most, combine, precondition
from sgdcheck import shown
from sgdcheck.figures import figure, panel, series
from sgdcheck.population import effective_neurons, train_population_gd

CLAIM = Claim(
    id="wu2020.two-layer-sparse",
    source=Source("Wu 2020 lectures", "GD for two-layer nets, single-neuron target; comparison of two scalings"),
    statement="Conventional-scaling GD on a two-layer ReLU net learning relu(x_1) ends with a few active neurons; "
              "mean-field GD reaches the same risk without sparsifying.",
    paper={"conventional, m = 200, d = 100": "very sparse: one or two neurons contribute",
           "mean-field": "does not pick a sparse solution"},
    notes="Exact population risk for x uniform on the sphere (arc-cosine kernel, no sampling). Neuron magnitude "
          "c |a_j| |b_j|; sparsity is the participation number (sum w)^2 / sum w^2 (m for equal neurons, 1 for one). "
          "'A few' = at most 3; 'not sparse' = at least m / 10. Both scalings must fit: relative risk "
          "R / E[f*^2] below 1e-3 at the end. a_j(0) ~ N(0, 1/m) (conventional) or N(0, 1) (mean-field), "
          "b_j(0) ~ N(0, I/d); GD step 2 (mean-field: 2 m, the same path on the neurons' time scale).",
)
FEW, RISK_GOAL, LR = 3.0, 1e-3, 2.0


def test_two_layer_sparse(scale, evidence):
    width, dim = scale.pick(smoke=(100, 50), full=(200, 100))
    steps = scale.pick(smoke=2000, full=6000, paper=20000)
    seeds = scale.seeds
    runs = {scaling: train_population_gd(width, dim, seeds, scaling=scaling, lr=LR, steps=steps)
            for scaling in ("conventional", "mean-field")}
    final = {name: effective_neurons(run.magnitudes[-1][1]).tolist() for name, run in runs.items()}
    risk = {name: run.final_relative_risk.tolist() for name, run in runs.items()}
    fitted = precondition(all(np.isfinite(r) and r < RISK_GOAL for rs in risk.values() for r in rs),
                          f"every run, in both scalings, reaches relative risk below {RISK_GOAL:g}")
    verdict = combine([at_most(final["conventional"], FEW, what="participation number, conventional scaling"),
                       at_least(final["mean-field"], width / 10, what="participation number, mean-field scaling")],
                      preconditions=[fitted])
    control = combine([at_most(final["mean-field"], FEW, what="participation number, mean-field scaling")],
                      preconditions=[fitted])
    top2 = lambda w: (w.sort(dim=-1, descending=True).values[..., :2].sum(-1) / w.sum(-1)).tolist()
    evidence.record(**{
        "conventional, m = 200, d = 100": shown(
            {"participation": float(np.mean(final['conventional'])),
             "top two share": float(np.mean(top2(runs['conventional'].magnitudes[-1][1])))},
            f"m = {width}, d = {dim}: participation {np.mean(final['conventional']):.2f} neurons "
            f"(seeds: {', '.join(f'{v:.2f}' for v in final['conventional'])}); top two carry "
            f"{np.mean(top2(runs['conventional'].magnitudes[-1][1])):.1%} of the magnitude"),
        "mean-field": shown({"participation": float(np.mean(final['mean-field'])),
                             "top two share": float(np.mean(top2(runs['mean-field'].magnitudes[-1][1])))},
                            f"participation {np.mean(final['mean-field']):.1f} of {width} neurons; top two carry "
                            f"{np.mean(top2(runs['mean-field'].magnitudes[-1][1])):.1%}")})
    evidence.detail(width=width, dim=dim, steps=steps, lr=LR, final_participation=final, final_relative_risk=risk,
                    participation_along_training={
                        name: [(s, effective_neurons(w).tolist()) for s, w in run.magnitudes] for name, run in runs.items()})
    evidence.figure("neurons", figure(f"Learning relu(x_1), m = {width}, d = {dim}, population risk", [
        panel("neuron magnitudes at the end (first seed), sorted", "rank", "c |a_j| |b_j|",
              [series("line", list(range(1, width + 1)),
                      run.magnitudes[-1][1][0].sort(descending=True).values.clamp_min(1e-12).tolist(), name, marker="o",
                      markersize=2) for name, run in runs.items()], yscale="log"),
        panel("relative risk", "GD step", "R / E[f*^2]",
              [series("line", [s for s, _ in run.risk], [float(r[k]) for _, r in run.risk], f"{name}" if k == 0 else "",
                      color=("C0" if name == "conventional" else "C1"), alpha=0.6)
               for name, run in runs.items() for k in range(len(seeds))], yscale="log"),
        panel("participation number (active neurons)", "GD step", "(sum w)^2 / sum w^2",
              [series("line", [s for s, _ in run.magnitudes], [float(effective_neurons(w)[k]) for _, w in run.magnitudes],
                      f"{name}" if k == 0 else "", color=("C0" if name == "conventional" else "C1"), alpha=0.6)
               for name, run in runs.items() for k in range(len(seeds))], yscale="log"),
    ]))
    evidence.conclude(CLAIM, verdict, seeds=seeds,
                      negative_control=("mean-field GD also ends with at most three active neurons", control))
