"""Entropy-SGD reaches wider valleys than SGD at equal training loss.

Chaudhari et al., "Entropy-SGD: Biasing gradient descent into wide valleys" (ICLR 2017), Alg. 1, on the
reading list of the lecture notes (seed 002, Sec. 4): an inner Langevin/SGD loop of L steps on
f(w') + gamma/2 |w' - w|^2 estimates mu = <w'>, and the outer step follows the gradient of the local
entropy, w <- w - eta gamma (w - mu). Here both methods train the FashionMNIST FNN of the label claims
(natural labels, B = 20) to the same loss goal, Entropy-SGD with an inner step equal to SGD's step, and
the sharpness of the minima is compared.
"""
from dataclasses import replace

import numpy as np
import pytest

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, combine, effect, known_inconclusive, shown
from sgdcheck.curvature import sharpness
from sgdcheck.losses import mse_loss
from sgdcheck.figures import figure, panel, series
from sgdcheck.runs import cached_run, reached_goal, trained_model, training_data
from sgdcheck.setups import accuracy, held_out, label_runs

CLAIM = Claim(
    id="chaudhari.entropy-sgd",
    source=Source("Chaudhari et al. 2017", "Entropy-SGD, Alg. 1 (lecture notes seed 002, Sec. 4)"),
    quote=Quote("“Entropy-SGD: Biasing gradient descent into wide valleys” by [Chaudhari et al. \\(2016\\)](#)",
                "Reading list (seed 002, line 13); reference entry at line 359; the notes' Sec. 4 'ENTROPY-SGD' "
                "(line 291) never describes the algorithm"),
    statement="Entropy-SGD reaches wider valleys (lower sharpness) than SGD with the same step size, at equal "
              "training loss.",
    paper={"sharpness": "wide valleys (the Entropy-SGD paper's title, in the notes' reading list)"},
    deviations=(
        Deviation("scope",
                  "the notes only list the Entropy-SGD paper in their reading list (line 13) and their Sec. 4 "
                  "(lines 291-352) stops before the algorithm; the claim's content (Alg. 1, wider valleys) comes "
                  "from the Entropy-SGD paper, which is not among the seed texts",
                  "the module cites Chaudhari et al. 2017, Alg. 1; its Source's '(lecture notes seed 002, Sec. 4)' "
                  "points to a section that does not contain it"),
        Deviation("optimizer",
                  "in the paper's reference code (ucla-vision/entropy-sgd, python/train.py) every inner Langevin "
                  "step draws a fresh minibatch; here all 20 inner steps reuse the outer step's minibatch, so mu "
                  "averages GD on one batch's loss",
                  "no reason given: to be revisited"),
        Deviation("optimizer",
                  "the reference uses Nesterov momentum 0.9 (inner and outer), inner lr 0.1, gamma scoping gamma (1 "
                  "+ scoping)^t; here no momentum, inner lr 0.5 (SGD's step), fixed gamma 0.03, outer step 1/gamma "
                  "(w <- mu)",
                  "the module: 'Entropy-SGD with an inner step equal to SGD's step'; no reason for the rest"),
        Deviation("definition",
                  "the paper's notion is local entropy ('wide valleys'); the test compares the top Hessian "
                  "eigenvalue (Lanczos, tol 1e-3) of the MSE training loss at the loss goal 1e-3 with zero training "
                  "error",
                  "reuses the sharpness measure and set-up of the label claims"),
        Deviation("data",
                  "the reference code trains MNIST/CIFAR-10 networks with cross-entropy; here the FashionMNIST FNN "
                  "of the label claims (n = 1000, width_scale 0.4 at full, batch 20, step 0.5) with MSE",
                  "the set-up of the label claims"),
        Deviation("setup",
                  "Entropy-SGD uses about 3.3x SGD's gradient evaluations (16,017 vs 4,823, full report) and ends "
                  "at an averaged iterate; iterate averaging alone lowers sharpness, a rival the test does not "
                  "separate",
                  "no reason given: to be revisited"),
        Deviation("statistics",
                  "at smoke at most 24 seeds (looks of 12 and 24 under the sequential design), fewer than an effect "
                  "of ~4% needs (~50 for the claim, ~130 for its control's band), so smoke is expected to end "
                  "inconclusive with the seeds that would decide in the report; 80 seeds at full; the full report's "
                  "-0.094 predates commit 1c79e90's round-off change, after which 24 seeds each on two disjoint sets "
                  "(smoke size) gave -0.044 and -0.037",
                  "smoke's budget (about a minute of CPU a seed pair); the known-inconclusive mark at smoke"),
    ),
    thresholds=(
        Threshold("smallest effect 0.02 in log(sharpness ratio) (SMALLEST)", "argument",
                  "the source gives no number. Cohen's 'small' standardised effect (d = 0.2) on the scale of the "
                  "spread of the paired log ratios between seeds (sd 0.09-0.10 on the pilot seeds 0-23 and "
                  "1000-1023 at smoke size): 0.2 x 0.1 = 0.02; a shift of SGD's minima smaller than a fifth of "
                  "their own seed-to-seed spread is not a bias 'into wide valleys' a reader could see. It is also "
                  "20x the Lanczos tolerance 1e-3, so the sharpness estimates resolve it"),
        Threshold("effect 'less' on the log ratio, 95% interval over seeds", "argument",
                  "the harness's effect rule and default level"),
        Threshold("seed counts 24 (smoke, cap 24) / 80 (full)", "argument",
                  "a power calculation from the pilot: the paired log ratio has mean about -0.04 and sd 0.09-0.10 "
                  "(seeds 0-23: -0.044 [-0.082, -0.005]; seeds 1000-1023: -0.037 [-0.079, +0.004]); its 95% "
                  "interval excludes 0 with 80% power when n >= ((1.96 + 0.84) x 0.1 / 0.04)^2 = 49; the control's "
                  "band (its interval at 97.5% must exclude 0 and reach past -0.02) needs about 80, so 80 seeds at "
                  "full; smoke cannot afford them: it runs 24 at most and is expected to end inconclusive, with "
                  "the seeds needed computed from its own spread"),
        Threshold("step 0.5 (SGD's step and the inner step)", "tuned",
                  "the step of the label claims; at 0.1 SGD's sharpness varied by +-15% in a 3-seed trial (module's "
                  "notes); not run at smoke, so not confirmed on seeds 1000+"),
        Threshold("gamma 0.03, fixed", "source",
                  "the reference README's CIFAR-10 command (-L 20 --gamma 0.03), without its scoping; the module "
                  "states no origin"),
        Threshold("L = 20 inner steps, EMA alpha 0.75, thermal noise 1e-4", "source",
                  "the Entropy-SGD reference code and README (L usually 20, beta1 0.75, noise 1e-4), not the seed "
                  "notes"),
        Threshold("Entropy-SGD max_steps = SGD's // 10 (4000 outer steps at full), eval_every 20", "argument",
                  "no stated origin; 20 gradient evaluations per outer step give twice SGD's gradient budget"),
        Threshold("control: |log ratio| <= 0.02 (effect 'none')", "argument",
                  "the equivalence outcome of the same rule on the same numbers (module's notes); no rival theory "
                  "behind it"),
    ),
    notes="Entropy-SGD: L = 20 inner steps with the SGD step size and batch (inner_lr = eta), gamma = 0.03, "
          "thermal noise 1e-4, mu an exponential average (alpha = 0.75) of the inner iterates, outer step "
          "eta_outer = 1/gamma (w <- mu). Both methods stop at the loss goal (1e-3 over the training set). "
          "Sharpness = top Hessian eigenvalue (Lanczos). Checked at step 0.5, the step of the label claims; at "
          "step 0.1 SGD's sharpness varies by +-15% between seeds (a 3-seed trial: ratio 0.95, interval "
          "[0.68, 1.33]), which would need far more seeds than the smoke budget allows. Seeds: 80 at full, 24 at most at smoke (expected inconclusive there, see below). With the "
          "runs stopped at the loss goal alone, 10 full-scale seeds left the effect undecided (log ratio -0.042 "
          "[-0.093, +0.007]); trained to zero error as well, 8 smoke seeds decided the claim (-0.085 [-0.152, "
          "-0.018]) but not the control's +-0.02 band, by 0.002. Smallest effect that counts: 2% of the sharpness "
          "(log ratio 0.02; the notes give no number): twenty times the Lanczos tolerance, so an effect below it is "
          "not one the sharpness estimate can be trusted with; 'equally sharp' is the equivalence outcome of the same "
          "rule. The seed counts were raised after seeing undecided results; the disjoint-seed run (seeds from 1000) "
          "checks the verdict on fresh seeds. 12 smoke seeds decided both the claim and the control until the "
          "training step changed its float round-off (autograd instead of functorch gradients, a fused update: the "
          "same step to the last bits or so, but SGD trajectories are chaotic and reach other minima); on the new "
          "sample they gave -0.060 [-0.121, +0.001], undecided; 24 seeds on two disjoint sets gave -0.044 and -0.037 "
          "with per-seed sd 0.09-0.10, so the effect is about 4%: smoke runs at most 24 seeds and is expected to end "
          "inconclusive, with the seeds that would decide in its report (full scale runs 80).",
)
GAMMA, INNER = 0.03, 20
SMALLEST = 0.02          # log ratio of sharpness: the smallest difference that counts


def _sharpness(record, config, x, y):
    return float(sharpness(trained_model(record, config), x, y, mse_loss, tol=1e-3, chunk_size=len(x)))


STEPS = (0.5,)


def _configs(scale, device, step):
    """SGD and Entropy-SGD runs of every seed at this step size."""
    base = replace(label_runs(scale, device)[0], lr=step)
    seeds = scale.seed_range(scale.pick(smoke=24, full=80))      # power for a 4% effect: see the thresholds
    sgd_configs = [replace(base, seed=s) for s in seeds]
    entropy_configs = [replace(c, optimizer="entropy-sgd", lr=1 / GAMMA, max_steps=c.max_steps // 10, eval_every=20,
                               optimizer_options=(("gamma", GAMMA), ("inner_steps", INNER), ("inner_lr", step),
                                                  ("noise", 1e-4)))
                       for c in sgd_configs]
    return seeds, sgd_configs, entropy_configs


UNDERPOWERED_AT_SMOKE = (
    "the effect (log sharpness ratio about -0.04, per-seed sd about 0.09) is smaller than smoke's 24 seeds resolve: "
    "seeds 0-23 gave -0.035 [-0.079, +0.010], claim and control undecided (the same seeds trained on another CPU "
    "gave -0.044 [-0.082, -0.005], the claim decided by a hair); the control's band needs about 130 seeds. Decided "
    "at full scale (80 seeds).")
# The sequential design: looks of 12 and 24 seeds at smoke (the fixed design runs the 24); each seed pair costs
# about a minute of CPU, so the cap stays at the fixed design's 24 rather than the 130 the control would need.
LOOKS = {"smoke": 2}
MAX_SEEDS = {"smoke": 24}


def planned_runs(scale, device):
    return [c for step in STEPS for part in _configs(scale, device, step)[1:] for c in part]


@pytest.mark.gpu
@pytest.mark.xdist_group("fashion-sgd")
@pytest.mark.parametrize("step", STEPS)
@known_inconclusive(UNDERPOWERED_AT_SMOKE, scales=("smoke",))
def test_entropy_sgd(step, scale, device, evidence):
    evidence.device = device
    seeds, sgd_configs, entropy_configs = _configs(scale, device, step)
    sgd, entropy = [cached_run(c) for c in sgd_configs], [cached_run(c) for c in entropy_configs]
    trained = reached_goal(sgd + entropy)
    x, y = training_data(sgd_configs[0])      # natural labels, first n images: the same for every seed
    a_sgd = [_sharpness(r, c, x, y) for r, c in zip(sgd, sgd_configs)]
    a_entropy = [_sharpness(r, c, x, y) for r, c in zip(entropy, entropy_configs)]
    ratios = [float(np.log(e / s)) for e, s in zip(a_entropy, a_sgd)]
    test_x, test_y = held_out(sgd_configs[0])
    acc = lambda records, configs: [accuracy(trained_model(r, c), test_x, test_y) for r, c in zip(records, configs)]
    acc_sgd, acc_entropy = acc(sgd, sgd_configs), acc(entropy, entropy_configs)
    what = "log(sharpness Entropy-SGD / sharpness SGD)"
    verdict = combine([effect(ratios, SMALLEST, "less", what=what)], preconditions=[trained])
    control = combine([effect(ratios, SMALLEST, "none", what=what)], preconditions=[trained])
    evidence.record(sharpness=shown(
        {"Entropy-SGD": np.mean(a_entropy), "SGD": np.mean(a_sgd), "ratio": np.exp(np.mean(ratios)),
         "test accuracy Entropy-SGD": np.mean(acc_entropy), "test accuracy SGD": np.mean(acc_sgd),
         "gradient evaluations Entropy-SGD": np.mean([r.steps * INNER for r in entropy]),
         "gradient evaluations SGD": np.mean([r.steps for r in sgd])},
        f"step {step}: Entropy-SGD {np.mean(a_entropy):.2f} vs SGD {np.mean(a_sgd):.2f} "
        f"(ratio {np.exp(np.mean(ratios)):.2f}); test accuracy {np.mean(acc_entropy):.1%} vs "
        f"{np.mean(acc_sgd):.1%}; gradient evaluations to the goal "
        f"{np.mean([r.steps * INNER for r in entropy]):.0f} vs {np.mean([r.steps for r in sgd]):.0f}"))
    evidence.detail(step=step, sharpness_sgd=a_sgd, sharpness_entropy_sgd=a_entropy, test_accuracy_sgd=acc_sgd,
                    test_accuracy_entropy_sgd=acc_entropy, outer_steps=[r.steps for r in entropy],
                    sgd_steps=[r.steps for r in sgd])
    evidence.figure(f"training-{step}", figure(f"SGD and Entropy-SGD, step {step} (every seed)", [
        panel("training loss against gradient evaluations", "gradient evaluations", "loss",
              [series("line", [t * (INNER if name == "Entropy-SGD" else 1) for t, _ in r.history],
                      [v for _, v in r.history], name if k == 0 else "", color=color, alpha=0.7)
               for name, runs, color in (("SGD", sgd, "C0"), ("Entropy-SGD", entropy, "C1"))
               for k, r in enumerate(runs)], yscale="log"),
        panel("sharpness at the loss goal", "", "top Hessian eigenvalue",
              [series("bar", [f"seed {s}" for s in seeds], a_sgd, "SGD", offset=-0.2, width=0.4),
               series("bar", [f"seed {s}" for s in seeds], a_entropy, "Entropy-SGD", offset=0.2, width=0.4)]),
    ]))
    evidence.conclude(CLAIM, verdict, seeds=seeds, case=f"step {step}",
                      negative_control=(f"the two methods' minima are equally sharp (no difference of {SMALLEST:.0%} or more)",
                                        control))
