"""Normalization, written differently: float64 internals, torch.var, sqrt then divide, einsum."""
import torch
from torch import nn


def rms_norm(x, weight, eps=1e-5):
    x64 = x.double()
    mean_square = torch.einsum("...d,...d->...", x64, x64)[..., None] / x.shape[-1]
    return (x64 / torch.sqrt(mean_square + eps) * weight.double()).to(x.dtype)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        # Llama's order: normalize in float32, cast back, then multiply by the weight in x's dtype.
        normed = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.type_as(x) * self.weight.to(x.dtype)


def layer_norm(x, weight, bias, eps=1e-5):
    xf = x.float()
    var, mean = torch.var_mean(xf, dim=-1, keepdim=True, unbiased=False)
    return torch.addcmul(bias.float(), (xf - mean) / (var + eps).sqrt(), weight.float()).to(x.dtype)


def pre_norm_residual(x, sublayer, norm):
    update = sublayer(norm(x))
    return update + x


def post_norm_residual(x, sublayer, norm):
    summed = torch.add(x, sublayer(x))
    return norm(summed)
