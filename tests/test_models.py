import pytest
import torch

from sgdcheck import InvalidArgumentError
from sgdcheck.models import FNN, PlainConvNet, SmallVGG, PolynomialReLU, TwoLayerNet, build, count_parameters


def test_the_papers_fnn_has_898510_parameters():
    assert count_parameters(FNN()) == 898_510
    assert FNN()(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_conv_net_is_stride_two_with_non_affine_batch_norm():
    net = PlainConvNet(channels=(8, 16, 16))
    assert net(torch.zeros(4, 3, 32, 32)).shape == (4, 10)
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(not m.affine for m in norms)
    assert all(m.stride == (2, 2) for m in net.modules() if isinstance(m, torch.nn.Conv2d))


def test_polynomial_activation_approximates_relu():
    x = torch.linspace(-4, 4, 401)
    assert (PolynomialReLU(12)(x) - torch.relu(x)).abs().max() < 0.1
    assert FNN(hidden=(5,), activation="poly6")(torch.randn(2, 784)).shape == (2, 10)


def test_two_layer_scalings():
    torch.manual_seed(0)
    conventional, mean_field = TwoLayerNet(10, 400), TwoLayerNet(10, 400, scaling="mean-field")
    x = torch.randn(256, 10)
    assert 0.1 < conventional(x).std() < 2.0           # O(1) outputs
    assert mean_field(x).std() < 0.2                     # O(1/sqrt(m)) at initialisation


def test_build_scales_widths_and_rejects_unknown_models():
    assert count_parameters(build("fnn", width_scale=0.1)) < count_parameters(build("fnn"))
    with pytest.raises(InvalidArgumentError, match="unknown model"):
        build("resnet")
    with pytest.raises(InvalidArgumentError, match="scaling"):
        TwoLayerNet(3, 4, scaling="ntk")


def test_small_vgg_has_the_papers_parameter_count_and_two_outputs():
    net = SmallVGG()
    assert count_parameters(net) == 71_410
    assert net(torch.zeros(4, 3, 32, 32)).shape == (4, 2)
    assert count_parameters(build("vgg", width_scale=0.5)) < 71_410
    with pytest.raises(InvalidArgumentError, match="pixels"):
        SmallVGG(image=16)


def test_init_scale_multiplies_weights_and_leaves_biases():
    torch.manual_seed(0)
    plain = build("fnn", hidden=(8, 8), inputs=5, outputs=3)
    torch.manual_seed(0)
    doubled = build("fnn", hidden=(8, 8), inputs=5, outputs=3, init_scale=2.0)
    for (name, p), q in zip(plain.named_parameters(), doubled.parameters()):
        expected = 2 * p if p.dim() >= 2 else p
        assert torch.equal(q, expected), name
    torch.manual_seed(0)
    two_layer = build("two-layer", dim=4, width=6, init_scale=0.5)
    torch.manual_seed(0)
    reference = build("two-layer", dim=4, width=6)
    assert torch.equal(two_layer.inner, 0.5 * reference.inner)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_init_scale_must_be_positive_and_finite(bad):
    with pytest.raises(InvalidArgumentError, match="init_scale"):
        build("fnn", init_scale=bad)
