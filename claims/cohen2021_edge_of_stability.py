"""Edge of stability: during full-batch GD the sharpness rises to 2/eta and hovers there while the
loss keeps falling, non-monotonically.

Cohen, Kaur, Li, Kolter & Talwalkar (ICLR 2021), Sec. 3, Fig. 1: progressive sharpening, then the edge of
stability. Measured on the FashionMNIST FNN setup of Wu, Ma & E (2018), tracking the sharpness along GD.
"""
from dataclasses import replace

import numpy as np
import pytest

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, combine, holds, precondition, shown, within
from sgdcheck.figures import figure, panel, series
from sgdcheck.runs import Ensemble, compute, loss_fell
from sgdcheck.setups import fashion_fnn
from sgdcheck.trajectories import Tracked, sharpness_measure, trajectory_panel

CLAIM = Claim(
    id="cohen2021.edge-of-stability",
    source=Source("Cohen et al. 2021 (ICLR)", "Sec. 3, Fig. 1 (outside the seeds: the best-known follow-up)"),
    quote=Quote("In this regime, the maximum eigenvalue of the training loss Hessian hovers just above the value "
                "2/(step size), and the training loss behaves non-monotonically over short timescales, yet "
                "consistently decreases over long timescales.",
                "Cohen et al. 2021 (ICLR), abstract; not among the seed texts (no seed refers to it; the catalog, "
                "/work/shared/claims.md line 66, lists it as outside the seeds)"),
    statement="During full-batch GD the sharpness rises (progressive sharpening) until it reaches 2/eta, then "
              "hovers at 2/eta while the training loss keeps decreasing over long times, non-monotonically.",
    paper={"sharpness after reaching the edge": "hovers just above 2/(step size) (Cohen et al. 2021, abstract; not "
                                                "a seed text)", "loss": "falls non-monotonically",
           "before the edge": "sharpness rises"},
    deviations=(
        Deviation("scope",
                  "the source is not among the seed texts and no seed refers to it: the quote, the statement and "
                  "the paper values rest on the published abstract and Fig. 1, not on a seed",
                  "the catalog adds it as 'the best-known follow-up' (claims.md line 66)"),
        Deviation("setup",
                  "Cohen's Fig. 1 runs GD at a range of step sizes on three architectures; here one step size, eta "
                  "= 0.5 (smoke, full) / 0.1 (paper); seed 004 line 745 shows GD at eta = 0.01 converging at "
                  "sharpness 53.5, far below 2/eta = 200",
                  "no reason given"),
        Deviation("data",
                  "Cohen trains on CIFAR-10 subsets (not in the seeds); here the first 1,000 FashionMNIST images",
                  "the Wu, Ma & E 2018 setup (module docstring)"),
        Deviation("model",
                  "several architectures in Cohen; here an FNN 784-100-100-100-10 (smoke) / 784-200-200-200-10 "
                  "(full) / 784-500-500-500-10 (paper) with MSE on one-hot targets",
                  "the Wu, Ma & E 2018 setup (module docstring)"),
        Deviation("sizes",
                  "3 seeds; training until loss 1e-3 (1e-4 at paper) or 4,000 (smoke) / 8,000 (full) / 80,000 "
                  "(paper) steps; whether this counts as Cohen's 'long timescales' is not argued",
                  "no reason given"),
        Deviation("definition",
                  "'hovers just above 2/(step size)' is asymmetric; here the mean of sharpness x eta/2 after first "
                  "reaching 0.9 must lie in the symmetric band [0.85, 1.15], so a mean below 2/eta passes (measured "
                  "0.983, smoke)",
                  "no reason given"),
        Deviation("definition",
                  "progressive sharpening ('so long as the sharpness is less than 2/eta, it tends to continually "
                  "rise') is tested only as a start below 0.9 (precondition) and a peak at or above 0.9 of 2/eta, "
                  "not as a continual rise",
                  "no reason given"),
        Deviation("definition",
                  "sharpness measured by power iteration (tol 1e-3) every 100 steps (500 at paper); the loss at "
                  "every step; 'non-monotonically' = any step with a rise after the edge, 'decreases' = ends lower "
                  "than where the edge was reached",
                  "the module's notes"),
        Deviation("statistics",
                  "the source shows single trajectories; here 'reached' must hold in each of 3 runs and the hover "
                  "ratio is judged by the 95% Student t interval of its mean over 3 seeds",
                  "'a mean interval over three seeds would call a large overshoot inconclusive' (module comment) "
                  "for reaching; the within rule for hovering"),
    ),
    thresholds=(
        Threshold("REACHED = 0.9: every run's peak sharpness x eta/2 >= 0.9; precondition: every start < 0.9",
                  "tuned",
                  "no stated origin (Cohen: the sharpness 'rises to 2/eta'); measured peaks 1.10-1.12, starts "
                  "0.13-0.15 (smoke); confirmed on seeds 1000+ (smoke)"),
        Threshold("HOVER = [0.85, 1.15]: mean sharpness x eta/2 after reaching the edge (95% t interval)", "tuned",
                  "no stated origin; measured 0.983 (smoke); confirmed on seeds 1000+ (smoke)"),
        Threshold("the loss rises on at least one step after the edge in every run (any rise > 0) and ends lower "
                  "than at the edge",
                  "argument",
                  "the meaning of 'non-monotonically ... yet consistently decreases'; no round-off margin (about "
                  "1,500 rises per run were measured, smoke)"),
        Threshold("eta = 0.5 (0.1 paper), chunk 100 (500 paper), power-iteration tol 1e-3, loss goal 1e-3 (1e-4 "
                  "paper)",
                  "tuned",
                  "no stated origin; confirmed on seeds 1000+ (smoke)"),
        Threshold("precondition: no run diverges and every run's training loss falls tenfold or more (FELL = 10)",
                  "argument",
                  "a run that stalls near its start has not trained long enough to show the edge; GD from the MSE of "
                  "an untrained FNN (about 0.1) to the loss goal 1e-3 is a hundredfold fall, so tenfold is a loose floor"),
        Threshold("control: the largest loss after the edge >= 10 x the loss at the edge, in every run", "argument",
                  "a blow-up: an order of magnitude, far beyond the non-monotone wiggles the claim expects"),
    ),
    notes="Reached: the sharpness exceeds 0.9 x 2/eta in every run (overshooting counts). Hovering: the mean of sharpness x eta / 2 after "
          "that point lies in [0.85, 1.15]. Non-monotone: the loss rises on some steps after the edge is "
          "reached while it ends lower than where the edge was reached.",
)
REACHED, HOVER = 0.9, (0.85, 1.15)
FELL = 10      # precondition: every run's loss falls tenfold or more (no diverged or stalled run)


def _trajectories(scale, device):
    """GD for every seed, as one cached trajectory job: the sharpness every `chunk` steps and at the last step, the
    training loss at every step (the run's history)."""
    setup = fashion_fnn(scale, device, loss_goal=scale.pick(smoke=1e-3, full=1e-3, paper=1e-4))
    lr, chunk = scale.pick(smoke=0.5, full=0.5, paper=0.1), scale.pick(smoke=100, full=100, paper=500)
    config = replace(setup.config, lr=lr, eval_every=1)
    return setup, Tracked(Ensemble(config, scale.seed_range(3), (lr,)), at=range(0, config.max_steps + 1, chunk),
                          measures=(sharpness_measure(tol=1e-3),))


def planned_runs(scale, device):
    return [_trajectories(scale, device)[1]]


# The sequential design of the seeds (sgdcheck.looks): two looks at smoke, not three (the first look, then twice
# its seeds): this claim's networks cost minutes a look, and a third look would cost four times the first.
LOOKS = {"smoke": 2}


@pytest.mark.gpu
def test_edge_of_stability(scale, device, evidence):
    setup, job = _trajectories(scale, device)
    lr, seeds = job.ensemble.lrs[0], scale.seed_range(3)
    evidence.device = device
    tracks = {t.seed: t for t in compute(job)}
    edge = 2 / lr
    start_ratios, peaks, hovers, increases, fell, bursts = [], [], [], [], [], []
    for seed, t in tracks.items():
        ratio = np.array(t["sharpness"]) * lr / 2
        history = t.result.history[1:]                       # the loss after every step
        start_ratios.append(float(ratio[0]))
        peaks.append(float(ratio.max()))
        reached = np.flatnonzero(ratio >= REACHED)
        if len(reached) == 0:
            hovers.append(np.nan)
            increases.append(0)
            fell.append(False)
            bursts.append(np.nan)
            continue
        at = t.steps[reached[0]]
        hovers.append(float(ratio[reached[0]:].mean()))
        after = np.array([v for s, v in history if s >= at])
        increases.append(int((np.diff(after) > 0).sum()))
        fell.append(bool(len(after) > 1 and after[-1] < after[0]))
        bursts.append(float(after.max() / after[0]) if len(after) else np.nan)
    evidence.record(**{"sharpness after reaching the edge": shown(float(np.nanmean(hovers) * edge),
                                                                  f"{np.nanmean(hovers) * edge:.3g} (2/eta = {edge:g}; "
                                                                  f"mean ratio {np.nanmean(hovers):.3f})"),
                       "loss": shown({"steps with a rise": float(np.mean(increases)), "runs ending lower": sum(fell)},
                                     f"rose on {int(np.mean(increases))} steps on average after the edge, "
                                     f"ended lower in {sum(fell)}/{len(fell)} runs"),
                       "before the edge": shown({"start": float(np.mean(start_ratios)), "peak": float(np.mean(peaks))},
                                                f"sharpness x eta / 2 from {np.mean(start_ratios):.3f} to a peak of "
                                                f"{np.mean(peaks):.3f}")})
    evidence.detail(setup=setup.describe(), lr=lr, seeds=list(seeds), start_ratios=start_ratios, peak_ratios=peaks,
                    hover_ratios=hovers, loss_increases=increases, loss_burst_after_edge=bursts,
                    steps={s: t.steps[-1] for s, t in tracks.items()},
                    converged={s: t.result.converged for s, t in tracks.items()})
    preconditions = [loss_fell(tracks.values(), FELL),
                     precondition(max(start_ratios) < REACHED,
                                  f"every run starts below the edge (initial sharpness x eta / 2 "
                                  f"{max(start_ratios):.3f} < {REACHED}), so the rise is progressive sharpening")]
    # Reaching the edge is a property of each run: a run that overshoots it has reached it (a mean interval
    # over three seeds would call a large overshoot inconclusive).
    verdict = combine([holds(all(p >= REACHED for p in peaks),
                             f"every run reaches the edge: peak sharpness x eta / 2 = "
                             f"{', '.join(f'{p:.3f}' for p in peaks)} >= {REACHED}"),
                       within(hovers, *HOVER, what="mean sharpness x eta / 2 after reaching the edge"),
                       holds(all(i > 0 for i in increases) and all(fell),
                             f"the loss rises on some steps after the edge in every run ({increases}) and ends "
                             f"lower than where the edge was reached")], preconditions)
    # The rival: classical optimisation (the descent lemma's step-size condition): past 2/eta GD is unstable and the
    # loss blows up, by ten times or more after the edge is reached, in every run.
    control = combine([holds(all(np.isfinite(b) and b >= 10 for b in bursts),
                             f"the loss grows tenfold after the edge in every run (largest loss after the edge / loss "
                             f"at the edge: {', '.join(f'{b:.3g}' for b in bursts)})")], preconditions)
    _figure(evidence, tracks, lr)
    evidence.conclude(CLAIM, verdict, seeds=seeds,
                      negative_control=("classical optimisation: past 2/eta GD blows up, the loss grows tenfold after the "
                                        "edge", control))


def _figure(evidence, tracks, lr):
    first = next(iter(tracks.values())).result.history[1:]
    evidence.figure("trajectory", figure(f"GD on FashionMNIST at eta = {lr:g}: sharpness and loss along training", [
        trajectory_panel(list(tracks.values()), "sharpness", "sharpness", bounds=[(2 / lr, "2/eta")]),
        panel("training loss (first seed)", "step", "loss", [series("line", *zip(*first), "")], yscale="log"),
    ]))
