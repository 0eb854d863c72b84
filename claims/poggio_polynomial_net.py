"""A network with a polynomial activation approximating ReLU behaves like the ReLU network.

Poggio & Liao (Theory II), Sec. 3, Fig. 2: replacing ReLU by a polynomial that approximates it well, especially
near 0, gives training and test curves like the ReLU net's, which lets Bezout-type counting arguments about
polynomial systems speak for ReLU networks. Checked with the degree-8 polynomial closest to ReLU in the sup norm
on twice the range of pre-activations the ReLU net sees, each net at the step size the same rule picks, and the
curves compared at every quarter of the budget, on two networks: the paper's plain stride-2 conv net with batch
norm (from full scale on) and the FashionMNIST FNN without it (every scale; known refutation).
"""
import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from sgdcheck import (Claim, Deviation, Quote, Source, Threshold, at_most, combine, effect, known_refutation,
                      precondition, shown)
from sgdcheck.figures import figure, panel, series
from sgdcheck.losses import mse_loss
from sgdcheck.measurement_cache import cached_measurement
from sgdcheck.optim import GD
from sgdcheck.polynomials import ChebyshevActivation, minimax_relu
from sgdcheck.runs import initial_model, training_data
from sgdcheck.setups import accuracy, held_out, label_runs
from sgdcheck.train import train

DEGREE = 8
STEPS = (0.5, 0.2, 0.1, 0.05)    # the step rule: the largest of these at which the net trains without diverging
LOSS_BAND, TEST_BAND = np.log(2), 0.02
CHECKPOINTS = 4
MARGIN = 2.0     # the fitted range: twice the largest pre-activation the ReLU net sees (initialised and trained)
CONV = (("in_channels", 1), ("image", 28))      # the paper's plain conv net, on FashionMNIST's 1x28x28 images
NETS = ("relu", "minimax", "linear")
SEEDS = {"fnn": 5, "conv": 10}     # see the thresholds
NETWORKS = {"fnn": "FashionMNIST FNN, no batch norm", "conv": "the paper's plain conv net with batch norm"}

CLAIM = Claim(
    id="poggio.polynomial-net",
    source=Source("Poggio & Liao (Theory of deep learning II)", "Sec. 3, Fig. 2"),
    quote=Quote("As long as the nonlinearity approximates ReLU well (especially near 0), the \"polynomial net\" "
                "performs similarly to a ReLU net.",
                "Fig. 2 caption, Sec. 3 (seed 001, line 65); cf. the abstract, line 10"),
    statement="A network whose ReLUs are replaced by a polynomial approximating ReLU uniformly on the range its "
              "pre-activations take trains and generalises like the ReLU network: its training-loss and test-"
              "accuracy curves stay close to the ReLU net's.",
    paper={"training and test curves": "performs similarly to a ReLU net (Fig. 2)"},
    deviations=(
        Deviation("model",
                  "Fig. 2 names no network (default: the 6-layer DCNN with BN on CIFAR-10, line 81); here two "
                  "cases: the paper's plain stride-2 conv net with non-affine batch norm (models.PlainConvNet) at "
                  "1/2 width on the first 1000 FashionMNIST images (full scale; full width at paper scale), and the FashionMNIST FNN of the "
                  "label runs at 1/5 (smoke) / 2/5 (full) width on the first 500 / 1000 images, which has no batch "
                  "norm",
                  "CIFAR-10 cannot be read on this machine; the conv net is the paper's architecture but costs "
                  "~1 CPU minute a seed at 1/4 width and 2000 steps, so CI runs the FNN only. Without batch norm nothing keeps "
                  "the pre-activations inside the fitted range: the FNN's refutation (training ~10x slower) is "
                  "largely that network's; on the conv net the gap was 1.76x (1/4 width, 500 images, 2000 steps, seeds 0-4, "
                  "by hand)"),
        Deviation("loss", "Sec. 4's experiments use cross-entropy (line 79) and Fig. 2 does not say its loss; "
                  "Sec. 3, where Fig. 2 stands, analyses the square loss (line 54); here MSE on one-hot targets",
                  "the square loss of Sec. 3's argument; the shared label-run setup"),
        Deviation("model",
                  "degree and range are not in the seed; here degree 8, the best uniform (minimax) fit to ReLU on "
                  "[-R, R], R the largest input of any ReLU of the seed's ReLU net over the training images, at "
                  "initialisation and after training, in train mode (batch statistics), and R twice that (linear "
                  "programme on 4001 Chebyshev points, sgdcheck.polynomials). With R once the range the FNN's "
                  "polynomial net diverged at every step on 2 of seeds 0-2, and the conv net's lost 14 points of "
                  "test accuracy on average over seeds 0-4 (one seed collapsed in evaluation mode); at twice the "
                  "range the fit's largest error is 0.08 (FNN, R ~ 5) and 0.27 (conv net, R ~ 16)",
                  "the paper's 'approximates ReLU well (especially near 0)' is a uniform statement on the range "
                  "used; the earlier least-squares fit on [-4, 4] had its largest error, 0.14, at 0"),
        Deviation("optimizer",
                  "not given in the source; here SGD, B = 20, each net at the largest step of 0.5, 0.2, 0.1, 0.05 "
                  "at which it trains the budget without diverging (the same rule for both)",
                  "a common step would favour whichever net it suits; the rule is the usual per-model tuning"),
        Deviation("sizes",
                  "the source shows curves; here a fixed budget of 4000 (smoke) / 8000 (full) SGD steps, compared "
                  "at each quarter; 5 (FNN) / 10 (conv net) seeds, paired (same data and initial weights)",
                  "the CPU budget of the scales"),
        Deviation("definition",
                  "'performs similarly' (Fig. 2); here two paired equivalence tests on the curves: the mean over "
                  "the four checkpoints of the log training-loss ratio within +-log 2, and of the test-accuracy "
                  "difference (10,000 held-out images) within +-2 points",
                  "the module's reading of 'similar curves'; Fig. 2's content is not in the seed"),
    ),
    thresholds=(
        Threshold("test accuracy along the curve, polynomial minus ReLU, within +-0.02 (effect none)", "argument",
                  "2 points of test accuracy is a difference any reader of a learning curve would call visible; "
                  "the source gives no number"),
        Threshold("log training-loss ratio along the curve within +-log 2 (effect none)", "argument",
                  "a factor 2 in the loss is one halving, a step along a learning curve plotted on a log axis; "
                  "the source gives no number"),
        Threshold("control: test accuracy along the curve, polynomial minus linear, <= 0 (at_most 0)", "source",
                  "the rival placing of polynomial nets of the lecture notes (seed 002, line 307: networks with "
                  "polynomial activations 'lie somewhere in between linear neural networks and ones with ReLU "
                  "non-linearities'), read at its linear end: the polynomial net generalises no better than a "
                  "linear network (the same net with the identity activation, the same step rule). A first run "
                  "(seeds 0-4) judged the midpoint reading, 'closer to the linear net than to the ReLU net': "
                  "+0.06 points [-2.8, +2.9], undecided (ReLU 78.4%, polynomial 76.3%, linear 74.1%), so the "
                  "control takes the rival's end point"),
        Threshold("5 seeds (FNN), 10 (conv net, full)", "argument",
                  "FNN: 3 seeds (first run) left both parts undecided (log loss ratio 2.04 [0.56, 3.51], test -1.6 "
                  "points [-4.5, +1.4]); 5 is what the smoke budget allows (three nets per seed, ~30 s each). Conv "
                  "net: 5 seeds at 1/4 width and 2000 steps gave a test gap of -1.7 points [-3.4, -0.0] (the "
                  "Bonferroni-corrected interval of the verdict), so the interval "
                  "must shrink by about half to decide either way with margin: 4x the seeds would, 10 is what the "
                  "full budget affords (~3 CPU minutes a seed)"),
        Threshold("step sizes 0.5, 0.2, 0.1, 0.05", "argument",
                  "0.5 is the label runs' step (where the ReLU net trains); smaller steps down to a tenth of it"),
        Threshold("precondition: some step of the grid trains each net without diverging", "argument",
                  "a net with no stable step has no curve to compare"),
        Threshold("95% two-sided Student t interval of the mean over seeds (Bonferroni over parts when a refutation "
                  "rests on one of several parts)",
                  "argument",
                  "conventional level; each false verdict has probability <= 2.5% at the bound "
                  "(docs/error-rates.md)"),
    ),
    notes="Restated: the earlier module fitted ReLU by least squares on [-4, 4] (largest error 0.14, at 0) and "
          "trained both nets at eta = 0.1; it refuted the claim with a 2.5x slower polynomial net. Tried with the "
          "same step rule as here (smoke, seeds 0-2, by hand): the least-squares net trained 12.6x slower and was "
          "2.4 points worse on test, the minimax net 7.7x and 1.6 points; so the fit was not what produced the "
          "old refutation. The linear net (identity activation) is trained for the control's rival only. "
          "The conv case's range, tried both ways by hand (1/4 width, 500 images, 2000 steps, seeds 0-4): with R "
          "twice the largest pre-activation (13.6-17.3, fit error 0.24-0.30) training loss 1.77x the ReLU net's "
          "(geometric mean; 1.48-2.02 per seed) and test -1.7 points; with R twice the 99.9% quantile of |pre-"
          "activation| (7.3-8.7, about the largest value once; fit error 0.13-0.15) 1.24x (1.12-1.36) and test "
          "within 1.5 points on four seeds, but on seed 0 test inputs drive pre-activations to 128 (17 R), where the "
          "degree-8 polynomial explodes, and with batch statistics over 4096 test images the net predicts at "
          "chance (74.9% in batches of 100; ReLU 76%). A range that fits the data's bulk well leaves the net at the "
          "mercy of the polynomial's tails; one that covers every input fits ReLU too loosely to train like it.",
)


def _swapped(model, activation):
    model = copy.deepcopy(model)
    for i, layer in enumerate(model):
        if isinstance(layer, torch.nn.ReLU):
            model[i] = copy.deepcopy(activation)
    return model


def _preactivation_radius(model, x):
    """The largest |input| of the model's ReLUs over the training inputs, as training sees them (train mode on a
    copy: a batch-normalised net normalises with the batch's statistics)."""
    model, largest = copy.deepcopy(model).train(), []
    for module in model.modules():
        if isinstance(module, torch.nn.ReLU):
            module.register_forward_pre_hook(lambda module, inputs: largest.append(float(inputs[0].abs().max())))
    with torch.no_grad():
        model(x)
    return max(largest)


def _curve(model, config, x, y, test, budget, lr):
    """SGD at `lr` in CHECKPOINTS parts: (training loss, test accuracy) after each, or None on divergence."""
    model, points = copy.deepcopy(model), []
    part = budget // CHECKPOINTS
    for k in range(CHECKPOINTS):
        result = train(model, x, y, mse_loss, GD(lr), max_steps=part, batch_size=config.batch_size,
                       eval_every=part, seed=config.seed * 1000 + k)
        if result.diverged or not np.isfinite(result.loss):
            return None, model
        result.load_into(model)
        points.append((result.loss, accuracy(model, *test)))
    return points, model


def _trained(model, config, x, y, test, budget):
    """The step rule: the largest step of STEPS whose run does not diverge; its curve, step and model."""
    for lr in STEPS:
        points, trained = _curve(model, config, x, y, test, budget, lr)
        if points is not None:
            return points, lr, trained
    return None, float("nan"), model


def _seed_row(config, budget: int, code: str = "") -> dict:
    """One seed: the ReLU net and its polynomial and linear swaps, each trained by the step rule, their curves.
    Cached per seed (`code`: the measurement cache's fingerprint of this file), so a later look of the sequential
    design trains only its new seeds."""
    x, y = training_data(config)
    test = held_out(config)
    relu = initial_model(config)
    relu_curve, relu_lr, relu_trained = _trained(relu, config, x, y, test, budget)
    radius = MARGIN * max(_preactivation_radius(relu, x), _preactivation_radius(relu_trained, x))
    fit = minimax_relu(DEGREE, radius)
    row = {"seed": config.seed, "radius": radius, "minimax_error": fit.max_error,
           "relu": {"lr": relu_lr, "curve": relu_curve}}
    for name, activation in (("minimax", ChebyshevActivation(fit)), ("linear", torch.nn.Identity())):
        curve, lr, _ = _trained(_swapped(relu, activation), config, x, y, test, budget)
        row[name] = {"lr": lr, "curve": curve}
    return row


def _configs(scale, device, network):
    """One run configuration per seed: the label runs' FashionMNIST FNN, or the paper's conv net."""
    base = label_runs(scale, device)[0]
    if network == "conv":
        base = replace(base, model="conv", model_options=CONV, width_scale=scale.pick(smoke=0.25, full=0.5, paper=1.0))
    return [replace(base, seed=seed) for seed in scale.seed_range(SEEDS[network])]


def _rows(scale, device, network, budget):
    """_seed_row of every seed."""
    return [cached_measurement(_seed_row, config, budget) for config in _configs(scale, device, network)]


def planned_runs(scale, device):
    return []


FNN_REFUTED = known_refutation(
    "refuted at smoke scale on the FNN, which has no batch norm: with the best uniform fit on twice the range its "
    "pre-activations take and each net at its own step, the polynomial net's training loss stays ~10x the ReLU "
    "net's along the curve (factor 2 allowed), test accuracy ~2 points lower. On the paper's conv net with batch "
    "norm (the 'conv' case, full scale) the training gap was 1.76x at 1/4 width and 2000 steps (seeds 0-4, by hand)")
CONV_REFUTED = known_refutation(
    "refuted at full scale on the paper's conv net with batch norm (1/2 width, 1000 images, 8000 steps, seeds 0-9, "
    "at 595a480): training loss 2.7x the ReLU net's along the curve (log ratio 0.99 [0.85, 1.13] against log 2) and "
    "test accuracy 2.0 points lower (-0.0200 [-0.0241, -0.0159]). A range from the pre-activations' bulk (tried by "
    "hand, see the notes) trains closer but collapses on test inputs outside the fit")
CONV_AT_SMOKE = ("the paper's conv net runs from full scale on: at 1/4 width on 500 images (seeds 0-4, 2000 steps) its training "
                 "loss ratio 1.76x and test gap -1.7 points [-3.4, -0.0] sit at the edges of both bands, which five "
                 "seeds cannot decide with margin, and twice as many would cost CI ~10 CPU minutes")


# The sequential design of the seeds (sgdcheck.looks): two looks at smoke, not three (the first look, then twice
# its seeds): this claim's networks cost minutes a look, and a third look would cost four times the first.
LOOKS = {"smoke": 2}


@pytest.mark.gpu
@pytest.mark.parametrize("network", [pytest.param("fnn", marks=FNN_REFUTED), pytest.param("conv", marks=CONV_REFUTED)])
def test_polynomial_net(network, scale, device, evidence):
    if network == "conv" and scale.name == "smoke":
        pytest.skip(CONV_AT_SMOKE)
    evidence.device = device
    budget = scale.pick(smoke=4000, full=8000, paper=50000)
    rows = _rows(scale, device, network, budget)
    trained = precondition(all(r[k]["curve"] is not None for r in rows for k in NETS),
                           "some step of the grid trains each net without diverging")

    def along(name, index, transform, reference="relu"):
        """Per seed, the mean over the checkpoints of transform(net's value, reference's value)."""
        return [float(np.mean([transform(p[index], q[index]) for p, q in zip(r[name]["curve"], r[reference]["curve"])]))
                for r in rows if r[name]["curve"] is not None and r[reference]["curve"] is not None]

    log_loss = along("minimax", 0, lambda p, q: np.log(p / q))
    test_diff = along("minimax", 1, lambda p, q: p - q)
    linear_gap = along("minimax", 1, lambda p, q: p - q, reference="linear")        # polynomial minus linear
    verdict = combine([effect(test_diff, TEST_BAND, "none", what="test accuracy along the curve, polynomial minus ReLU"),
                       effect(log_loss, LOSS_BAND, "none", what="log training-loss ratio along the curve, "
                                                                "polynomial / ReLU")],
                      preconditions=[trained])
    control = combine([at_most(linear_gap, 0.0, what="test accuracy along the curve, polynomial minus linear")],
                      preconditions=[trained])

    def mean(values):
        return float(np.mean(values)) if len(values) else float("nan")

    accuracy_of = lambda name: mean([np.mean([p[1] for p in r[name]["curve"]]) for r in rows if r[name]["curve"]])
    evidence.record(**{"training and test curves": shown(
        {"loss ratio": float(np.exp(mean(log_loss))), "test difference": mean(test_diff)},
        f"minimax degree-{DEGREE} net over {budget} steps: training loss {np.exp(mean(log_loss)):.2f}x the ReLU "
        f"net's, test accuracy {100 * mean(test_diff):+.1f} points (mean over the curve)"),
        "test accuracy along the curve": {name: accuracy_of(name) for name in NETS},
        "steps chosen": {name: [r[name]["lr"] for r in rows] for name in NETS},
        "fitted range R": [r["radius"] for r in rows]})
    evidence.finding(f"Test accuracy along the curve: ReLU {accuracy_of('relu'):.1%}, polynomial "
                     f"{accuracy_of('minimax'):.1%}, linear (identity activation, same step rule) "
                     f"{accuracy_of('linear'):.1%}; the minimax fit's largest error on its range: "
                     f"{mean([r['minimax_error'] for r in rows]):.3f} (R = {mean([r['radius'] for r in rows]):.1f}).")
    evidence.detail(runs=rows, budget=budget, degree=DEGREE, steps=list(STEPS))
    first = rows[0]
    quarters = [budget * (k + 1) // CHECKPOINTS for k in range(CHECKPOINTS)]
    curves = {name: first[name]["curve"] for name in NETS if first[name]["curve"] is not None}
    evidence.figure("curves", figure("ReLU, polynomial and linear activations, each at its step (first seed)", [
        panel("training loss", "step", "loss", [series("line", quarters, [p[0] for p in c], f"{n} (eta {first[n]['lr']})",
                                                       marker="o") for n, c in curves.items()], yscale="log"),
        panel("test accuracy", "step", "accuracy", [series("line", quarters, [p[1] for p in c], n, marker="o")
                                                    for n, c in curves.items()]),
    ]))
    evidence.conclude(CLAIM, verdict, seeds=[r["seed"] for r in rows], case=NETWORKS[network],
                      negative_control=("the polynomial net generalises no better than a linear network", control))
