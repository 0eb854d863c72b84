"""Equilibrate, lower the step, repeat: SGD annealing finds the global minimum of a non-convex
function with unequal wells, where GD from the shallow well does not.

Chaudhari, lecture notes "Stochastic gradient descent, Entropy-SGD" (2019), Remark 16. Two cases: the
notes' noise (additive, of constant covariance, Assumption 14) and SGD's own noise where the shallow minimum
interpolates (the noise vanishes there and grows with the non-uniformity s nearby; Wu, Ma & E 2018).
"""
import numpy as np
import pytest

from sgdcheck import (Claim, Deviation, Quote, Source, Threshold, Tolerance, combine, effect, known_refutation,
                      mean_square_rate, proportion, shown)
from sgdcheck.figures import figure, panel, series
from sgdcheck.local_noise import LocalNoiseSum
from sgdcheck.landscapes import DoubleWell, NoisyFiniteSum
from sgdcheck.lyapunov import top_exponent
from sgdcheck.samplers import anneal, gd, sgd

CLAIM = Claim(
    id="chaudhari.annealing",
    source=Source("Chaudhari 2019 lecture notes", "Remark 16 (annealing algorithm)"),
    quote=Quote("Take lots of steps of SGD with some fixed step-size $\\alpha$ until SGD equilibrates - Reduce the "
                "step-size $\\alpha$ , and take lots of steps of SGD again until it equilibrates; - Repeat the "
                "previous step This is a formal algorithm but it will converge to the global minimum of a "
                "non-convex function $f(x)$ .",
                "Remark 16, the algorithm's list items and the sentence after them (seed 002, lines 285-289; list "
                "lines joined)"),
    statement="Running SGD to equilibrium, lowering the step size, and repeating finds the global minimum of a "
              "non-convex function, starting from the other (shallower) minimum. Case 'additive': the notes' "
              "noise. Case 'state-dependent': the same f, with SGD's noise vanishing at the shallow minimum and "
              "growing with its non-uniformity s nearby, for the two largest spreads that keep every sample "
              "convex.",
    paper={"finds": "the global minimum"},
    deviations=(
        Deviation("model",
                  "the notes' argument runs through the Gibbs model of SGD (Assumption 14, line 228; 'only a "
                  "model', line 250); the test runs SGD on NoisyFiniteSum, whose noise is the shift xi_i: additive, "
                  "independent of x, one of 100 fixed values per step",
                  "the setting the notes assume (case 'additive'); case 'state-dependent' drops it"),
        Deviation("data",
                  "case 'state-dependent': not in the notes. The same f, as a finite sum of n = 8 (sgdcheck.local_noise."
                  "LocalNoiseSum) f_i = f + s v_i (x - x_s)^2 psi(x)/2 with mean-zero v_i of mean square 1 and psi a "
                  "bump of width 0.9 around the shallow minimum x_s: the per-sample curvatures there are f''(x_s) + "
                  "s v_i (a = 6.03), SGD's noise vanishes at x_s and grows with s and the distance nearby, and there "
                  "is none elsewhere. Two convex choices (every sample's curvature >= 0, as at an interpolating "
                  "minimum of the square loss, where H_i = J_i^T J_i): s = 5 with v = +-1 (curvatures 11.0 and 1.0) "
                  "and s = 15 with one sample carrying it (v = sqrt(7) once, -1/sqrt(7) seven times: 45.7 and 0.36)",
                  "the interpolating case of SGD's noise in its simplest form; the noise is placed at the start "
                  "because that is where annealing must act; convex samples because an interpolating minimum of "
                  "the square loss has them"),
        Deviation("setup",
                  "case 'state-dependent': runs start 1e-3 (N(0, 1e-6)) from the shallow minimum, not on it",
                  "SGD's noise is zero at the minimum itself, so a run started exactly there never moves; no run "
                  "of SGD starts exactly at a minimum"),
        Deviation("setup",
                  "the notes run each stage 'until SGD equilibrates' (lines 285-286); the test runs a fixed 1500 "
                  "(smoke) / 5000 (full) steps per stage with no equilibrium check",
                  "no reason given: to be revisited"),
        Deviation("data",
                  "the notes state it for any non-convex f; the test uses f = (x^2 - 1)^2 + 0.6 x in 1-D, whose "
                  "shallow-side barrier (0.47) is below the depth gap (1.20), starting at the shallow minimum, "
                  "stages alpha = 0.05 -> 0.001 (T 2.5 -> 0.05)",
                  "no reason given: to be revisited"),
        Deviation("definition",
                  "the notes say the algorithm 'will converge to the global minimum' (a limit); the test asks that "
                  ">= 90% of chains end at x < 0 (the basin boundary is x = 0.154), judged on a 95% Clopper-Pearson "
                  "interval",
                  "the module's tolerance note"),
        Deviation("scope",
                  "the test does not show that lowering the step matters: its only constant-step comparison uses "
                  "the coldest step (0.001, frozen); a constant step 0.005 reaches the global well in 98.8% of "
                  "chains vs 96.2% annealed (review's check)",
                  "no reason given: to be revisited"),
        Deviation("sizes", "500 (smoke) / 5000 (full) chains per seed, batch 1 with replacement",
                  "the CPU budget of the smoke and full scales"),
    ),
    thresholds=(
        Threshold("annealed success rate >= 0.9 (95% Clopper-Pearson)", "argument",
                  "a finite-run stand-in for the notes' limit 'will converge' (which implies 1); no stated reason "
                  "for 0.9"),
        Threshold("success = x < 0 at the end", "argument",
                  "approximates the basin boundary x = 0.154; at the last temperature 0.05 chains sit near the "
                  "minima"),
        Threshold("STAGES 0.05, 0.03, 0.02, 0.01, 0.005, 0.002, 0.001; 1500 / 5000 steps per stage", "tuned",
                  "no stated origin (taken as chosen after a first run); confirmed on seeds 1000+ (smoke)"),
        Threshold("instance: tilt 0.6, noise_scale 10, n = 100, shift seed 5", "tuned",
                  "no stated origin (taken as chosen after a first run); the instance is fixed, the sampling seeds "
                  "vary; confirmed on seeds 1000+ (smoke)"),
        Threshold("control: quenched success rate >= 0.9 (the same hot stages, then straight to alpha = 0.001)",
                  "argument",
                  "the same success level as the claim's, for the rival schedule that skips the equilibrations "
                  "Remark 16 asks for"),
        Threshold("case 'state-dependent': s = 5 (+-1) and 15 (one sample)", "argument",
                  "the largest convex spreads of the two patterns with a margin (s < a = 6.03 and s < a sqrt(7) = "
                  "16.0); eq. 8 with B = 1 at the shallow minimum: s = 5 stable at every stage (rate 0.55 at 0.05), "
                  "s = 15 mean-square unstable at the hottest stage only (rate 1.05 at 0.05, top Lyapunov exponent "
                  "+0.015); with convex samples of a symmetric spread the critical step 2a/(a^2 + s^2) is at least "
                  "1/a = 0.166, above every stage"),
        Threshold("case 'state-dependent', control: annealed success at s = 15 exceeds that at s = 5 by 0.1 or more "
                  "(effect over seeds)", "argument",
                  "the rival that SGD's noise acts through its size: more disagreement between samples, more noise, "
                  "more escape; 0.1 is the claim's own slack (1 - 0.9)"),
    ),
    tolerance=Tolerance(note="success = ending in the global well; replicated if the success rate is >= 0.9 at 95%"),
)
STAGES = [0.05, 0.03, 0.02, 0.01, 0.005, 0.002, 0.001]


# non-uniformity at the shallow minimum and the pattern of the samples' offsets: both keep every sample convex
NONUNIFORMITIES = ((5.0, "halves"), (15.0, "outlier"))
STATE_REFUTED = known_refutation(
    "with SGD's own noise vanishing at the shallow minimum and convex samples, the minimum is linearly stable at "
    "every stage but the hottest at most, and no run leaves it (s = 5 and 15, 0 of every seed's runs): annealing "
    "acts through the noise at the start, and SGD's own noise has none there")


def _state_dependent(scale, evidence):
    chains = scale.pick(smoke=500, full=5000, paper=20000)
    per_stage = scale.pick(smoke=1500, full=5000)
    well = DoubleWell(1, tilt=0.6)
    shallow, deep = well.minima()[1], well.minima()[0]
    total = chains * len(scale.seeds)
    parts, per_seed, unstable, typical = [], {}, {}, {}
    for s, pattern in NONUNIFORMITIES:
        landscape = LocalNoiseSum(well, 8, multiplicative_at=[shallow], nonuniformity=s, additive_at=[deep],
                                  additive=0.0, pattern=pattern)
        hessians = landscape.component_hessians_at_centre()
        unstable[s] = [lr for lr in STAGES if mean_square_rate(hessians, lr, 1, "replacement") > 1]
        typical[s] = [lr for lr in STAGES if top_exponent(hessians, lr, 1, "replacement").value > 0]
        per_seed[s] = []
        for seed in scale.seeds:
            rng = np.random.default_rng(seed)
            start = shallow + 1e-3 * rng.standard_normal((chains, 1))
            per_seed[s].append(float((anneal(landscape, start, STAGES, per_stage, rng, batch_size=1).x[:, 0] < 0)
                                     .mean()))
        successes = int(round(np.sum(per_seed[s]) * chains))
        parts.append(proportion(successes, total, low=0.9, what=f"s = {s:g}: annealed success rate"))
    (small, _), (large, _) = NONUNIFORMITIES
    gain = [b - a for a, b in zip(per_seed[small], per_seed[large])]
    control = effect(gain, 0.1, "greater", what=f"annealed success at s = {large:g} minus at s = {small:g}")
    evidence.record(**{f"s = {s:g}: annealed success": float(np.mean(per_seed[s])) for s, _ in NONUNIFORMITIES})
    evidence.record(finds=shown({f"state-dependent, s = {s:g}": float(np.mean(per_seed[s])) for s, _ in NONUNIFORMITIES},
                                "; ".join(f"s = {s:g}: the global minimum in {np.mean(per_seed[s]):.1%} of runs"
                                          for s, _ in NONUNIFORMITIES)))
    evidence.detail(mean_square_unstable_stages={str(s): v for s, v in unstable.items()},
                    typically_unstable_stages={str(s): v for s, v in typical.items()})
    labels = [f"s = {s:g} ({pattern})" for s, pattern in NONUNIFORMITIES]
    evidence.figure("state-dependent", figure("Annealing with SGD's own noise at the shallow minimum", [
        panel("success rate (ending in the global well)", "", "fraction",
              [series("bar", labels, [float(np.mean(per_seed[s])) for s, _ in NONUNIFORMITIES], "annealed")],
              hlines=[(0.9, "claim's level")]),
    ]))
    evidence.conclude(CLAIM, combine(parts), seeds=scale.seeds, case="state-dependent",
                      negative_control=("SGD's noise acts through its size: more non-uniformity at the shallow minimum, "
                                        "more runs leave it", control))


@pytest.mark.parametrize("noise", ["additive", pytest.param("state-dependent", marks=STATE_REFUTED)])
def test_annealing(noise, scale, evidence):
    if noise == "state-dependent":
        _state_dependent(scale, evidence)
        return
    chains = scale.pick(smoke=500, full=5000, paper=20000)
    per_stage = scale.pick(smoke=1500, full=5000)
    well = DoubleWell(1, tilt=0.6)
    shallow, deep = well.minima()[1], well.minima()[0]
    finite_sum = NoisyFiniteSum(well, 100, noise_scale=10.0, seed=5)
    start = np.full((chains, 1), shallow)
    annealed = constant = plain = quenched = 0
    quench = [STAGES[0]] * (len(STAGES) - 1) + [STAGES[-1]]    # hot, then straight to the coldest step
    for seed in scale.seeds:
        rng = np.random.default_rng(seed)
        annealed += int((anneal(finite_sum, start, STAGES, per_stage, rng, batch_size=1).x[:, 0] < 0).sum())
        constant += int((sgd(finite_sum, start, STAGES[-1], 1, per_stage * len(STAGES), rng,
                             replacement=True).x[:, 0] < 0).sum())
        plain += int((gd(well, start, 0.05, per_stage * len(STAGES)).x[:, 0] < 0).sum())
        quenched += int((anneal(finite_sum, start, quench, per_stage, rng, batch_size=1).x[:, 0] < 0).sum())
    total = chains * len(scale.seeds)
    temperatures = [finite_sum.langevin_temperature(lr, 1) for lr in STAGES]
    evidence.record(global_minimum=float(deep), start_minimum=float(shallow),
                    depth_gap=float(well.value(np.array([[shallow]]))[0] - well.value(np.array([[deep]]))[0]),
                    annealed_success=annealed / total, constant_small_step_success=constant / total,
                    gd_success=plain / total, quenched_success=quenched / total, stage_temperatures=temperatures)
    evidence.record(finds=shown({"annealed": annealed / total, "GD": plain / total, "constant step": constant / total},
                                f"the global minimum in {annealed / total:.1%} of runs (GD {plain / total:.0%}, "
                                f"SGD at the last step only {constant / total:.1%})"))
    xs = np.linspace(-1.8, 1.8, 200)
    evidence.figure("landscape", figure("Annealing on a tilted double well", [
        panel("f(x) = (x^2 - 1)^2 + 0.6 x", "x", "f", [series("line", xs.tolist(), well.value(xs[:, None]).tolist(), "f")],
              vlines=[(float(shallow), "start"), (float(deep), "global minimum")]),
        panel("success rate", "", "fraction ending in the global well",
              [series("bar", ["annealed SGD", "quenched SGD", "SGD at the last step only", "GD"],
                      [annealed / total, quenched / total, constant / total, plain / total], "")]),
    ]))
    verdict = combine([proportion(annealed, total, low=0.9, what="annealed success rate")])
    # The rival: the schedule's gradual cooling does not matter, any run that starts hot and ends cold finds the
    # global minimum. Remark 16 says each stage must equilibrate; a quench freezes the hot stage's spread.
    control = proportion(quenched, total, low=0.9, what="quenched success rate (hot stages, then the coldest step)")
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds, case="additive",
                      negative_control=("quenching does as well: the same hot stages, then straight to the coldest step, "
                                        "find the global minimum as often", control))
