"""Equilibrate, lower the step, repeat: SGD annealing finds the global minimum of a non-convex
function with unequal wells, where GD from the shallow well does not.

Chaudhari, lecture notes "Stochastic gradient descent, Entropy-SGD" (2019), Remark 16.
"""
import numpy as np

from sgdcheck import Claim, Source, Tolerance, combine, proportion, shown
from sgdcheck.figures import figure, panel, series
from sgdcheck.landscapes import DoubleWell, NoisyFiniteSum
from sgdcheck.samplers import anneal, gd, sgd

CLAIM = Claim(
    id="chaudhari.annealing",
    source=Source("Chaudhari 2019 lecture notes", "Remark 16 (annealing algorithm)"),
    statement="Running SGD to equilibrium, lowering the step size, and repeating finds the global minimum of a "
              "non-convex function, starting from the other (shallower) minimum.",
    paper={"finds": "the global minimum"},
    tolerance=Tolerance(note="success = ending in the global well; replicated if the success rate is >= 0.9 at 95%"),
)
STAGES = [0.05, 0.03, 0.02, 0.01, 0.005, 0.002, 0.001]


def test_annealing(scale, evidence):
    chains = scale.pick(smoke=500, full=5000, paper=20000)
    per_stage = scale.pick(smoke=1500, full=5000)
    well = DoubleWell(1, tilt=0.6)
    shallow, deep = well.minima()[1], well.minima()[0]
    finite_sum = NoisyFiniteSum(well, 100, noise_scale=10.0, seed=5)
    start = np.full((chains, 1), shallow)
    annealed = constant = plain = 0
    for seed in scale.seeds:
        rng = np.random.default_rng(seed)
        annealed += int((anneal(finite_sum, start, STAGES, per_stage, rng, batch_size=1).x[:, 0] < 0).sum())
        constant += int((sgd(finite_sum, start, STAGES[-1], 1, per_stage * len(STAGES), rng,
                             replacement=True).x[:, 0] < 0).sum())
        plain += int((gd(well, start, 0.05, per_stage * len(STAGES)).x[:, 0] < 0).sum())
    total = chains * len(scale.seeds)
    temperatures = [finite_sum.langevin_temperature(lr, 1) for lr in STAGES]
    evidence.record(global_minimum=float(deep), start_minimum=float(shallow),
                    depth_gap=float(well.value(np.array([[shallow]]))[0] - well.value(np.array([[deep]]))[0]),
                    annealed_success=annealed / total, constant_small_step_success=constant / total,
                    gd_success=plain / total, stage_temperatures=temperatures)
    evidence.record(finds=shown({"annealed": annealed / total, "GD": plain / total, "constant step": constant / total},
                                f"the global minimum in {annealed / total:.1%} of runs (GD {plain / total:.0%}, "
                                f"SGD at the last step only {constant / total:.1%})"))
    xs = np.linspace(-1.8, 1.8, 200)
    evidence.figure("landscape", figure("Annealing on a tilted double well", [
        panel("f(x) = (x^2 - 1)^2 + 0.6 x", "x", "f", [series("line", xs.tolist(), well.value(xs[:, None]).tolist(), "f")],
              vlines=[(float(shallow), "start"), (float(deep), "global minimum")]),
        panel("success rate", "", "fraction ending in the global well",
              [series("bar", ["annealed SGD", "SGD at the last step only", "GD"],
                      [annealed / total, constant / total, plain / total], "")]),
    ]))
    verdict = combine([proportion(annealed, total, low=0.9, what="annealed success rate")])
    control = proportion(plain, total, low=0.9, what="GD success rate")
    evidence.conclude(CLAIM, verdict, seeds=scale.seeds,
                      negative_control=("plain GD from the shallow minimum also finds the global one", control))
