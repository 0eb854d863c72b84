"""SGD escapes from GD minima that are too non-uniform for it; the escape is predicted beforehand.

Wu, Ma & E (NeurIPS 2018), Sec. 4.4, Table 3, Fig. 8: started at a minimum found by GD, SGD with a small
batch (s above sqrt(B(n-1)/(n-B))/eta) escapes within a few hundred steps to a flatter minimum, SGD with a
large batch (s below its bound) stays, and GD with eta > 2/a escapes. Here the prediction is computed from
the measured a and s of each GD minimum before SGD runs, then checked.
"""
from dataclasses import replace

import numpy as np
import pytest

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, at_most, combine, holds, precondition, shown
from sgdcheck.curvature import mse_loss, non_uniformity, sharpness
from sgdcheck.figures import figure, panel, series
from sgdcheck.escape import escape_probe
from sgdcheck.run_sets import gd_minima
from sgdcheck.runs import compute, trained_model, training_data
from sgdcheck.sampling import THEORY_SAMPLING
from sgdcheck.setups import fashion_fnn
from sgdcheck.stability import escape_predicted, nonuniformity_bound

CLAIM = Claim(
    id="wu2018.escape",
    source=Source("Wu, Ma & E 2018", "Sec. 4.4, Table 3, Fig. 8"),
    quote=Quote("it is not surprising that GD with learning rate 0.3, 0.5 will escape. ... the non-uniformities of "
                "the two starting minima (45.2 and 51.7) are too large. Hence, they are unstable for SGD with eta = "
                "0.1, B = 1 and eta = 0.1, B = 4. ... SGD with eta = 0.1, B = 100 fails to escape from the starting "
                "point.",
                "Sec. 4.4 (seed 003, lines 518-519, 521-523 and 524-525; extraction glyphs restored)"),
    statement="From a GD minimum, SGD escapes when s exceeds sqrt(B(n-1)/(n-B))/eta (small B) and reaches a "
              "flatter minimum, stays when s is below it (large B); GD with eta > 2/a escapes.",
    paper={"FashionMNIST start": "a = 19.7, s = 45.2 (GD, eta = 0.1)",
           "SGD eta = 0.1, B = 1 or 4": "escapes; 'the escape process takes only a few iterations' (Sec. 4.4)",
           "SGD B = 100 (corrupted data)": "stays", "GD eta > 2/a": "escapes"},
    deviations=(
        Deviation("setup",
                  "start from GD minima at eta = 0.1 on FashionMNIST and corrupted FashionMNIST (a = 19.7/19.9, s = "
                  "45.2/51.7, Table 3); here GD minima at eta = 0.5 on plain FashionMNIST (smoke a ~ 3.6, s ~ "
                  "11.8), those of wu2018.gd-sharpness",
                  "module notes: eta = 0.1 minima (a = 20) need far longer training"),
        Deviation("optimizer", "SGD probes at eta = 0.1 with B = 1, 4, 100; here eta = 0.5 with B = 1, 4, 100",
                  "the eta of the available GD minima (module notes)"),
        Deviation("data",
                  "B = 100 'fails to escape' on corrupted FashionMNIST (line 524); here on plain data (the report "
                  "row keeps the label '(corrupted data)')",
                  "no reason given"),
        Deviation("optimizer",
                  "GD probes at eta = 0.3 and 0.5 (a eta/2 ~ 3 and 5); here one GD probe at eta = 2.5/a (a eta/2 = "
                  "1.25), set from the measured a",
                  "no reason given"),
        Deviation("sizes",
                  "full-width FNN, every optimizer run to a training error below 1e-4 (line 536); here widths "
                  "100/200 (smoke/full), goal 1e-3, probes of a fixed 1500/2000/5000 steps without a convergence "
                  "check, 3/5 seeds",
                  "the CPU budget"),
        Deviation("definition",
                  "escape as a sudden move 'to some flatter area' (lines 544-545); here 'sharpness at the end below "
                  "0.8 a_start, or the run diverged' (divergence counts as escape)",
                  "no reason given"),
        Deviation("definition",
                  "the paper's 'flatter' after escape; here mean log(a_after/a) <= 0 over escaped, non-diverged "
                  "runs, which by the escape definition all have a_after < 0.8 a: this part cannot fail",
                  "no reason given: to be revisited"),
        Deviation("threshold",
                  "the paper predicts from sqrt(B)/eta (lines 521, 526); here the exact bound "
                  "sqrt(B(n-1)/(n-B))/eta, and 'stays' is predicted from being inside the box, which eq. 9 "
                  "(necessary for (8)) does not imply",
                  "the paper's own reading of eq. 9 (lines 526-527; stability.escape_predicted docstring)"),
        Deviation("scope",
                  "predictions sit far from the bound (smoke s/bound ~ 6, 3 and 0.56); speed ('only a few "
                  "iterations', line 546) and generalization (Fig. 8, col. 3) are not judged",
                  "no reason given (other catalog claims)"),
        Deviation("sampling",
                  "the paper's sampling is not stated in the seed; the judged SGD probes draw independent uniform "
                  "B-subsets; random-reshuffling probes (B = 1, 4) are run beside them and reported, not judged",
                  "the sampling the prediction (Theorem 1, eq. 9) assumes (module notes)"),
    ),
    thresholds=(
        Threshold("DROP = 0.2: escaped if a_end < 0.8 a_start or diverged", "tuned",
                  "no stated origin; it coincides with the GD probe's own edge 2/eta = 0.8 a; confirmed on seeds "
                  "1000+ (smoke)"),
        Threshold("the prediction is right in every run (12/12 at smoke)", "argument",
                  "an exact count per run; no tolerance"),
        Threshold("B in {1, 4, 100}", "source", "Sec. 4.4 (seed 003, lines 519-526)"),
        Threshold("SGD eta = 0.5", "argument", "the eta of the GD minima read from wu2018.gd-sharpness (module notes)"),
        Threshold("GD probe eta = 2.5/a (a eta/2 = 1.25)", "tuned",
                  "no stated origin: 25% past GD's edge, set from the measured a; confirmed on seeds 1000+ (smoke)"),
        Threshold("probe steps 1500/2000/5000 (smoke/full/paper)", "argument",
                  "about Fig. 8's displayed window of 1,500 iterations (seed 003, line 535); no stated origin "
                  "beyond"),
        Threshold("flatter: mean log(a_after/a) <= 0 (95% t interval), when >= 2 escaped non-diverged runs",
                  "argument",
                  "direction of 'escape ... to some flatter area' (line 545); no smallest effect"),
        Threshold("control: the sharpness-only prediction (escape iff a > 2/eta) right in every run", "argument",
                  "the rival's prediction judged as the claim's is: an exact count per run, no tolerance"),
    ),
    notes="Escape: at the end of the step budget the sharpness has fallen by more than 20% (the run left the "
          "minimum for a flatter region; the loss burst on the way is recorded) or the run diverged. The GD "
          "minima are those of wu2018.gd-sharpness at eta = 0.5 (smoke) and the SGD runs use eta = 0.5; the "
          "paper starts from eta = 0.1 minima, whose a = 2/eta = 20 is reached only with far longer training. "
          "SGD draws an independent uniform B-subset at every step, the sampling the prediction (Theorem 1, "
          "eq. 9) assumes; the same probes with random reshuffling (what data loaders do) are run beside them "
          "and reported, not judged.",
)
DROP = 0.2


def planned_runs(scale, device):
    return gd_minima(scale, device, lrs=(0.5,))      # the minima of wu2018.gd-sharpness at eta = 0.5


@pytest.mark.gpu
@pytest.mark.xdist_group("fashion-gd")
def test_escape(scale, device, evidence):
    evidence.device = device
    setup = fashion_fnn(scale, device)
    lr = 0.5
    config = replace(setup.config, lr=lr)
    n = config.n
    seeds = scale.seeds[:scale.pick(smoke=3, full=5)]
    steps = scale.pick(smoke=1500, full=2000, paper=5000)
    x, y = training_data(config)
    cases, rows, trajectories = [], [], {}
    for record in compute(planned_runs(scale, device)[0]):
        seed = record.seed
        if seed not in seeds:
            continue
        minimum = trained_model(record, config)
        a = float(sharpness(minimum, x, y, mse_loss, tol=1e-3, chunk_size=n))
        s = float(non_uniformity(minimum, x, y, mse_loss, tol=1e-2, chunk_size=n))
        probes = [(f"SGD B={b}", b, lr, THEORY_SAMPLING) for b in (1, 4, 100)] + [("GD eta=2.5/a", n, 2.5 / a, None)]
        probes += [(f"SGD B={b}, reshuffling", b, lr, "reshuffling") for b in (1, 4)]
        for name, batch, rate, sampling in probes:
            predicted = escape_predicted(a, s, rate, batch, n)
            probe = escape_probe(trained_model(record, config), x, y, rate, batch, steps, a_start=a, seed=seed, drop=DROP,
                                 sampling=sampling or THEORY_SAMPLING)
            result, escaped, after, burst = probe.result, probe.escaped, probe.sharpness_after, probe.burst
            rows.append({"seed": seed, "run": name, "batch": batch, "lr": rate, "sampling": sampling, "a": a, "s": s,
                         "bound": nonuniformity_bound(rate, batch, n), "predicted_escape": predicted, "escaped": escaped, "burst": burst,
                         "diverged": result.diverged, "a_after": after, "final_loss": result.loss})
            trajectories.setdefault(name, result.history)
        cases.append(record.ok)
    reshuffled = [r for r in rows if r["sampling"] == "reshuffling"]
    rows = [r for r in rows if r["sampling"] != "reshuffling"]
    started = precondition(all(cases), "every GD run reached its minimum (loss goal) without diverging")
    right = sum(r["predicted_escape"] == r["escaped"] for r in rows)
    flatter = [np.log(r["a_after"] / r["a"]) for r in rows if r["escaped"] and np.isfinite(r["a_after"])]
    parts = [holds(right == len(rows), f"the stability prediction made before running was right in "
                                       f"{right}/{len(rows)} runs")]
    if len(flatter) >= 2:
        parts.append(at_most(flatter, 0.0, what="log(a after escape / a at the GD minimum), escaped runs"))
    verdict = combine(parts, preconditions=[started])
    # The rival: sharpness alone decides (Keskar et al.; the GD condition): a run escapes only where a > 2/eta, so
    # SGD with any batch stays at these minima (a < 2/eta) and only the GD probe past its edge escapes.
    sharpness_only = sum((r["a"] > 2 / r["lr"]) == r["escaped"] for r in rows)
    control = combine([holds(sharpness_only == len(rows), f"the sharpness-only prediction (escape iff a > 2/eta) was "
                                                          f"right in {sharpness_only}/{len(rows)} runs")],
                      preconditions=[started])
    mean = lambda name, key: np.mean([r[key] for r in rows if r["run"] == name])
    share = lambda name: sum(r['escaped'] for r in rows if r['run'] == name) / len(seeds)
    frac = lambda name: f"{sum(r['escaped'] for r in rows if r['run'] == name)}/{len(seeds)} escaped"
    evidence.record(**{"FashionMNIST start": shown({"a": mean('SGD B=1', 'a'), "s": mean('SGD B=1', 's')},
                                                   f"a = {mean('SGD B=1', 'a'):.2f}, s = {mean('SGD B=1', 's'):.2f} "
                                                   f"(GD, eta = {lr})"),
                       "SGD eta = 0.1, B = 1 or 4": shown({"B=1": share('SGD B=1'), "B=4": share('SGD B=4')},
                                                          f"eta = {lr}: B=1 {frac('SGD B=1')} (bound "
                                                          f"{nonuniformity_bound(lr, 1, n):.2f}), B=4 {frac('SGD B=4')} (bound "
                                                          f"{nonuniformity_bound(lr, 4, n):.2f})", unit="share escaped"),
                       "SGD B = 100 (corrupted data)": shown(share('SGD B=100'),
                                                             f"plain data, B=100: {frac('SGD B=100')} (bound "
                                                             f"{nonuniformity_bound(lr, 100, n):.2f})", unit="share escaped"),
                       "GD eta > 2/a": shown(share('GD eta=2.5/a'), f"GD at eta = 2.5/a (2/eta = 0.8 a): "
                                                                    f"{frac('GD eta=2.5/a')}", unit="share escaped")})
    for b in (1, 4):
        theirs = [r for r in reshuffled if r["batch"] == b]
        ours = [r for r in rows if r["run"] == f"SGD B={b}"]
        evidence.finding(f"SGD B={b} from the GD minima escaped in {sum(r['escaped'] for r in ours)}/{len(ours)} runs "
                         f"with independent uniform batches (the theory's sampling) and in "
                         f"{sum(r['escaped'] for r in theirs)}/{len(theirs)} with random reshuffling (predicted: "
                         f"{sum(r['predicted_escape'] for r in ours)}/{len(ours)}).")
    evidence.detail(runs=rows, reshuffling_runs=reshuffled, steps=steps, sharpness_drop=DROP)
    evidence.figure("escape", figure("Started at a GD minimum (first seed): training loss", [
        panel("training loss", "step", "loss", [series("line", [s for s, _ in h], [v for _, v in h], name)
                                                 for name, h in trajectories.items()], yscale="log"),
    ]))
    evidence.conclude(CLAIM, verdict, seeds=seeds,
                      negative_control=("sharpness alone decides: a run escapes iff a > 2/eta, so SGD stays at any batch "
                                        "size", control))
