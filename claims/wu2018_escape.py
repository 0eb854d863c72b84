"""Started at a GD minimum, SGD escapes where linear stability says it cannot stay, fast, to a flatter global minimum.

Wu, Ma & E (NeurIPS 2018), Sec. 4.4, Table 3, Fig. 8 (and Fig. 1): from the minima GD finds on FashionMNIST and
on corrupted FashionMNIST (1000 images plus 200 with random labels), SGD with a small batch, whose
non-uniformity bound sqrt(B(n-1)/(n-B))/eta the minimum exceeds, escapes; SGD with a large batch (B = 100 on the
corrupted data) stays; GD with eta > 2/a escapes. The escape is "a sudden escape to some flatter area", a burst
of the training loss followed by convergence to another global minimum, and it "takes only a few iterations,
much less than the number of iterations needed for the optimizers to converge".

Here the prediction is made before each run, three-way (sgdcheck.stability.predict_escape): escapes where
condition (9) fails, stays where condition (8) holds (measured on the network, sgdcheck.network_stability), not
predicted in between. The starts are the GD minima trained on to loss 1e-4 (the paper's goal). Escape is
measured as the paper describes it: the loss bursts (ten times its value at the start, for 30 steps or more)
and comes back to the loss goal; the sharpness and non-uniformity of the new minimum are then measured, not
assumed.
"""
import math
from dataclasses import replace

import numpy as np
import pytest

from sgdcheck import (Claim, Deviation, Quote, Source, Threshold, at_most, combine, holds, known_refutation, precondition,
                      shown)
from sgdcheck.measurement_cache import cached_measurement
from sgdcheck.escape import BURST
from sgdcheck.escape_sampling import probes_with_sampling
from sgdcheck.escape_table import probe_minimum
from sgdcheck.figures import figure, panel, series
from sgdcheck.run_sets import gd_minima
from sgdcheck.runs import Ensemble, compute
from sgdcheck.setups import fashion_fnn
from sgdcheck.stability import ESCAPES, NOT_PREDICTED, STAYS

BURST_STEPS = 30            # left: the burst held this long (one unlucky minibatch lifts the loss for a step or two)

CLAIM = Claim(
    id="wu2018.escape",
    source=Source("Wu, Ma & E 2018", "Sec. 4.4, Table 3, Fig. 8"),
    quote=Quote("it is not surprising that GD with learning rate 0.3, 0.5 will escape. ... the non-uniformities of "
                "the two starting minima (45.2 and 51.7) are too large. Hence, they are unstable for SGD with eta = "
                "0.1, B = 1 and eta = 0.1, B = 4. ... SGD with eta = 0.1, B = 100 fails to escape from the starting "
                "point. ... the dynamics display a sudden escape to some flatter area. ... the escape process takes "
                "only a few iterations, much less than the number of iterations needed for the optimizers to "
                "converge",
                "Sec. 4.4 (seed 003, lines 518-519, 521-523, 524-525 and 544-547; extraction glyphs restored)"),
    statement="Started at a GD minimum, SGD and GD leave it where linear stability predicts they cannot stay (eq. 9 "
              "fails) and stay where it predicts they can (eq. 8 holds); a run that leaves converges to another "
              "global minimum, flatter than the start, and leaving takes far fewer steps than converging again.",
    paper={"FashionMNIST start": "a = 19.7, s = 45.2 (GD, eta = 0.1)",
           "SGD eta = 0.1, B = 1 or 4": "escapes; 'the escape process takes only a few iterations' (Sec. 4.4)",
           "SGD B = 100 (corrupted data)": "stays (s = 51.7 < sqrt(100)/0.1 = 100)",
           "GD eta > 2/a": "escapes",
           "after the escape": "a flatter minimum ('a sudden escape to some flatter area')",
           "escape speed": "'only a few iterations, much less than the number of iterations needed ... to converge'"},
    deviations=(
        Deviation("setup",
                  "starts from GD minima at eta = 0.1 (a = 19.7 / 19.9, s = 45.2 / 51.7, Table 3); here GD minima at "
                  "eta = 0.5 (those of wu2018.gd-sharpness on plain data, and the same setup on corrupted data)",
                  "GD at eta = 0.1 needs about five times the steps of eta = 0.5 to the same loss (~17,000 at this "
                  "width), beyond the CPU budget of smoke and full; the minima at eta = 0.5 sit at the same place "
                  "relative to their GD (a close to 2/eta) as the paper's"),
        Deviation("optimizer",
                  "SGD probes at eta = 0.1 (the minima's GD eta), B = 1, 4 (plain) and 4, 100 (corrupted); here eta "
                  "= 0.5, the minima's GD eta, with the same batch sizes on both data sets",
                  "the probe eta equals the GD eta of the start, as in the paper"),
        Deviation("optimizer",
                  "GD probes at eta = 0.3 and 0.5 (a eta / 2 ~ 3 and 5); here one GD probe at eta = 2.5/a (a eta / "
                  "2 = 1.25), set from each minimum's measured a",
                  "eta = 0.3/0.1 x 0.5 = 1.5 would be far past the edge where GD diverges on this small network; "
                  "one modest step past the edge tests the same condition"),
        Deviation("sizes",
                  "full-width FNN, every optimizer run to a training error below 1e-4 (line 536); here widths "
                  "100/200 (smoke/full), starts at loss 1e-4, runs that left judged back at the minima's first goal "
                  "1e-3, a window of 1500/2000 steps and a budget of 10/20 windows to converge again, 3/5 seeds",
                  "the CPU budget: SGD B = 1 at eta = 0.5 does not reach 1e-4 again within it"),
        Deviation("scope",
                  "not run at smoke: the claim runs from full scale on",
                  "its probes take ~15 minutes at smoke size (GD on the corrupted data alone ~6), beyond the CI budget"),
        Deviation("definition",
                  "escape 'to some flatter area' read off Fig. 8's accuracy and sharpness curves; here: the loss "
                  "reaches 10x its value at the minimum (left) and comes back to the goal within the budget "
                  "(returned); flatter is measured at the new minimum",
                  "Fig. 1 and 2: 'a fast escape ... and subsequent convergence to another global minimum', 'a burst "
                  "during the escape'"),
        Deviation("definition",
                  "the paper predicts from the bounds of eq. 9 alone (lines 521-527); here eq. 9 failing predicts "
                  "escape, eq. 8 measured on the network predicts staying, in between nothing is predicted",
                  "eq. 8 is the sufficient condition of Theorem 1, eq. 9 follows from it; inside eq. 9's box a "
                  "minimum can be unstable (tests/test_stability.py)"),
        Deviation("sampling",
                  "the paper's sampling is not stated in the seed; the judged SGD probes draw independent uniform "
                  "B-subsets; random-reshuffling probes (B = 1 on the plain data, B = 100 and 200 on both data sets, "
                  "from the same polished minima) are run beside them and reported, not judged",
                  "the sampling the prediction (Theorem 1, eq. 8-9) assumes; reshuffling is what data loaders do, and "
                  "the paper's B = 100 'stays' may have been run with it"),
        Deviation("scope",
                  "generalization after the escape (Fig. 8, col. 3) is not judged here (wu2018.lbfgs-sharp judges "
                  "test accuracy after escape)",
                  "the claim is the escape and its prediction"),
    ),
    thresholds=(
        Threshold(f"left: the training loss at {BURST:g}x its value at the start or more for {BURST_STEPS} steps, or the "
                  "run diverges", "tuned",
                  "an order of magnitude above the start; the paper's bursts take the training accuracy from 100% to "
                  "75-90% (Fig. 8). The duration was added after a first run (seeds 0-2, smoke): one minibatch of a "
                  "run predicted to stay (B = 200) lifted the loss 162x for one recorded step; the runs that leave "
                  "stay above for 50-1500 steps. Not confirmed: in the full run at df99c37 (seeds 0-11) and its "
                  "check (seeds 1000-1002), 4 of the 15 SGD B = 200 runs on the plain data that eq. 8 predicted to "
                  "stay held a 70-250x burst for 20-70 steps and came back to the goal at a 4-7% lower a, and 6 more "
                  "had bursts of 50-150x shorter than 30 steps: the refutation of that run rests on this duration, "
                  "which separates neither these bursts from the escapes of GD past its edge (60-130 steps above the "
                  "goal on the plain data) nor, by its size, from their 250-1900x"),
        Threshold("returned: the loss back at the minima's goal (1e-3) within ten windows", "argument",
                  "the goal the starting minima were trained to; the paper runs every optimizer to its goal "
                  "(line 536)"),
        Threshold("eq. 8 holds if lambda_max(E[(I - eta H_b)^2]) <= 1 + ln(2)/window", "argument",
                  "the mean square of the linearised deviation then at most doubles over the probe's window"),
        Threshold("every decided prediction right (an exact count per run)", "argument",
                  "Sec. 4.4: 'all the previous predictions are also confirmed'; no tolerance"),
        Threshold("flatter: mean log(a_after / a_start) <= 0 (95% t interval) over the runs that returned",
                  "argument", "direction of 'to some flatter area' (line 545); no smallest effect"),
        Threshold("the new minimum is stable for the SGD that found it: s_after <= sqrt(B(n-1)/(n-B))/eta in "
                  "every returned run", "source", "eq. 9, the condition SGD's minima satisfy (Sec. 3.2)"),
        Threshold("fast: mean (step the run left, its loss first at 10x the start) / (step back at the goal) <= 1/3 "
                  "(Student t interval), over the runs predicted to escape that came back", "tuned",
                  "'much less than the number of iterations needed for the optimizers to converge' (line 546): the "
                  "escape done within the first third of the way back to a minimum; wu2018.escape-speed reads the "
                  "same words as a tenth. Revised after the full run at cfe8717 (seeds 0-5), which judged the step of "
                  "the largest loss of the whole window over every run that came back: 3 of its 37 runs had that "
                  "largest loss in a second burst after they were back at the goal, and 18 were runs nothing was "
                  "predicted for, near the edge of stability, where an instability grows slowly (they left at steps "
                  "10-910). The paper's sentence is about the escapes it predicts (SGD B = 1, 4 and GD past its "
                  "edge). The bound 1/3 is unchanged. Confirmed on the seeds it was not revised on (full, df99c37): "
                  "seeds 6-11, 0.050 [0.025, 0.074] over 19 runs (95% t); seeds 1000-1002, 0.035 [0.003, 0.066] "
                  "over 10"),
        Threshold("where the runs go is judged on the runs that came back, at least two", "argument",
                  "a t interval needs two values; the share that came back per probe is reported beside it"),
        Threshold("starts: the GD minima trained on by the same GD to loss 1e-4", "source",
                  "the paper's goal of 1e-4 (line 536); at 1e-3 the residual gradients' noise alone lifts the loss of "
                  "SGD B = 200 10-40x (tried at smoke), at 1e-4 by 1.6x"),
        Threshold("B = 200 beside the paper's batches", "argument",
                  "a batch large enough that eq. 8 holds at these starts, so that 'stays' is predicted and tested "
                  "(B = 100 is predicted to stay by the paper's eq. 9 reading only)"),
        Threshold("B in {1, 4, 100}; 200 random-label extras", "source", "Sec. 4.4 (seed 003, lines 489-526)"),
        Threshold("GD probe eta = 2.5/a (a eta / 2 = 1.25)", "argument",
                  "25% past GD's edge 2/a, set from each minimum's a; GD at 2/eta below a cannot stay (eq. 9)"),
        Threshold("control: the sharpness-only prediction (escape iff a > 2/eta) right in every run", "argument",
                  "the rival's prediction judged as the claim's is: an exact count per run, no tolerance"),
    ),
    notes="The minima are GD's at eta = 0.5 (wu2018.gd-sharpness on the first 1000 FashionMNIST images; the same "
          "setup with 200 random-label extras for the corrupted data). Each probe runs a window of steps from the "
          "minimum (the loss recorded every 10 steps) and, when it left, goes on until it is back at the goal or "
          "the budget has run. SGD "
          "draws an independent uniform B-subset at every step (the sampling the prediction assumes); SGD B = 1 with "
          "random reshuffling is run beside it on the plain data, and SGD B = 100 and 200 with random reshuffling on both "
          "data sets (sgdcheck.escape_sampling), reported, not judged.",
)
LR = 0.5                    # the minima's GD step size, and the SGD probes'
PLAIN_BATCHES, CORRUPTED_BATCHES = (1, 4, 100, 200), (4, 100, 200)
POLISH_GOAL = 1e-4          # the starts: the GD minima, trained on with the same GD to this loss (the paper's 1e-4)
EXTRA = 200                 # random-label extras of the corrupted data (Sec. 4.4)
RESHUFFLED = 1              # the batch size also probed with random reshuffling in the table (plain data)
RESHUFFLED_NEAR_EDGE = (100, 200)   # probed with random reshuffling beside the table, both data sets
FAST = 1 / 3                # fast: left within the first third of the steps it took to be back at the goal


def _seeds(scale):
    return scale.seed_range(scale.pick(smoke=3, full=5))


def corrupted_minima(scale, device) -> Ensemble:
    """GD at eta = 0.5 on FashionMNIST with 200 random-label extras, to the same goal as the plain minima."""
    config = fashion_fnn(scale, device, corrupt_extra=EXTRA, max_steps=scale.pick(smoke=8000, full=12000,
                                                                                  paper=120000)).config
    return Ensemble(config, _seeds(scale), (LR,))


NOT_AT_SMOKE = ("wu2018.escape runs from full scale on: its probes (training on to loss 1e-4, SGD back to the goal, eq. 8 "
                "on the network) take ~15 minutes at smoke size, beyond the CI budget")


def planned_runs(scale, device):
    """The plain and the corrupted data's GD minima (the claim does not run at smoke)."""
    if scale.name == "smoke":
        return []
    return gd_minima(scale, device, lrs=(LR,)) + [corrupted_minima(scale, device)]


STAYS_REFUTED = known_refutation(
    "on the plain data eq. 8 holds for SGD B = 200 at its floor (criterion 1 + 1e-5), yet 4 of the runs predicted to stay "
    "(full, seeds 0-11 and 1000-1002) held a 70-250x burst for 30 steps or more and came back to the goal a few percent flatter; "
    "every run predicted to escape left", scales=("full",))


@pytest.mark.gpu
@pytest.mark.xdist_group("fashion-gd")
@STAYS_REFUTED
def test_escape(scale, device, evidence):
    if scale.name == "smoke":
        pytest.skip(NOT_AT_SMOKE)
    evidence.device = device
    seeds = _seeds(scale)
    steps = scale.pick(smoke=1500, full=2000, paper=5000)
    budget = steps * scale.pick(smoke=10, full=20, paper=20)
    slack = math.log(2) / steps
    polish_steps = scale.pick(smoke=20000, full=40000, paper=40000)
    plain, corrupted = planned_runs(scale, device)
    starts = [("FashionMNIST", plain.config, PLAIN_BATCHES, True, compute(plain)),
              ("corrupted FashionMNIST", corrupted.config, CORRUPTED_BATCHES, False, compute(corrupted))]
    rows, minima_ok, reshuffled = [], [], []
    for data_name, base, batches, with_reshuffling, records in starts:
        for record in records:
            if record.seed not in seeds:
                continue
            minima_ok.append(record.ok)
            config = replace(base, seed=record.seed, lr=LR, data_seed=base.effective_data_seed)
            rows += cached_measurement(probe_minimum, record, config, data_name, batches, steps, budget, slack,
                                       lr=LR, polish_goal=POLISH_GOAL, polish_steps=polish_steps,
                                       burst_steps=BURST_STEPS, reshuffled_batch=RESHUFFLED if with_reshuffling else None)
            reshuffled += cached_measurement(probes_with_sampling, record, config, data_name, RESHUFFLED_NEAR_EDGE,
                                             steps, budget, lr=LR, sampling="reshuffling", polish_goal=POLISH_GOAL,
                                             polish_steps=polish_steps, burst_steps=BURST_STEPS)
    reshuffled += [r for r in rows if r["sampling"] == "reshuffling"]
    rows = [r for r in rows if r["sampling"] != "reshuffling"]
    started = precondition(all(minima_ok) and all(r["polished"] for r in rows),
                           f"every GD run reached its minimum (loss goal) without diverging, and went on to "
                           f"{POLISH_GOAL:g}")
    decided = [r for r in rows if r["predicted"] != NOT_PREDICTED]
    kinds = precondition({ESCAPES, STAYS} <= {r["predicted"] for r in decided},
                         "the runs include both predictions, escape (eq. 9 fails) and stay (eq. 8 holds)")
    right = sum((r["predicted"] == ESCAPES) == r["left"] for r in decided)
    returned = [r for r in rows if r["escaped"]]
    sgd_returned = [r for r in returned if r["batch"] < r["n"]]
    fast = [r for r in returned if r["predicted"] == ESCAPES]      # the escapes the paper's sentence is about
    parts = [holds(right == len(decided), f"the prediction made before running was right in {right}/{len(decided)} "
                                          f"decided runs ({len(rows) - len(decided)} not predicted)")]
    if len(returned) >= 2:
        parts += [at_most([np.log(r["a_after"] / r["a"]) for r in returned], 0.0,
                          what="log(a at the new minimum / a at the start), runs that left and returned")]
    if len(fast) >= 2:
        parts.append(at_most([r["leave_step"] / r["return_step"] for r in fast], FAST,
                             what="step the run left / step back at the goal, runs predicted to escape that returned"))
    if sgd_returned:
        stable = sum(r["s_after"] <= r["s_bound"] for r in sgd_returned)
        parts.append(holds(stable == len(sgd_returned),
                           f"the new minimum satisfies eq. 9 for the SGD that found it in {stable}/{len(sgd_returned)} "
                           f"runs"))
    left = [r for r in rows if r["left"] and not r["diverged"]]
    came_back = precondition(len(returned) >= 2 and len(fast) >= 2,
                             f"at least two runs that left converged again within the budget, to judge where they go "
                             f"({len(returned)} of {len(left)} that left without diverging), two of them predicted to "
                             f"escape, to judge how fast ({len(fast)})")
    verdict = combine(parts, preconditions=[started, kinds, came_back])
    # The rival: sharpness alone decides (Keskar et al.'s view; the GD condition): a run leaves only where a > 2/eta,
    # so SGD stays at these minima (a < 2/eta) at every batch size and only the GD probe past its edge leaves.
    sharpness_only = sum((r["a"] > 2 / r["lr"]) == r["left"] for r in rows)
    control = combine([holds(sharpness_only == len(rows), f"the sharpness-only prediction (escape iff a > 2/eta) was "
                                                          f"right in {sharpness_only}/{len(rows)} runs")],
                      preconditions=[started])
    _record(evidence, rows, reshuffled, seeds, steps)
    evidence.conclude(CLAIM, verdict, seeds=seeds,
                      negative_control=("sharpness alone decides: a run escapes iff a > 2/eta, so SGD stays at any batch "
                                        "size", control))


def _share_left(rows) -> str:
    return f"{sum(r['left'] for r in rows)}/{len(rows)}"


def _largest_burst(rows) -> str:
    if any(r["diverged"] or not np.isfinite(r["burst"]) for r in rows):
        return "some diverged"
    return f"largest burst {max(r['burst'] for r in rows):.3g}x"


def _record(evidence, rows, reshuffled, seeds, steps):
    def runs_of(data_name, run):
        return [r for r in rows if r["data"] == data_name and r["run"] == run]

    def share(data_name, run):
        chosen = runs_of(data_name, run)
        return sum(r["left"] for r in chosen) / max(len(chosen), 1)

    def line(data_name, run):
        chosen = runs_of(data_name, run)
        predicted = sorted({r["predicted"] for r in chosen})
        return (f"{run}: left {_share_left(chosen)}, back at the goal "
                f"{sum(r['returned'] for r in chosen)}/{len(chosen)} (predicted: {', '.join(predicted)})")

    def mean(key, where):
        values = [r[key] for r in rows if where(r) and r[key] is not None and np.isfinite(r[key])]
        return float(np.mean(values)) if values else float("nan")

    def reshuffled_at(data_name, batch):
        return [r for r in reshuffled if r["data"] == data_name and r["batch"] == batch]

    plain = lambda r: r["data"] == "FashionMNIST"
    returned = lambda r: r["escaped"]
    fast = lambda r: r["escaped"] and r["predicted"] == ESCAPES
    edge = lambda r: r["escaped"] and r["predicted"] == NOT_PREDICTED
    evidence.record(**{
        "FashionMNIST start": shown({"a": mean("a", plain), "s": mean("s", plain)},
                                    f"a = {mean('a', plain):.2f}, s = {mean('s', plain):.2f} (GD, eta = {LR}); corrupted: "
                                    f"a = {mean('a', lambda r: not plain(r)):.2f}, s = {mean('s', lambda r: not plain(r)):.2f}"),
        "SGD eta = 0.1, B = 1 or 4": shown({"B=1": share("FashionMNIST", "SGD B=1"), "B=4": share("FashionMNIST", "SGD B=4")},
                                           f"eta = {LR}: {line('FashionMNIST', 'SGD B=1')}; {line('FashionMNIST', 'SGD B=4')}",
                                           unit="share left"),
        "SGD B = 100 (corrupted data)": shown(share("corrupted FashionMNIST", "SGD B=100"),
                                              f"corrupted: {line('corrupted FashionMNIST', 'SGD B=100')}, with random "
                                              f"reshuffling left {_share_left(reshuffled_at('corrupted FashionMNIST', 100))}; plain: "
                                              f"{line('FashionMNIST', 'SGD B=100')}", unit="share left"),
        "GD eta > 2/a": shown(mean("left", lambda r: r["run"] == "GD eta=2.5/a"),
                              f"GD at eta = 2.5/a: {line('FashionMNIST', 'GD eta=2.5/a')}; corrupted: "
                              f"{line('corrupted FashionMNIST', 'GD eta=2.5/a')}", unit="share left"),
        "after the escape": shown({"a after / a": mean("a_after", returned) / mean("a", returned)},
                                  f"a {mean('a', returned):.2f} -> {mean('a_after', returned):.2f} at the new minima"),
        "escape speed": shown({"left at step": mean("leave_step", fast), "back at the goal": mean("return_step", fast)},
                              f"runs predicted to escape: left at step {mean('leave_step', fast):.0f} on average, back "
                              f"at the goal at step {mean('return_step', fast):.0f}; not predicted: left at step "
                              f"{mean('leave_step', edge):.0f}, back at {mean('return_step', edge):.0f}"),
    })
    compared = []
    for data_name, batch in sorted({(r["data"], r["batch"]) for r in reshuffled}):
        ours = runs_of(data_name, f"SGD B={batch}")
        theirs = reshuffled_at(data_name, batch)
        compared.append(f"{data_name} B = {batch}: {_share_left(ours)} with independent uniform batches, "
                        f"{_share_left(theirs)} with random reshuffling ({_largest_burst(theirs)})")
    evidence.finding("SGD from the same polished GD minima, runs that left (the claim's definition): "
                     + "; ".join(compared) + ". The prediction assumes independent batches and is judged on them only.")
    undecided = [r for r in rows if r["predicted"] == NOT_PREDICTED]
    if undecided:
        evidence.finding("Not predicted (inside eq. 9's box, eq. 8 not shown): " + "; ".join(
            f"{r['data']} {r['run']} seed {r['seed']}: criterion {r['rule_value']:.5f}, left: {r['left']}"
            + (f" at step {r['leave_step']}" if r["left"] else "") for r in undecided))
    wrong = [r for r in rows if r["predicted"] != NOT_PREDICTED and (r["predicted"] == ESCAPES) != r["left"]]
    if wrong:
        evidence.finding("Predictions that failed: " + "; ".join(
            f"{r['data']} {r['run']} seed {r['seed']}: predicted {r['predicted']} ({r['rule']}, {r['rule_value']:.6f}), "
            + (f"left at step {r['leave_step']} with a {r['burst']:.0f}x burst"
               + (f", back at the goal at step {r['return_step']}, a {r['a']:.2f} -> {r['a_after']:.2f}"
                  if r["returned"] else ", not back at the goal") if r["left"] else "stayed")
            for r in wrong))
    stays = [r["rule_value"] for r in rows if r["predicted"] == STAYS]
    if stays:
        evidence.finding(f"eq. 8's criterion at the runs predicted to stay: {min(stays):.6f} to {max(stays):.6f}. Its "
                         f"floor is 1: in the directions every H_i annihilates E[(I - eta H_b)^2] is 1, so at these "
                         f"over-parameterised minima 'eq. 8 holds' cannot show how far the sharpest directions are "
                         f"from their edge.")
    drift = []
    for data_name, run in sorted({(r["data"], r["run"]) for r in rows}):
        ratios = [r["a_after"] / r["a"] for r in rows
                  if r["data"] == data_name and r["run"] == run and np.isfinite(r["a_after"])]
        if ratios:
            drift.append(f"{data_name} {run}: {np.median(ratios):.2f} [{min(ratios):.2f}, {max(ratios):.2f}], "
                         f"n = {len(ratios)}")
    if drift:
        evidence.finding("Sharpness where each probe ended / at its start, median [range] over the runs that did not "
                         "diverge, whether they left or not (a measurement beside the verdict, which does not define "
                         "escape by it): " + "; ".join(drift) + ".")
    late = [r for r in rows if r["escaped"] and r["peak_step"] is not None and r["peak_step"] > r["return_step"]]
    if late:
        evidence.finding("The largest loss of the window came after the run was back at the goal (a second burst, not "
                         "the escape's) in " + "; ".join(f"{r['data']} {r['run']} seed {r['seed']} (peak at step "
                                                         f"{r['peak_step']}, back at {r['return_step']})" for r in late))
    first = [r for r in rows if r["seed"] == seeds[0]]
    evidence.detail(runs=[{k: v for k, v in r.items() if k != "history"} for r in rows + reshuffled], steps=steps,
                    burst=BURST)
    evidence.figure("escape", figure("Started at a GD minimum (first seed): training loss", [
        panel(data_name, "step", "loss",
              [series("line", [t for t, _ in r["history"]], [v for _, v in r["history"]], r["run"])
               for r in first if r["data"] == data_name], yscale="log")
        for data_name in ("FashionMNIST", "corrupted FashionMNIST")
    ] + [panel("start (dot) -> new minimum, runs that left and returned", "sharpness a", "non-uniformity s",
               [series("line", [r["a"], r["a_after"]], [r["s"], r["s_after"]], r["run"] if r["seed"] == seeds[0] else "",
                       marker="o", markevery=[0], alpha=0.7) for r in rows if r["escaped"] and r["batch"] < r["n"]])]))
