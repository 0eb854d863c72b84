"""Minibatch gradient components are approximately Gaussian for moderate batch sizes.

Poggio & Liao (Theory II), Sec. 7.1, Fig. 6: histograms of single components of minibatch gradients look
Gaussian in the asymptotic regime, which motivates modelling SGD as Langevin dynamics. Checked on the FashionMNIST
FNN at the GD minima of wu2018.gd-sharpness: per-sample gradients of 200 random coordinates, minibatch means
drawn without replacement, and the distance of each coordinate's distribution to the Gaussian; the share of
coordinates that stay far from it is reported beside the median.
"""
import numpy as np
import pytest
import torch
from scipy import stats as sps
from torch.func import functional_call, grad, vmap

from sgdcheck import Claim, Deviation, Quote, Source, Threshold, at_least, at_most
from sgdcheck import shown as as_shown
from sgdcheck.losses import mse_loss
from sgdcheck.figures import figure, panel, series
from sgdcheck.run_sets import gd_minima
from sgdcheck.runs import compute, trained_model, training_data
from sgdcheck.setups import fashion_fnn

CLAIM = Claim(
    id="poggio.gaussian-noise",
    source=Source("Poggio & Liao (Theory of deep learning II)", "Sec. 7.1, Fig. 6"),
    quote=Quote("The histograms look approximately Gaussian, as expected (see text) for minibatches that are not "
                "too small and not too large",
                "Fig. 6 caption, Sec. 7.1 (seed 001, line 238); cf. line 233"),
    statement="Components of minibatch gradients are approximately Gaussian for moderate batch sizes.",
    paper={"histograms of gradient components": "approximately Gaussian (moderate B)"},
    deviations=(
        Deviation("model",
                  "Fig. 6 names no network (default: the 6-layer DCNN with BN on CIFAR-10, line 81); here Wu 2018's "
                  "FashionMNIST FNN 784-100-100-100-10 (smoke; widths 200 at full) on the first 1000 images",
                  "reuses the GD minima of wu2018.gd-sharpness"),
        Deviation("loss", "the paper's experiments use cross-entropy (line 79); here MSE on one-hot targets",
                  "the shared wu2018 setup"),
        Deviation("setup",
                  "'in the asymptotic regime' (line 238), network and training not given; here the GD minima at eta "
                  "= 0.5 trained to MSE 1e-3",
                  "reuses the wu2018.gd-sharpness minima, which are in that regime"),
        Deviation("sizes",
                  "'not too small and not too large', no number; the verdict uses B = 100 of n = 1000, minibatches "
                  "without replacement; B = 1, 10 and 300 are recorded only (the 'too large' side is not judged)",
                  "one moderate size decides; the others show the trend"),
        Deviation("definition",
                  "histograms of 'some of the components'; here the median over 200 random coordinates of the KS "
                  "distance between the standardised minibatch-mean component (3000 minibatches) and N(0, 1), mean "
                  "and sd estimated from the same draws (biases KS low)",
                  "an effect size: with thousands of draws any normality test rejects (the module's note)"),
        Deviation("scope",
                  "'not too large' is not tested, and the fifth of coordinates with KS > 0.1 at B = 100 (smoke) is "
                  "recorded as a finding but does not enter the verdict",
                  "the median criterion judges the typical component only"),
        Deviation("statistics", "3 seeds (the first three GD minima) at every scale",
                  "no reason given; the CPU budget"),
    ),
    thresholds=(
        Threshold("median KS distance to N(0, 1) over coordinates <= 0.05 at B = 100 (at_most)", "argument",
                  "an effect size: the KS sampling noise at 3000 draws is about 0.016 (0.87/sqrt(3000)), so 0.05 is "
                  "a visible deviation; not from the source"),
        Threshold("moderate batch B = 100 (MODERATE) of n = 1000", "argument",
                  "'not too small and not too large' (line 238): a tenth of the data, where the central limit "
                  "theorem has 100 terms and the batch is far from the full set"),
        Threshold("200 coordinates (COORDINATES), 3000 minibatches each (DRAWS)", "argument",
                  "sampling precision (KS noise about 0.016, a stable median); no origin stated in the module"),
        Threshold("control: a share of at least 0.5 of the coordinates with KS > 0.1 at B = 100 (at_least)", "argument",
                  "the heavy-tailed rival's prediction made concrete: most coordinates visibly non-Gaussian (0.1 is "
                  "twice the claim's own effect size)"),
        Threshold("95% two-sided Student t interval of the mean over seeds (Bonferroni over parts when a refutation "
                  "rests on one of several parts)",
                  "argument",
                  "conventional level; each false verdict has probability <= 2.5% at the bound "
                  "(docs/error-rates.md)"),
    ),
    notes="Approximately Gaussian: the median over 200 random coordinates of the Kolmogorov-Smirnov distance "
          "between the standardized minibatch-gradient component (3000 minibatches) and N(0, 1) is at most 0.05, "
          "an effect size (with thousands of draws a normality test rejects any visible deviation). Moderate: "
          "B = 100 of n = 1000. Measured at the GD minima of wu2018.gd-sharpness (the asymptotic regime of Fig. "
          "6), where gradients are small.",
)
COORDINATES, DRAWS, MODERATE = 200, 3000, 100
TYPICAL, FAR = 0.05, 0.1


def _per_sample_gradients(model, x, y, coords, chunk=100):
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(p, xi, yi):
        return mse_loss(functional_call(model, p, (xi[None],)), yi[None]).sum()

    rows = []
    for i in range(0, len(x), chunk):
        g = vmap(grad(loss), in_dims=(None, 0, 0))(params, x[i:i + chunk], y[i:i + chunk])
        rows.append(torch.cat([g[k].reshape(g[k].shape[0], -1) for k in params], 1)[:, coords])
    return torch.cat(rows).double().cpu().numpy()


def _shape(gradients, batch, rng):
    """Per coordinate: the Kolmogorov-Smirnov distance of the standardized minibatch means to N(0, 1)."""
    index = np.array([rng.choice(len(gradients), batch, replace=False) for _ in range(DRAWS)])
    means = gradients[index].mean(1)
    means = means[:, means.std(0) > 0]
    z = (means - means.mean(0)) / means.std(0)
    return np.array([sps.kstest(z[:, j], "norm").statistic for j in range(z.shape[1])]), means


def planned_runs(scale, device):
    return gd_minima(scale, device, lrs=(0.5,))      # the minima of wu2018.gd-sharpness at eta = 0.5


# The sequential design of the seeds (sgdcheck.looks): two looks at smoke, not three (the first look, then twice
# its seeds): this claim's networks cost minutes a look, and a third look would cost four times the first.
LOOKS = {"smoke": 2}


@pytest.mark.gpu
@pytest.mark.xdist_group("fashion-gd")
def test_gaussian_noise(scale, device, evidence):
    evidence.device = device
    config = fashion_fnn(scale, device).config
    x, y = training_data(config)
    # the asymptotic regime: minima of wu2018.gd-sharpness (GD, eta = 0.5), shared through the run cache
    trained = {r.seed: r for r in compute(planned_runs(scale, device)[0])}
    shown = {}
    for seed in scale.seed_range(3):
        model = trained_model(trained[seed], config)
        rng = np.random.default_rng(seed)
        dim = sum(p.numel() for p in model.parameters())
        coords = torch.as_tensor(rng.choice(dim, COORDINATES, replace=False))
        gradients = _per_sample_gradients(model, x, y, coords)
        gradients = gradients[:, gradients.std(0) > 0]
        for batch in (1, 10, MODERATE, 300):
            ks, means = _shape(gradients, batch, rng)
            shown.setdefault(batch, {"median": [], "far": [], "sample": means[:, 0].tolist()})
            shown[batch]["median"].append(float(np.median(ks)))
            shown[batch]["far"].append(float((ks > FAR).mean()))
    medians = {b: v["median"] for b, v in shown.items()}
    evidence.record(**{"histograms of gradient components": as_shown(
        {f"B={b}": {"median KS": float(np.mean(v['median'])), f"share with KS > {FAR}": float(np.mean(v['far']))}
         for b, v in shown.items()},
        "; ".join(f"B={b}: median KS {np.mean(v['median']):.3f}, {np.mean(v['far']):.0%} of components with KS > {FAR}"
                  for b, v in shown.items()))})
    evidence.detail(coordinates=COORDINATES, draws=DRAWS, by_batch={b: {k: v[k] for k in ("median", "far")}
                                                                    for b, v in shown.items()})
    far = np.mean(shown[MODERATE]["far"])
    evidence.finding(f"At B = {MODERATE} the typical component is close to Gaussian, but {far:.0%} of components "
                     f"stay far from it (KS > {FAR}): gradient coordinates fed by few samples (likely units active "
                     f"on few images) keep heavy tails that the central limit theorem does not remove at this B.")
    verdict = at_most(medians[MODERATE], TYPICAL, what=f"median KS distance to N(0, 1) over components, B={MODERATE}")
    # The rival: SGD's noise is heavy-tailed (alpha-stable; Simsekli, Sagun & Gurbuzbalaban 2019), so at moderate B
    # most coordinates stay visibly non-Gaussian.
    control = at_least(shown[MODERATE]["far"], 0.5, what=f"share of coordinates with KS > {FAR}, B={MODERATE}")
    evidence.figure("histograms", figure("One gradient coordinate over minibatches (first seed)", [
        panel(f"B = {b}", "standardized component", "density",
              [series("line", *_histogram(v["sample"]), "minibatch gradients"),
               series("line", np.linspace(-4, 4, 81).tolist(), sps.norm.pdf(np.linspace(-4, 4, 81)).tolist(),
                      "N(0, 1)", linestyle="--", color="black")]) for b, v in shown.items()]))
    evidence.conclude(CLAIM, verdict, seeds=list(scale.seed_range(3)),
                      negative_control=("heavy-tailed noise: at moderate B most gradient coordinates stay visibly "
                                        "non-Gaussian (KS > 0.1)", control))


def _histogram(sample):
    z = (np.asarray(sample) - np.mean(sample)) / (np.std(sample) or 1.0)
    density, edges = np.histogram(z, bins=40, range=(-4, 4), density=True)
    return ((edges[:-1] + edges[1:]) / 2).tolist(), density.tolist()
