"""GD with conventional scaling picks a sparse two-layer ReLU net; mean-field GD does not.

Wu 2020 lectures (seed 004), "GD dynamics for two-layer networks" and "Comparison between two scalings",
after Ma, Wu & E (2020), "The quenching-activation behavior of the gradient descent dynamics for
two-layer neural network models": learning f*(x) = relu(x_1) with x uniform on the sphere (n = infinity,
eq. 13), m = 200 and d = 100, GD on f = sum_j a_j relu(b_j . x) from Xavier-type initialisation ends with
one or two neurons carrying the function (quenching-activation); GD on f = (1/m) sum_j a_j relu(b_j . x)
(mean-field) fits as well with the weight spread over many neurons.
"""
import numpy as np

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, at_least, at_most, combine, precondition
from sgdcheck import shown
from sgdcheck.figures import figure, panel, series
from sgdcheck.population import effective_neurons, train_population_gd

CLAIM = Claim(
    id="wu2020.two-layer-sparse",
    source=Source("Wu 2020 lectures", "GD for two-layer nets, single-neuron target; comparison of two scalings"),
    quote=Quote("The final NN solution is very sparse, and only one neuron contributes to the model in this case. "
                "... GD-conventional to pick up sparse solution, while GD-MF does not.",
                "slide \"Single neuron: f*(x) = sigma(x_1)\", Observation (seed 004, line 309; m = 200, d = 100 at "
                "line 303) and slide \"Comparison between two scalings\" (seed 004, line 484)"),
    statement="Conventional-scaling GD on a two-layer ReLU net learning relu(x_1) ends with a few active neurons; "
              "mean-field GD reaches the same risk without sparsifying.",
    paper={"conventional, m = 200, d = 100": "very sparse: only one neuron contributes",
           "mean-field": "does not pick a sparse solution"},
    deviations=(
        Deviation("loss",
                  "eq. 15 (line 292) gives k = |b||b'|(sin theta + (pi - theta) cos theta) with no constant; the "
                  "module divides by 2 pi d, the kernel for x uniform on S^{d-1}",
                  "correct for the sphere (sgdcheck.population docstring); it rescales risk and time only"),
        Deviation("optimizer",
                  "gradient flow, eqs. 6-7 (conventional) and eq. 18 (mean-field, with a 1/(mn) factor); here "
                  "discrete GD on the exact population risk with step 2, and step 2m under mean-field scaling",
                  "'the same path on the neurons' time scale' (module notes, population docstring)"),
        Deviation("setup",
                  "a_j(0) ~ N(0, beta^2) with beta unspecified (eq. 8, line 253); here beta = 1/sqrt(m) "
                  "(conventional) and 1 (mean-field), b_j(0) ~ N(0, I/d)",
                  "no reason given"),
        Deviation("sizes",
                  "m = 200, d = 100 (line 303); here m = 100, d = 50 at smoke and m = 200, d = 100 at full and "
                  "paper; the smoke record is still keyed 'conventional, m = 200, d = 100'",
                  "the CPU budget of the smoke scale (not stated in the module)"),
        Deviation("setup",
                  "the source shows the 'convergent solution' (line 303); here a fixed 2,000 (smoke) / 6,000 (full) "
                  "/ 20,000 (paper) steps, with relative risk R/E[f*^2] < 1e-3 in every run as a precondition",
                  "no reason given"),
        Deviation("definition",
                  "sparsity is read by eye from a plot of neuron magnitudes (line 303; magnitude undefined in the "
                  "seed); here the participation number (sum w)^2/sum w^2 with w_j = c |a_j| |b_j|",
                  "defined in the module's notes; no reason for the choice"),
        Deviation("threshold",
                  "'only one neuron contributes' (line 309; 'only two neurons', line 328) is loosened to a mean "
                  "participation of at most 3; 'does not pick up sparse solution' (line 484) is read as at least "
                  "m/10",
                  "no reason given"),
        Deviation("scope",
                  "the source's comparison of scalings (lines 468-486) sits beside finite-data generalisation "
                  "figures; here n = infinity only, and 'reaches the same risk' is a common precondition (risk < "
                  "1e-3), not a comparison of the risks",
                  "no reason given"),
        Deviation("statistics",
                  "the source shows one run; here 5 (smoke) / 10 (full) / 5 (paper) seeds judged on the 95% Student "
                  "t interval of the mean participation, so single seeds above 3 can pass (3.83 in a full run)",
                  "the harness's at_most / at_least rules"),
    ),
    thresholds=(
        Threshold("mean participation number, conventional scaling, <= 3 (FEW; 95% t interval)", "tuned",
                  "no stated origin; looser than the source's 'one' (line 309) or 'two' (line 328) neurons; "
                  "measured 1.24 (smoke); confirmed on seeds 1000+ (smoke)"),
        Threshold("mean participation number, mean-field scaling, >= m/10 (95% t interval)", "tuned",
                  "no stated origin; measured 23.6 of 100 (smoke); confirmed on seeds 1000+ (smoke)"),
        Threshold("precondition: relative risk R/E[f*^2] < 1e-3 (RISK_GOAL) in every run of both scalings", "tuned",
                  "no stated origin; confirmed on seeds 1000+ (smoke)"),
        Threshold("step size LR = 2 (mean-field 2m); 2,000 (smoke) / 6,000 (full) / 20,000 (paper) steps", "tuned",
                  "no stated origin; confirmed on seeds 1000+ (smoke)"),
        Threshold("control: mean participation, conventional scaling, >= m/10", "argument",
                  "the same m/10 that the claim asks of mean-field scaling, as the lazy picture's prediction for "
                  "conventional scaling"),
    ),
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
    # The rival: the lazy / random-feature picture the slides themselves present ('NN degenerates to Random
    # feature model'): under conventional scaling GD stays near its initialisation, with most neurons active.
    control = combine([at_least(final["conventional"], width / 10, what="participation number, conventional scaling")],
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
                      negative_control=("the random-feature (lazy) picture: conventional-scaling GD keeps at least "
                                        "m/10 active neurons", control))
