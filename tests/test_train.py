import numpy as np
import pytest
import torch

from sgdcheck import InvalidArgumentError, optim
from sgdcheck.curvature import sharpness
from sgdcheck.losses import mse_loss
from sgdcheck.ensemble import train_ensemble
from sgdcheck.train import train, train_lbfgs


def problem(seed=0, n=40, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=generator, dtype=dtype)
    return x, torch.randn(n, 2, generator=generator, dtype=dtype)


def build(seed, dtype=torch.float64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 24), torch.nn.Tanh(), torch.nn.Linear(24, 2)).to(dtype)


def test_gd_reaches_the_loss_goal_and_the_model_is_untouched():
    x, y = problem()
    model = build(0)
    before = [p.clone() for p in model.parameters()]
    result = train(model, x, y, mse_loss, optim.GD(0.5), max_steps=20000, loss_goal=1e-3)
    assert result.converged and not result.diverged and result.loss <= 1e-3
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_gd_sharpness_ends_below_two_over_eta():
    x, y = problem()
    result = train(build(0), x, y, mse_loss, optim.GD(0.5), max_steps=20000, loss_goal=1e-4)
    assert result.converged
    assert float(sharpness(result.load_into(build(0)), x, y, mse_loss, tol=1e-8)) <= 2 / 0.5 + 1e-6


def test_divergence_is_a_result_not_a_crash():
    x, y = problem()
    result = train(build(0), x, y, mse_loss, optim.GD(1e3), max_steps=100)
    assert result.diverged and not result.converged and result.steps < 100


def test_runs_are_pure_functions_of_their_seed():
    x, y = problem()
    one = train(build(0), x, y, mse_loss, optim.Langevin(0.05, noise=0.01), max_steps=30, batch_size=8, seed=5)
    two = train(build(0), x, y, mse_loss, optim.Langevin(0.05, noise=0.01), max_steps=30, batch_size=8, seed=5)
    assert all(torch.equal(one.params[k], two.params[k]) for k in one.params)


@pytest.mark.parametrize("batch_size, sampling", [(None, "reshuffling"), (8, "reshuffling"), (8, "replacement"), (8, "subsets")])
def test_vmap_ensemble_equals_the_sequential_loop(batch_size, sampling):
    x, y = problem()
    seeds, lrs = [0, 1], [0.05, 0.2]
    ensemble = train_ensemble(build, seeds, lrs, x, y, mse_loss, max_steps=40, batch_size=batch_size,
                              sampling=sampling, eval_every=10)
    loop = [train(build(s), x, y, mse_loss, optim.GD(lr), max_steps=40, batch_size=batch_size,
                  sampling=sampling, seed=s, eval_every=10) for s in seeds for lr in lrs]
    for a, b in zip(ensemble, loop):
        assert a.steps == b.steps and a.loss == pytest.approx(b.loss, rel=1e-10)
        assert all(torch.allclose(a.params[k], b.params[k], atol=1e-12) for k in a.params)
        assert [s for s, _ in a.history] == [s for s, _ in b.history]


def test_ensemble_with_a_loss_goal_stops_each_member_where_the_loop_does():
    x, y = problem()
    lrs = [0.05, 0.1]      # below the edge of stability, where float rounding does not grow chaotically
    ensemble = train_ensemble(build, [0, 1], lrs, x, y, mse_loss, max_steps=3000, loss_goal=0.05, eval_every=50)
    loop = [train(build(s), x, y, mse_loss, optim.GD(lr), max_steps=3000, loss_goal=0.05, eval_every=50)
            for s in [0, 1] for lr in lrs]
    assert len({r.steps for r in loop}) > 1
    for a, b in zip(ensemble, loop):
        assert a.converged and b.converged and a.steps == b.steps
        assert a.loss == pytest.approx(b.loss, rel=1e-10)
        assert [s for s, _ in a.history] == [s for s, _ in b.history]
        assert np.allclose([v for _, v in a.history], [v for _, v in b.history], rtol=1e-10)


def test_ensemble_freezes_a_diverging_member():
    x, y = problem()
    good, bad = train_ensemble(build, [0], [0.1, 1e3], x, y, mse_loss, max_steps=30, eval_every=5)
    assert not good.diverged and bad.diverged


def test_lbfgs_converges():
    x, y = problem(n=10)
    assert train_lbfgs(build(0), x, y, mse_loss, max_steps=300, loss_goal=1e-6).converged


@pytest.mark.parametrize("kwargs, message", [({"batch_size": 41}, "batch_size"), ({"batch_size": 0}, "batch_size"),
                                             ({"eval_every": 0}, "eval_every")])
def test_bad_arguments(kwargs, message):
    x, y = problem()
    with pytest.raises(InvalidArgumentError, match=message):
        train(build(0), x, y, mse_loss, optim.GD(0.1), max_steps=5, **kwargs)
    if "batch_size" in kwargs:
        with pytest.raises(InvalidArgumentError, match=message):
            train_ensemble(build, [0], [0.1], x, y, mse_loss, max_steps=5, **kwargs)


def labelled_problem(seed=0, n=40, classes=3):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=generator, dtype=torch.float64)
    labels = torch.randint(classes, (n,), generator=generator)
    return x, torch.nn.functional.one_hot(labels, classes).double()


def classifier(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 24), torch.nn.Tanh(), torch.nn.Linear(24, 3)).double()


def test_zero_error_trains_past_a_loss_goal_that_leaves_samples_unfit():
    x, y = labelled_problem()
    wrong = lambda result: int((result.load_into(classifier(0))(x).argmax(1) != y.argmax(1)).sum())
    loose = train(classifier(0), x, y, mse_loss, optim.GD(0.5), max_steps=20000, loss_goal=0.05)
    assert loose.converged and wrong(loose) > 0
    fit = train(classifier(0), x, y, mse_loss, optim.GD(0.5), max_steps=20000, loss_goal=0.05, zero_error=True)
    assert fit.converged and wrong(fit) == 0 and fit.steps > loose.steps and fit.loss < loose.loss
    capped = train(classifier(0), x, y, mse_loss, optim.GD(0.5), max_steps=loose.steps + 1, loss_goal=0.05,
                   zero_error=True)
    assert not capped.converged and capped.loss <= 0.05


def test_zero_error_needs_a_loss_goal_and_one_hot_targets():
    x, y = labelled_problem()
    with pytest.raises(InvalidArgumentError, match="zero_error"):
        train(classifier(0), x, y, mse_loss, optim.GD(0.1), max_steps=5, zero_error=True)
    with pytest.raises(InvalidArgumentError, match="zero_error"):
        train(classifier(0), x, y.argmax(1).double(), lambda o, t: (o[:, 0] - t) ** 2, optim.GD(0.1), max_steps=5,
              loss_goal=0.1, zero_error=True)


@pytest.mark.parametrize("batch_size, goal", [(None, 0.05), (8, None), (8, 0.2)])
def test_a_chunked_ensemble_equals_one_that_looks_every_step(batch_size, goal):
    """Chunks (the host looking at the models once per K steps, batches drawn K at a time) change no result."""
    x, y = problem()
    kwargs = dict(max_steps=300, batch_size=batch_size, loss_goal=goal, eval_every=20)
    every = train_ensemble(build, [0, 1], [0.05, 0.1], x, y, mse_loss, chunk_steps=1, **kwargs)
    chunked = train_ensemble(build, [0, 1], [0.05, 0.1], x, y, mse_loss, chunk_steps=7, **kwargs)
    for a, b in zip(every, chunked):
        assert a.steps == b.steps and a.history == b.history and a.converged == b.converged
        assert all(torch.equal(a.params[k], b.params[k]) for k in a.params)


@pytest.mark.parametrize("batch_size, goal", [(None, 0.25), (None, None), (8, 0.3)])
def test_train_equals_a_hand_written_torch_loop(batch_size, goal):
    """The engine's step is plain (S)GD: a torch.optim.SGD loop on the same batches stops at the same step
    with the same weights."""
    from sgdcheck.loop import BatchStream

    x, y = problem()
    result = train(build(0), x, y, mse_loss, optim.GD(0.1), max_steps=400, batch_size=batch_size,
                   loss_goal=goal, eval_every=50, seed=3)
    model = build(0)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    batches, steps = BatchStream(len(x), batch_size or len(x), "reshuffling", 3), 0
    for steps in range(400):
        with torch.no_grad():
            if goal is not None and float(mse_loss(model(x), y).mean()) <= goal:
                break
        index = next(batches)
        loss = mse_loss(model(x[index]), y[index]).mean()
        sgd.zero_grad()
        loss.backward()
        sgd.step()
    else:
        steps = 400
    assert result.steps == steps and result.converged == (goal is not None) and (steps < 400) == result.converged
    assert all(torch.allclose(result.params[k], p, atol=1e-12) for k, p in model.named_parameters())


def _quadratic_sum(curvatures):
    """L(w) = mean_i h_i w^2 / 2 as a model: input sqrt(h_i), output w sqrt(h_i), target 0."""
    x = torch.tensor(curvatures, dtype=torch.float64).sqrt()[:, None]
    return x, torch.zeros(len(curvatures), 1, dtype=torch.float64)


def _scalar_model(seed=0):
    model = torch.nn.Linear(1, 1, bias=False).double()
    with torch.no_grad():
        model.weight.fill_(1.0)
    return model


def _half_square(out, y):
    return 0.5 * ((out - y) ** 2).sum(1)


def test_sgd_with_the_theory_sampler_has_the_theory_mean_square_rate():
    """Wu, Ma & E, eq. 7-9 with H = {0.5, 2.6}, eta = 1, B = 1: the exact mean-square rate is 1.405 (unstable).
    SGD drawing a fresh uniform subset each step matches E[w_t^2] of the exact operator; random reshuffling
    multiplies w^2 by (1 - 0.5)^2 (1 - 2.6)^2 = 0.64 every epoch, on every seed: it cannot escape."""
    from sgdcheck.stability import exact_mean_square, mean_square_rate
    h = np.array([0.5, 2.6])
    hessians = h[:, None, None]
    assert mean_square_rate(hessians, 1.0, 1) == pytest.approx(1.405)
    x, y = _quadratic_sum(h)
    steps, seeds = 3, range(2000)
    finals = [float(train(_scalar_model(), x, y, _half_square, optim.GD(1.0), max_steps=steps, batch_size=1,
                          sampling="subsets", seed=s).params["weight"]) ** 2 for s in seeds]
    exact = exact_mean_square(hessians, 1.0, 1, [1.0], steps)[-1]
    assert exact == pytest.approx(1.405 ** 3)
    assert np.mean(finals) == pytest.approx(exact, rel=0.15)            # about 3.5 standard errors
    epochs = [float(train(_scalar_model(), x, y, _half_square, optim.GD(1.0), max_steps=2 * 10, batch_size=1,
                          sampling="reshuffling", seed=s).params["weight"]) ** 2 for s in range(20)]
    assert np.allclose(epochs, 0.64 ** 10, rtol=1e-9)


def test_a_diverging_minibatch_member_stops_where_its_single_run_stops():
    """One divergence rule for both loops: without a loss goal the ensemble stops a member at the first step
    whose batch loss fails the rule, as the single run does, and both histories end at that step."""
    x, y = problem()
    lrs = [0.05, 30.0]
    ensemble = train_ensemble(build, [0], lrs, x, y, mse_loss, max_steps=50, batch_size=8, eval_every=25)
    loop = [train(build(0), x, y, mse_loss, optim.GD(lr), max_steps=50, batch_size=8, seed=0, eval_every=25)
            for lr in lrs]
    assert loop[1].diverged and loop[1].steps < 25
    for a, b in zip(ensemble, loop):
        assert (a.steps, a.diverged, a.converged) == (b.steps, b.diverged, b.converged)
        assert [s for s, _ in a.history] == [s for s, _ in b.history]
        assert a.history[-1][0] == a.steps


def test_lbfgs_follows_the_divergence_rule():
    x, y = problem(n=10)
    result = train_lbfgs(build(0), x, y, mse_loss, max_steps=40, line_search=False, lr=1e4, inner=1, blowup=1e3)
    assert result.diverged and result.steps < 40 and result.loss > 1e3
