"""The papers' networks, as plain torch modules (the curvature and training code is functional).

- FNN 784-500-500-500-10 with ReLU: 898,510 parameters (Wu, Ma & E 2018, Table 1).
- A small VGG for 2-class 32x32 CIFAR-10: five 3x3 conv + ReLU + 2x2 max-pool blocks of widths
  16-16-32-64-64, then 64-128-2 fully connected: 71,410 parameters, Table 1's count.
- The plain stride-2 conv net of Poggio & Liao (Sec. 4): 3x3 convolutions with stride 2, no
  pooling, batch norm without shift and scale between layers. The paper gives 188,810 parameters
  but not the widths; the widths here are an argument, and the count is reported.
- Two-layer ReLU nets with conventional scaling f = sum_j a_j relu(b_j . x) and mean-field scaling
  f = (1/m) sum_j a_j relu(b_j . x) (Wu 2020 slides).
- A polynomial activation fitted to ReLU (Poggio & Liao, Fig. 2) for any of the above.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .errors import InvalidArgumentError


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class PolynomialReLU(nn.Module):
    """A polynomial of the given degree fitted to ReLU on [-radius, radius] (least squares on
    Chebyshev nodes); Horner evaluation."""

    def __init__(self, degree: int = 8, radius: float = 4.0):
        super().__init__()
        if degree < 2 or radius <= 0:
            raise InvalidArgumentError(f"PolynomialReLU needs degree >= 2 and radius > 0, got {degree}, {radius}")
        nodes = radius * np.cos(np.pi * (np.arange(400) + 0.5) / 400)
        coefficients = np.polynomial.polynomial.polyfit(nodes, np.maximum(nodes, 0), degree)
        self.register_buffer("coefficients", torch.tensor(coefficients[::-1].copy(), dtype=torch.float32))
        self.radius = radius

    def forward(self, x):
        out = torch.zeros_like(x)
        for c in self.coefficients.to(x.dtype):
            out = out * x + c
        return out


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name.startswith("poly"):
        return PolynomialReLU(int(name[4:] or 8))
    raise InvalidArgumentError(f"activation must be 'relu' or 'poly<degree>', got {name!r}")


class FNN(nn.Sequential):
    """Fully connected ReLU net; the default is the paper's 784-500-500-500-10."""

    def __init__(self, inputs: int = 784, hidden=(500, 500, 500), outputs: int = 10, activation: str = "relu"):
        layers, width = [nn.Flatten()], inputs
        for size in hidden:
            layers += [nn.Linear(width, size), _activation(activation)]
            width = size
        layers.append(nn.Linear(width, outputs))
        super().__init__(*layers)


class SmallVGG(nn.Sequential):
    """VGG-style net: blocks of 3x3 convolution (padding 1, bias) + ReLU + 2x2 max-pool, then a
    ReLU MLP head. The defaults (widths 16-16-32-64-64, head 128, 2 classes) have 71,410
    parameters, the VGG of Wu, Ma & E (2018, Table 1) on CIFAR-10 airplane vs automobile."""

    def __init__(self, channels=(16, 16, 32, 64, 64), head: int = 128, in_channels: int = 3, image: int = 32,
                 outputs: int = 2, activation: str = "relu"):
        if image >> len(channels) < 1:
            raise InvalidArgumentError(f"{len(channels)} pooling blocks need images of at least "
                                       f"{2 ** len(channels)} pixels, got {image}")
        layers, width, size = [], in_channels, image
        for c in channels:
            layers += [nn.Conv2d(width, c, 3, padding=1), _activation(activation), nn.MaxPool2d(2)]
            width, size = c, size // 2
        layers += [nn.Flatten(), nn.Linear(width * size * size, head), _activation(activation),
                   nn.Linear(head, outputs)]
        super().__init__(*layers)


class PlainConvNet(nn.Sequential):
    """3x3 convolutions with stride 2, batch norm without affine parameters and ReLU between them,
    no pooling, a final linear layer (Poggio & Liao, Sec. 4). Batch norm is the module's own: in
    train mode it normalises with the batch's statistics, in eval mode with the running ones."""

    def __init__(self, channels=(32, 64, 128, 128, 128), in_channels: int = 3, image: int = 32,
                 outputs: int = 10, activation: str = "relu"):
        layers, width, size = [], in_channels, image
        for c in channels:
            layers += [nn.Conv2d(width, c, 3, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(c, affine=False), _activation(activation)]
            width, size = c, (size + 1) // 2
        layers += [nn.Flatten(), nn.Linear(width * size * size, outputs)]
        super().__init__(*layers)


class TwoLayerNet(nn.Module):
    """f(x) = scale * sum_j a_j relu(b_j . x), scale = 1 (conventional) or 1/m (mean-field).
    Initialisation: b_j ~ N(0, I/d); a_j ~ N(0, 1/m) (conventional) or N(0, 1) (mean-field)."""

    def __init__(self, dim: int, width: int, outputs: int = 1, scaling: str = "conventional",
                 activation: str = "relu"):
        super().__init__()
        if scaling not in ("conventional", "mean-field"):
            raise InvalidArgumentError(f"scaling must be 'conventional' or 'mean-field', got {scaling!r}")
        self.scaling, self.width = scaling, width
        self.inner = nn.Parameter(torch.randn(width, dim) / dim**0.5)
        std = width**-0.5 if scaling == "conventional" else 1.0
        self.outer = nn.Parameter(torch.randn(outputs, width) * std)
        self.activation = _activation(activation)

    def forward(self, x):
        features = self.activation(x.flatten(1) @ self.inner.T)
        out = features @ self.outer.T
        return out / self.width if self.scaling == "mean-field" else out


def build(name: str, *, width_scale: float = 1.0, init_scale: float = 1.0, **options) -> nn.Module:
    """A model by name; width_scale < 1 shrinks hidden widths (the smoke scale); init_scale multiplies every
    weight matrix and kernel (every parameter of two or more dimensions) of the default initialisation;
    biases and normalisation parameters keep theirs, the initialisation scale Wu, Ma & E (2018, Sec. 4.3) vary."""
    if not (math.isfinite(init_scale) and init_scale > 0):
        raise InvalidArgumentError(f"init_scale must be a finite number > 0, got {init_scale!r}")
    model = _build(name, width_scale, options)
    if init_scale != 1.0:
        with torch.no_grad():
            for parameter in model.parameters():
                if parameter.dim() >= 2:
                    parameter.mul_(init_scale)
    return model


def _build(name: str, width_scale: float, options: dict) -> nn.Module:
    scale = lambda sizes: tuple(max(2, int(round(s * width_scale))) for s in sizes)
    if name == "fnn":
        return FNN(hidden=scale(options.pop("hidden", (500, 500, 500))), **options)
    if name == "vgg":
        options["head"] = scale((options.pop("head", 128),))[0]
        return SmallVGG(channels=scale(options.pop("channels", (16, 16, 32, 64, 64))), **options)
    if name == "conv":
        return PlainConvNet(channels=scale(options.pop("channels", (32, 64, 128, 128, 128))), **options)
    if name == "two-layer":
        width = options.pop("width")
        return TwoLayerNet(width=max(2, int(round(width * width_scale))), **options)
    raise InvalidArgumentError(f"unknown model {name!r}; known: fnn, vgg, conv, two-layer")
