"""The stability box holds every SGD solution; its non-uniformity side is nearly reached at B = 25 and far from
reached at B = 4.

Wu, Ma & E (NeurIPS 2018), Sec. 4.3 and Fig. 6: FashionMNIST FNN, eta = 0.5, initialisations U[-v/sqrt(n_in),
v/sqrt(n_in)] with v = 1, 2, 3, five models per setting; the predicted largest non-uniformity
sqrt(B(n-1)/(n-B))/eta is drawn for each batch size.
"""
from dataclasses import replace

import numpy as np

import pytest

from sgdcheck import (Claim, Deviation, Quote, Source, Threshold, at_least, at_most, combine, holds_for_all,
                      known_inconclusive, known_refutation, precondition, shown)
from sgdcheck.figures import figure, panel, series
from sgdcheck.minima import measured_minima
from sgdcheck.runs import Ensemble
from sgdcheck.sampling import THEORY_SAMPLING
from sgdcheck.setups import fashion_fnn
from sgdcheck.stability import necessary_box

LR = 0.5
BATCHES = (25, 4)
CLOSE, FAR = 0.75, 0.5          # s_max / bound at B = 25 at least CLOSE; at B = 4 at most FAR
SEEDS = 10                      # per (v, B): see the thresholds

CLAIM = Claim(
    id="wu2018.nonuniformity-tightness",
    source=Source("Wu, Ma & E 2018", "Sec. 4.3, Fig. 6"),
    quote=Quote("all the solutions lie within the area predicted by the theory. Specifically, for relatively large "
                "batch size, for example B = 25, the non-uniformity found for the solutions is quite close to the "
                "predicted upper bound. However, for very small batch size, say B = 4, the non-uniformities for both "
                "datasets are significantly lower than the predicted upper bound.",
                "Sec. 4.3 (seed 003, lines 462-465)"),
    statement="Every minimum SGD (eta = 0.5) finds on the FashionMNIST FNN lies inside the stability box a <= 2/eta, "
              "s <= sqrt(B(n-1)/(n-B))/eta; at B = 25 the largest non-uniformity comes close to its bound, at B = 4 "
              "it stays well below.",
    paper={"inside the box": "all solutions (Fig. 6)",
           "B = 25": "quite close to the bound", "B = 4": "significantly lower than the bound"},
    deviations=(
        Deviation("model",
                  "the FashionMNIST FNN of Table 1 with hidden widths 500 on n = 1000; here the stability diagram's "
                  "setup: widths x0.2 (smoke) / x0.4 (full) of 500, n = 500 (smoke) / 1000 (full), loss goal 1e-3; "
                  "the paper's widths, n = 1000 and loss goal 1e-4 at --scale paper",
                  "the CPU budget"),
        Deviation("setup",
                  "v = 1, 2, 3 (line 457); at smoke width v = 3 with eta = 0.5 diverges within two steps (found by "
                  "wu2018.a-s-correlation), so smoke runs v = 1 and 2; full runs all three and leaves out, by "
                  "name, a setting (v, B) in which every run diverges",
                  "the paper: 'Larger v will cause the optimizers to diverge' (line 458)"),
        Deviation("definition",
                  "'quite close' and 'significantly lower' are read from each seed's largest s over its minima (all "
                  "v) divided by the batch size's bound (eq. 9's s side, uniform B-subsets), averaged over the "
                  "seeds: at least 0.75 at B = 25, at most 0.5 at B = 4 (the largest over all minima is reported)",
                  "the figure's dashed lines against its points; the numbers are this module's reading"),
        Deviation("sampling", "the theory's uniform B-subsets", "Theorem 1's sampling"),
        Deviation("sizes", "ten models per setting instead of the paper's five (line 459)",
                  "five left the B = 4 part undecided (see the thresholds)"),
    ),
    thresholds=(
        Threshold("inside the box: every converged minimum has a <= 2/eta and s <= its bound", "source",
                  "eq. 9 (lines 257-272), the box drawn in Fig. 6 (its dashed lines, lines 460-461)"),
        Threshold("B = 25: each seed's largest s / bound (over v) >= 0.75 on average; B = 4: <= 0.5 (95% t "
                  "intervals over the ten seeds, Bonferroni over the parts)", "argument",
                  "'quite close' read as within a quarter of the bound, 'significantly lower' as below half of it, "
                  "fixed before the first run"),
        Threshold("control: each seed's largest s / bound at B = 4 minus that at B = 25 is at least -0.1 on "
                  "average (the seeds paired)",
                  "argument",
                  "the rival that the bound binds alike at every batch size (SGD fills its box whatever B), with a "
                  "tenth of the bound as slack"),
        Threshold("10 seeds per setting", "argument",
                  "a first run with the paper's five (smoke, seeds 0-4) decided B = 25 (0.85) but left B = 4 "
                  "undecided (0.49 [0.38, 0.61] against 0.5) and refuted the control by only 0.93 half-widths; "
                  "the thresholds were kept and the seeds doubled, which shrinks the intervals to about 0.57x; "
                  "a second look after an undecided first one, not counted in the error rates"),
        Threshold("at least 80% of the runs converge at each batch size, over the settings (v, B) in which any "
                  "run converges (precondition)", "argument",
                  "a setting where most runs fail says nothing about where SGD's minima lie; one where all diverge "
                  "is the paper's 'larger v will cause the optimizers to diverge' and is named, not counted"),
    ),
)


def _jobs(scale, device):
    setup = fashion_fnn(scale, device, n=scale.pick(smoke=500, full=1000, paper=1000))
    scales = scale.pick(smoke=(1.0, 2.0), full=(1.0, 2.0, 3.0), paper=(1.0, 2.0, 3.0))
    jobs = []
    for v in scales:
        for batch in BATCHES:
            config = replace(setup.config, optimizer="sgd", batch_size=batch, sampling=THEORY_SAMPLING,
                             max_steps=scale.pick(smoke=20000, full=40000, paper=200000),
                             model_options=(("init_scale", v),) if v != 1.0 else ())
            jobs.append((v, Ensemble(config, scale.seed_range(SEEDS), (LR,))))
    return jobs


def planned_runs(scale, device):
    return [job for _, job in _jobs(scale, device)]


UNDECIDED_AT_SMOKE = known_inconclusive(
    "every minimum lies inside the box and B = 25 comes close to its bound (each seed's largest s 0.85 of it), but "
    "at B = 4 each seed's largest s is 0.49 [0.35, 0.64] of its bound (seeds 0-4; seeds 1000-1009 earlier: 0.57 "
    "[0.49, 0.65]), on the line of the reading 'significantly lower' = at most half, fixed before the first run; the "
    "sequential design stops as futile", scales=("smoke",))
ABOVE_HALF_AT_FULL = known_refutation(
    "widths x0.4 (200), n = 1000: every minimum lies inside the box (76 of 76) and B = 25 comes close to its bound "
    "(each seed's largest s 0.84 of it), but at B = 4 each seed's largest s is 0.57 [0.55, 0.60] of its bound over "
    "20 seeds, above the reading 'significantly lower' = at most half, fixed before the first run (smoke's narrower "
    "nets: 0.49). What is refuted is that reading at this width: B = 4 stays well under B = 25 relative to its bound "
    "(0.57 against 0.84), but not under half. v = 3 diverges in every run here, where the paper trains it, and larger "
    "v gives larger s (v = 2 above v = 1), so the missing v = 3 minima would raise B = 4's ratio, not lower it. At "
    "the paper's width (--scale paper, on a GPU) B = 4 is again above half (0.53, v = 1 alone) but that run does not "
    "decide: see PAPER_V2_DIVERGES", scales=("full",))
PAPER_V2_DIVERGES = known_inconclusive(
    "the paper's widths (500) and loss goal (1e-4), ten seeds, on a GPU: v = 1 trains every run and its minima lie "
    "inside the box, B = 25 at 0.81 of its bound and B = 4 at 0.53 (each seed's largest s over v = 1 alone); v = 2 "
    "diverges within 3-8 steps in every B = 4 run and in 6 of 10 B = 25 runs, and v = 3 in every run. So 24 of the 30 "
    "runs in the settings that train converge, under the 80% the precondition asks (fixed before the first run), "
    "and the verdict is inconclusive. Of the four v = 2, B = 25 minima one has s 1.02x its bound (a = 3.1 <= 4): just "
    "outside the box, where the paper has every solution inside. The paper trains v = 2 and 3 at this width; where "
    "its setup differs so that they converge is not known here", scales=("paper",))


# The sequential design of the seeds (sgdcheck.looks): two looks at smoke, not three (the first look, then twice
# its seeds): this claim's networks cost minutes a look, and a third look would cost four times the first.
LOOKS = {"smoke": 2}


@pytest.mark.gpu
@UNDECIDED_AT_SMOKE
@ABOVE_HALF_AT_FULL
@PAPER_V2_DIVERGES
def test_nonuniformity_tightness(scale, device, evidence):
    evidence.device = device
    points = []
    for v, job in _jobs(scale, device):
        points += [dict(p, init_scale=v) for p in measured_minima(job)]
    n = _jobs(scale, device)[0][1].config.n
    ok = [p for p in points if p["converged"] and not p["diverged"]]
    training = {(p["init_scale"], p["batch_size"]) for p in ok}          # settings in which any run converges
    counted = [p for p in points if (p["init_scale"], p["batch_size"]) in training]
    per_batch = {b: sum(1 for p in counted if p["batch_size"] == b) for b in BATCHES}
    trained = precondition(all(per_batch[b] and sum(1 for p in ok if p["batch_size"] == b) >= 0.8 * per_batch[b]
                               for b in BATCHES),
                           f"at least 80% of the runs converge at each batch size ({len(ok)} of {len(counted)} in the "
                           f"settings that train)")
    for v, b in sorted({(p["init_scale"], p["batch_size"]) for p in points} - training):
        evidence.finding(f"v = {v:g}, B = {b}: every run diverged or missed the goal; the setting is left out "
                         f"(the paper: 'Larger v will cause the optimizers to diverge').")
    a_max = 2 / LR
    ratios = {b: max((p["s"] / necessary_box(LR, b, n)[1] for p in ok if p["batch_size"] == b), default=float("nan"))
              for b in BATCHES}
    per_seed = {b: {seed: max(p["s"] / necessary_box(LR, b, n)[1] for p in ok
                              if p["batch_size"] == b and p["seed"] == seed)
                    for seed in sorted({p["seed"] for p in ok if p["batch_size"] == b})} for b in BATCHES}
    inside = sum(1 for p in ok if p["a"] <= a_max and p["s"] <= necessary_box(LR, p["batch_size"], n)[1])
    evidence.record(**{"inside the box": shown(inside / max(len(ok), 1), f"{inside} of {len(ok)} minima"),
                       **{f"B = {b}": shown(float(np.mean(list(per_seed[b].values()))),
                                            f"each seed's largest s = {np.mean(list(per_seed[b].values())):.2f} x its "
                                            f"bound on average (largest of all: {ratios[b]:.2f})", unit="of the bound")
                          for b in BATCHES}})
    left_out = [p for p in points if not (p["converged"] and not p["diverged"])]
    if left_out:
        evidence.finding(f"{len(left_out)} of {len(points)} runs did not reach the goal or diverged and are left out: "
                         + ", ".join(f"B={p['batch_size']} v={p['init_scale']:g} seed {p['seed']}" for p in left_out))
    evidence.detail(minima=points)
    evidence.figure("box", figure(f"Minima of SGD at eta = {LR} and their stability box (n = {n})", [
        panel("marker: initialisation scale v", "sharpness a", "non-uniformity s",
              [series("scatter", [p["a"] for p in ok if p["batch_size"] == b and p["init_scale"] == v],
                      [p["s"] for p in ok if p["batch_size"] == b and p["init_scale"] == v], f"B={b}, v={v:g}",
                      color=f"C{i}", marker="o^s"[j])
               for i, b in enumerate(BATCHES) for j, v in enumerate(sorted({p["init_scale"] for p in ok}))],
              vlines=[(a_max, "a = 2/eta")], hlines=[(necessary_box(LR, b, n)[1], f"s bound, B={b}") for b in BATCHES]),
    ]))
    outside = next((p for p in ok if not (p["a"] <= a_max and p["s"] <= necessary_box(LR, p["batch_size"], n)[1])),
                   None)
    verdict = combine([holds_for_all(len(ok), None if outside is None else
                                     f"B={outside['batch_size']} v={outside['init_scale']:g} seed {outside['seed']}: "
                                     f"a = {outside['a']:.3g}, s = {outside['s']:.3g}", what="minima inside the box"),
                       at_least(list(per_seed[25].values()), CLOSE, what="B = 25: each seed's largest s / bound"),
                       at_most(list(per_seed[4].values()), FAR, what="B = 4: each seed's largest s / bound")],
                      preconditions=[trained])
    gap = [per_seed[4][seed] - per_seed[25][seed] for seed in per_seed[4] if seed in per_seed[25]]   # paired by seed
    control = combine([at_least(gap, -0.1, what="largest s / bound at B = 4 minus at B = 25")],
                      preconditions=[trained])
    evidence.conclude(CLAIM, verdict, seeds=scale.seed_range(SEEDS),
                      negative_control=("the bound binds alike at every batch size (SGD fills its box whatever B)",
                                        control))
