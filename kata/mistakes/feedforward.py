"""Realistic wrong versions of the feed-forward exercises (see kata/mistakes/__init__.py)."""
import math

import numpy as np
import torch
from torch import nn

from reference.feedforward import silu as ref_silu
from reference.feedforward import swiglu_hidden_dim as ref_swiglu_hidden_dim

from . import Catalogue

MISTAKES = Catalogue("feedforward")
mistake = MISTAKES.add

# ---------------------------------------------------------------- silu


@mistake("silu", "the x factor is missing: that is sigmoid(x), not x * sigmoid(x)")
def silu_is_sigmoid(x):
    return torch.sigmoid(x)


@mistake("silu", "sign slip in the sigmoid: x / (1 + exp(x)) is x * sigmoid(-x)")
def silu_sign_slip(x):
    return x / (1 + torch.exp(x))


@mistake("silu", "GELU instead of SiLU (similar shape, but its dip is -0.17 at x = -0.75)")
def silu_is_gelu(x):
    return nn.functional.gelu(x)


@mistake("silu", "sigmoid as exp(x) / (1 + exp(x)): inf / inf = NaN once exp(x) overflows")
def silu_exp_overflow(x):
    e = torch.exp(x)
    return x * e / (1 + e)


@mistake("silu", "the builtin nn.SiLU (it calls F.silu): the exercise is to write it yourself")
def silu_builtin_module(x):
    return nn.SiLU()(x)


@mistake("silu", "the input is modified in place (x.mul_(...)), changing the caller's tensor")
def silu_in_place(x):
    return x.mul_(torch.sigmoid(x))


@mistake("silu", "the sigmoid's output is overwritten in place (s.mul_(x)): backward raises")
def silu_breaks_backward(x):
    s = torch.sigmoid(x)
    return s.mul_(x)


@mistake("silu", "computed in float32 and not cast back: half-precision input gives float32")
def silu_stays_float32(x):
    xf = x.float()
    return xf * torch.sigmoid(xf)


@mistake("silu", "a tensor of ones made on the default device (torch.ones(x.shape)) instead of x's")
def silu_wrong_device(x):
    return x / (torch.ones(x.shape) + torch.exp(-x))


# ---------------------------------------------------------------- swiglu_hidden_dim


@mistake("swiglu_hidden_dim", "rounded down to a multiple instead of up")
def hidden_dim_rounds_down(dim, multiple_of=64):
    return multiple_of * (int(8 * dim / 3) // multiple_of)


@mistake("swiglu_hidden_dim", "rounded to the nearest multiple instead of up")
def hidden_dim_rounds_nearest(dim, multiple_of=64):
    return multiple_of * round(int(8 * dim / 3) / multiple_of)


@mistake("swiglu_hidden_dim", "the width is left at 4 * dim (the two-matrix MLP's), not 8/3 * dim")
def hidden_dim_four_times(dim, multiple_of=64):
    hidden = 4 * dim
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


@mistake("swiglu_hidden_dim", "always adds a multiple, even when 8/3 * dim is already one")
def hidden_dim_always_adds(dim, multiple_of=64):
    return multiple_of * (int(8 * dim / 3) // multiple_of + 1)


@mistake("swiglu_hidden_dim", "multiple_of is ignored (always 64)")
def hidden_dim_ignores_multiple(dim, multiple_of=64):
    return ref_swiglu_hidden_dim(dim, 64)


@mistake("swiglu_hidden_dim", "the fraction of 8 * dim / 3 is rounded up too: int() must come first")
def hidden_dim_ceil_of_float(dim, multiple_of=64):
    return multiple_of * math.ceil(8 * dim / 3 / multiple_of)


@mistake("swiglu_hidden_dim", "returns a float (np.ceil gives 1408.0); a layer width must be an int")
def hidden_dim_returns_float(dim, multiple_of=64):
    return multiple_of * np.ceil(int(8 * dim / 3) / multiple_of)


# ---------------------------------------------------------------- FeedForward


class _FF(nn.Module):
    """up_proj / down_proj like the reference; subclasses change the activation."""

    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.up_proj = nn.Linear(dim, hidden_dim, bias=False)
        self.down_proj = nn.Linear(hidden_dim, dim, bias=False)


@mistake("FeedForward", "ReLU where the contract asks for the exact GELU")
class FeedForwardRelu(_FF):
    def forward(self, x):
        return self.down_proj(torch.relu(self.up_proj(x)))


@mistake("FeedForward", "the tanh approximation of GELU where the contract asks for the exact (erf) one")
class FeedForwardTanhGelu(_FF):
    def forward(self, x):
        return self.down_proj(nn.functional.gelu(self.up_proj(x), approximate="tanh"))


@mistake("FeedForward", "the sigmoid approximation of GELU, x * sigmoid(1.702 x) ('quick GELU')")
class FeedForwardQuickGelu(_FF):
    def forward(self, x):
        h = self.up_proj(x)
        return self.down_proj(h * torch.sigmoid(1.702 * h))


@mistake("FeedForward", "no activation: two linear layers in a row collapse into one")
class FeedForwardNoActivation(_FF):
    def forward(self, x):
        return self.down_proj(self.up_proj(x))


@mistake("FeedForward", "GELU applied after down_proj instead of between the two layers")
class FeedForwardGeluLast(_FF):
    def forward(self, x):
        return nn.functional.gelu(self.down_proj(self.up_proj(x)))


@mistake("FeedForward", "GELU computed in float32 and not cast back: half input gives float32")
class FeedForwardStaysFloat32(_FF):
    def forward(self, x):
        h = nn.functional.gelu(self.up_proj(x).float())
        return nn.functional.linear(h, self.down_proj.weight.float())


@mistake("FeedForward", "the linear layers have a bias (the contract says bias=False; state dicts will not load)")
class FeedForwardBias(nn.Module):
    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.up_proj = nn.Linear(dim, hidden_dim)
        self.down_proj = nn.Linear(hidden_dim, dim)

    def forward(self, x):
        return self.down_proj(nn.functional.gelu(self.up_proj(x)))


@mistake("FeedForward", "the layers are named fc1 / fc2 instead of up_proj / down_proj")
class FeedForwardWrongNames(nn.Module):
    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim, bias=False)
        self.fc2 = nn.Linear(hidden_dim, dim, bias=False)

    def forward(self, x):
        return self.fc2(nn.functional.gelu(self.fc1(x)))


# ---------------------------------------------------------------- SwiGLU


class _GLU(nn.Module):
    """gate_proj / up_proj / down_proj like the reference; subclasses change forward."""

    def __init__(self, dim, hidden_dim=None, multiple_of=64):
        super().__init__()
        hidden_dim = hidden_dim if hidden_dim is not None else ref_swiglu_hidden_dim(dim, multiple_of)
        self.gate_proj = nn.Linear(dim, hidden_dim, bias=False)
        self.up_proj = nn.Linear(dim, hidden_dim, bias=False)
        self.down_proj = nn.Linear(hidden_dim, dim, bias=False)


@mistake("SwiGLU", "gate and up projections swapped: SiLU goes on gate_proj(x), not up_proj(x)")
class SwiGLUSwapped(_GLU):
    def forward(self, x):
        return self.down_proj(self.gate_proj(x) * ref_silu(self.up_proj(x)))


@mistake("SwiGLU", "SiLU applied to the product instead of the gate: silu(gate * up)")
class SwiGLUSiluOfProduct(_GLU):
    def forward(self, x):
        return self.down_proj(ref_silu(self.gate_proj(x) * self.up_proj(x)))


@mistake("SwiGLU", "a sigmoid gate (that is the original GLU) instead of SiLU")
class SwiGLUSigmoidGate(_GLU):
    def forward(self, x):
        return self.down_proj(torch.sigmoid(self.gate_proj(x)) * self.up_proj(x))


@mistake("SwiGLU", "a GELU gate (that is GeGLU) instead of SiLU")
class SwiGLUGeluGate(_GLU):
    def forward(self, x):
        return self.down_proj(nn.functional.gelu(self.gate_proj(x)) * self.up_proj(x))


@mistake("SwiGLU", "no activation on the gate: gate * up is bilinear")
class SwiGLUNoActivation(_GLU):
    def forward(self, x):
        return self.down_proj(self.gate_proj(x) * self.up_proj(x))


@mistake("SwiGLU", "the width is left at 4 * dim instead of swiglu_hidden_dim(dim)")
class SwiGLUFourTimes(_GLU):
    def __init__(self, dim, hidden_dim=None, multiple_of=64):
        super().__init__(dim, hidden_dim if hidden_dim is not None else 4 * dim, multiple_of)

    def forward(self, x):
        return self.down_proj(ref_silu(self.gate_proj(x)) * self.up_proj(x))


@mistake("SwiGLU", "the hidden_dim argument is ignored (always swiglu_hidden_dim(dim))")
class SwiGLUIgnoresHiddenDim(_GLU):
    def __init__(self, dim, hidden_dim=None, multiple_of=64):
        super().__init__(dim, None, multiple_of)

    def forward(self, x):
        return self.down_proj(ref_silu(self.gate_proj(x)) * self.up_proj(x))


@mistake("SwiGLU", "multiple_of is not passed on to swiglu_hidden_dim")
class SwiGLUIgnoresMultipleOf(_GLU):
    def __init__(self, dim, hidden_dim=None, multiple_of=64):
        super().__init__(dim, hidden_dim, 64)

    def forward(self, x):
        return self.down_proj(ref_silu(self.gate_proj(x)) * self.up_proj(x))


@mistake("SwiGLU", "the linear layers have a bias (the contract says bias=False; state dicts will not load)")
class SwiGLUBias(nn.Module):
    def __init__(self, dim, hidden_dim=None, multiple_of=64):
        super().__init__()
        hidden_dim = hidden_dim if hidden_dim is not None else ref_swiglu_hidden_dim(dim, multiple_of)
        self.gate_proj = nn.Linear(dim, hidden_dim)
        self.up_proj = nn.Linear(dim, hidden_dim)
        self.down_proj = nn.Linear(hidden_dim, dim)

    def forward(self, x):
        return self.down_proj(ref_silu(self.gate_proj(x)) * self.up_proj(x))


@mistake("SwiGLU", "tokens flattened in one order and unflattened in another: outputs land on the wrong tokens")
class SwiGLUScrambledTokens(_GLU):
    def forward(self, x):
        b, s, d = x.shape
        flat = x.transpose(0, 1).reshape(s * b, d)  # (s*b, d): sequence-major
        out = self.down_proj(ref_silu(self.gate_proj(flat)) * self.up_proj(flat))
        return out.reshape(b, s, d)  # read back batch-major: tokens end up in the wrong places


@mistake("SwiGLU", "tokens flattened with .view(-1, dim), which fails on a non-contiguous input")
class SwiGLUView(_GLU):
    def forward(self, x):
        flat = x.view(-1, x.shape[-1])  # (tokens, dim)
        out = self.down_proj(ref_silu(self.gate_proj(flat)) * self.up_proj(flat))
        return out.view(x.shape)


@mistake("SwiGLU", "SiLU written in place over the sigmoid (sigmoid(g).mul_(g)): backward raises")
class SwiGLUInPlaceGate(_GLU):
    def forward(self, x):
        g = self.gate_proj(x)
        gate = torch.sigmoid(g).mul_(g)  # overwrites the sigmoid output autograd saved
        return self.down_proj(gate * self.up_proj(x))


@mistake("SwiGLU", "the gate is computed in float32 and not cast back: half input gives float32")
class SwiGLUStaysFloat32(_GLU):
    def forward(self, x):
        g = self.gate_proj(x).float()
        h = g * torch.sigmoid(g) * self.up_proj(x).float()
        return nn.functional.linear(h, self.down_proj.weight.float())
