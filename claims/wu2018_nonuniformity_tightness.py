"""The stability box holds every SGD solution; its non-uniformity side is nearly reached at B = 25 and far from
reached at B = 4.

Wu, Ma & E (NeurIPS 2018), Sec. 4.3 and Fig. 6: FashionMNIST FNN, eta = 0.5, initialisations U[-v/sqrt(n_in),
v/sqrt(n_in)] with v = 1, 2, 3, five models per setting; the predicted largest non-uniformity
sqrt(B(n-1)/(n-B))/eta is drawn for each batch size.

The authors' released data for Fig. 6 (github.com/leiwu0308/sgd.stability, plot/data/fmnist/
lr0.5_range_n1000_w0.pkl, drawn by plot/plot_CG_domain.py) fixes what the text leaves open: its minima fall in three
weight-norm groups (about 14, 24 and 34), the norms of torch's default initialisation scaled by 0.5, 1 and 1.5 (11.3,
22.4, 33.7 at width 500), not by 1, 2 and 3 (22.4, 44.9, 67.3), whose initial sharpness (about 17 and 190) lies far
above 2/eta = 4; and its points give the figure's words numbers: at B = 25 they reach 0.98-1.04 of the bound, at
B = 4 0.53-0.61.
"""
from dataclasses import replace

import numpy as np

import pytest

from sgdcheck import (Claim, Deviation, Quote, Source, Threshold, at_least, at_most, combine, holds_for_all,
                      known_inconclusive, precondition, shown)
from sgdcheck.figures import figure, panel, series
from sgdcheck.minima import measured_minima
from sgdcheck.runs import Ensemble
from sgdcheck.sampling import THEORY_SAMPLING
from sgdcheck.setups import fashion_fnn
from sgdcheck.stability import necessary_box

LR = 0.5
BATCHES = (25, 4)
CLOSE, FAR = 0.75, 0.7         # s_max / bound at B = 25 at least CLOSE; at B = 4 at most FAR
BOX_SLACK = 1.05                # s up to 5% over its bound counts as inside, as the paper's own points (up to 1.04)
INIT_SCALES = (0.5, 1.0, 1.5)   # the text's v = 1, 2, 3 as the released data's weight norms read them (smoke: 1, 1.5)
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
    paper={"inside the box": "all solutions (Fig. 6; the released points reach 1.04x the s bound at B = 25)",
           "B = 25": "quite close to the bound (released Fig. 6 points: 0.98-1.04 of it)",
           "B = 4": "significantly lower than the bound (released Fig. 6 points: 0.53-0.61 of it)"},
    deviations=(
        Deviation("model",
                  "the FashionMNIST FNN of Table 1 with hidden widths 500 on n = 1000; here the stability diagram's "
                  "setup: widths x0.2 (smoke) / x0.4 (full) of 500, n = 500 (smoke) / 1000 (full), loss goal 1e-3; "
                  "the paper's widths, n = 1000 and loss goal 1e-4 at --scale paper",
                  "the CPU budget"),
        Deviation("setup",
                  "the text's v = 1, 2, 3 (line 457) run as init_scale 0.5, 1, 1.5 times torch's default "
                  "U[-1/sqrt(n_in), 1/sqrt(n_in)] on the weights (smoke: 1 and 1.5, the two that reach the largest s, "
                  "for CI's time); a setting (v, B) in which every run diverges is left out by name",
                  "the authors' released Fig. 6 data: its minima's weight norms (about 14, 24, 34) are those of "
                  "scales 0.5, 1, 1.5 (11.3, 22.4, 33.7 at width 500), not 1, 2, 3 (22.4, 44.9, 67.3). Read as 1, 2, "
                  "3, the initial sharpness is 0.6, 17 and 190 against 2/eta = 4 and SGD diverged within 3-8 steps "
                  "(v = 2 in 16 of 20 runs at the paper's width, v = 3 in all, at every width), where the paper "
                  "trains all three; 'Larger v will cause the optimizers to diverge' (line 458)"),
        Deviation("definition",
                  "'quite close' and 'significantly lower' are read from each seed's largest s over its minima (all "
                  "v) divided by the batch size's bound (eq. 9's s side, uniform B-subsets), averaged over the "
                  "seeds: at least 0.75 at B = 25, at most 0.7 at B = 4 (the largest over all minima is reported)",
                  "the released Fig. 6 points: B = 25's reach 0.98-1.04 of the bound, B = 4's 0.53-0.61; see the "
                  "thresholds"),
        Deviation("sampling", "the theory's uniform B-subsets", "Theorem 1's sampling"),
        Deviation("sizes", "ten models per setting (twenty where the design's third look runs) instead of the "
                  "paper's five (line 459)",
                  "five left the B = 4 part undecided (see the thresholds)"),
    ),
    thresholds=(
        Threshold("inside the box: every converged minimum has a <= 2/eta and s <= 1.05x its bound", "source",
                  "eq. 9 (lines 257-272), the box drawn in Fig. 6 (its dashed lines, lines 460-461); the paper calls "
                  "its own points, four of fifteen at B = 25 between 1.02x and 1.04x the s bound (released data), "
                  "'within the area predicted', so 5% over the line is inside. Set after this module's paper-scale "
                  "run had one minimum at 1.02x"),
        Threshold("B = 25: each seed's largest s / bound (over v) >= 0.75 on average; B = 4: <= 0.7 (95% t "
                  "intervals over the seeds, Bonferroni over the parts)", "source",
                  "the words' numbers in the released Fig. 6 data: 'quite close' is 0.98-1.04 there and 'significantly "
                  "lower' 0.53-0.61. 0.7 admits the paper's own B = 4 points with 0.09 to spare and stays under the "
                  "B = 25 cut; 0.75 for B = 25 leaves a quarter for narrower nets and a looser loss goal. The B = 4 "
                  "cut was 0.5 (half the bound, fixed before the first run) until the released data showed that the "
                  "paper's own points do not meet it: this module's full (0.57) and paper-scale (0.53) B = 4 ratios "
                  "were known when it moved, so the claim is confirmed on seeds 1000+"),
        Threshold("control: each seed's largest s / bound at B = 4 minus that at B = 25 is at least -0.1 on "
                  "average (the seeds paired)",
                  "argument",
                  "the rival that the bound binds alike at every batch size (SGD fills its box whatever B), with a "
                  "tenth of the bound as slack"),
        Threshold("10 seeds per setting", "argument",
                  "a first run with the paper's five (smoke, seeds 0-4) decided B = 25 (0.85) but left B = 4 "
                  "undecided (0.49 [0.38, 0.61] against the cut of then, 0.5) and refuted the control by only 0.93 "
                  "half-widths; the thresholds were kept and the seeds doubled, which shrinks the intervals to about "
                  "0.57x; a second look after an undecided first one, not counted in the error rates. The "
                  "sequential design runs 5, 10 and, while a part more seeds may decide is undecided, 20 seeds"),
        Threshold("at least 80% of the runs converge at each batch size, over the settings (v, B) in which any "
                  "run converges (precondition)", "argument",
                  "a setting where most runs fail says nothing about where SGD's minima lie; one where all diverge "
                  "is the paper's 'larger v will cause the optimizers to diverge' and is named, not counted"),
    ),
)


def _jobs(scale, device):
    setup = fashion_fnn(scale, device, n=scale.pick(smoke=500, full=1000, paper=1000))
    jobs = []
    for v in scale.pick(smoke=INIT_SCALES[1:], full=INIT_SCALES, paper=INIT_SCALES):
        for batch in BATCHES:
            config = replace(setup.config, optimizer="sgd", batch_size=batch, sampling=THEORY_SAMPLING,
                             max_steps=scale.pick(smoke=20000, full=40000, paper=200000),
                             model_options=(("init_scale", v),) if v != 1.0 else ())
            jobs.append((v, Ensemble(config, scale.seed_range(SEEDS), (LR,))))
    return jobs


def planned_runs(scale, device):
    return [job for _, job in _jobs(scale, device)]


NARROW_AT_SMOKE = known_inconclusive(
    "widths x0.2 (100), n = 500, v = 1 and 1.5, seeds 0-19 (the design's last look): every minimum lies inside the "
    "box (80 of 80) and B = 4 stays well below its bound (each seed's largest s 0.57 of it, under 0.7), but B = 25 "
    "reaches 0.74 [0.72, 0.77] of its bound, on the line of 'quite close' = at least 0.75 (the paper's own points at "
    "width 500: 0.98-1.04; the spread says about 970 seeds would decide), while the control is refuted (B = 4 minus "
    "B = 25: -0.18 [-0.23, -0.12] against -0.1). The narrow net stays further from its bound at B = 25; full and "
    "paper scale decide", scales=("smoke",))


# The sequential design of the seeds (sgdcheck.looks): the default three looks (5, 10, 20 seeds), each judged at
# 1 - 0.05/3. Two looks at smoke (for the time of a look) left the control undecided at 10 seeds on its -0.1
# line while 10 other seeds refuted it; the third look runs only while a part more seeds may decide is undecided.


@pytest.mark.gpu
@NARROW_AT_SMOKE
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
    inside = sum(1 for p in ok if p["a"] <= a_max and p["s"] <= BOX_SLACK * necessary_box(LR, p["batch_size"], n)[1])
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
    outside = next((p for p in ok
                    if not (p["a"] <= a_max and p["s"] <= BOX_SLACK * necessary_box(LR, p["batch_size"], n)[1])), None)
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
