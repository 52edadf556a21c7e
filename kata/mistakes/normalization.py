"""Realistic wrong versions of the normalization exercises (see kata/mistakes/__init__.py)."""
import torch
from torch import nn

from reference.normalization import layer_norm as ref_layer_norm
from reference.normalization import rms_norm as ref_rms_norm

from . import Catalogue

MISTAKES = Catalogue("normalization")
mistake = MISTAKES.add

# ---------------------------------------------------------------- rms_norm


@mistake("rms_norm", "squares half-precision input without upcasting to float32 (300**2 overflows float16)")
def rms_norm_no_upcast(x, weight, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight.to(x.dtype)


@mistake("rms_norm", "mean taken over the wrong dimension (it must be the last one, per token)")
def rms_norm_wrong_dim(x, weight, eps=1e-5):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(0, keepdim=True) + eps) * weight).to(x.dtype)


@mistake("rms_norm", "mean taken over the sequence dimension (dim=1 or -2) instead of the last one "
                     "(dim=-1): each token must be normalized on its own")
def rms_norm_sequence_dim(x, weight, eps=1e-5):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-2, keepdim=True) + eps) * weight).to(x.dtype)


@mistake("rms_norm", "mean taken over every element of x (no dim given): it must be per token, dim=-1, "
                     "keepdim=True")
def rms_norm_global_mean(x, weight, eps=1e-5):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean() + eps) * weight).to(x.dtype)


@mistake("rms_norm", "the mean is subtracted first: that is LayerNorm, RMSNorm does not center")
def rms_norm_centers(x, weight, eps=1e-5):
    xf = x.float()
    xf = xf - xf.mean(-1, keepdim=True)
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * weight).to(x.dtype)


@mistake("rms_norm", "the weight is not applied")
def rms_norm_no_weight(x, weight, eps=1e-5):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


@mistake("rms_norm", "sum of squares instead of their mean (output too small by sqrt(dim))")
def rms_norm_sum(x, weight, eps=1e-5):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).sum(-1, keepdim=True) + eps) * weight).to(x.dtype)


@mistake("rms_norm", "eps added outside the square root: x / (sqrt(mean(x**2)) + eps)")
def rms_norm_eps_outside(x, weight, eps=1e-5):
    xf = x.float()
    return (xf / (xf.pow(2).mean(-1, keepdim=True).sqrt() + eps) * weight).to(x.dtype)


@mistake("rms_norm", "eps is ignored")
def rms_norm_no_eps(x, weight, eps=1e-5):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True)) * weight).to(x.dtype)


@mistake("rms_norm", "divides by the mean square, not its square root")
def rms_norm_no_sqrt(x, weight, eps=1e-5):
    xf = x.float()
    return (xf / (xf.pow(2).mean(-1, keepdim=True) + eps) * weight).to(x.dtype)


@mistake("rms_norm", "the float32 result is not cast back to the input's dtype")
def rms_norm_stays_float32(x, weight, eps=1e-5):
    xf = x.float()
    return xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * weight.float()


@mistake("rms_norm", "cast back to the input's dtype, then multiplied by a float32 weight (dtype promoted)")
def rms_norm_weight_promotes(x, weight, eps=1e-5):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * weight


@mistake("rms_norm", "the input is modified in place (x *= ...)")
def rms_norm_in_place(x, weight, eps=1e-5):
    scale = torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps)
    x *= scale.to(x.dtype)
    return x * weight.to(x.dtype)


@mistake("rms_norm", "a different default eps than the contract's 1e-5")
def rms_norm_default_eps(x, weight, eps=1e-6):
    return ref_rms_norm(x, weight, eps)


@mistake("rms_norm", "a tensor created on the default device instead of x.device")
def rms_norm_wrong_device(x, weight, eps=1e-5):
    xf = x.float()
    ms = xf.pow(2).mean(-1, keepdim=True)
    return (xf / torch.sqrt(ms + torch.full(ms.shape, eps)) * weight).to(x.dtype)


# ---------------------------------------------------------------- RMSNorm


@mistake("RMSNorm", "the weight is initialised to zeros instead of ones")
class RMSNormZeroInit(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        return ref_rms_norm(x, self.weight, self.eps)


@mistake("RMSNorm", "forward ignores the module's eps and uses the default")
class RMSNormIgnoresEps(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return ref_rms_norm(x, self.weight)


@mistake("RMSNorm", "the module's default eps is not the contract's 1e-5 (RMSNorm(dim) must use eps=1e-5)")
class RMSNormDefaultEps(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return ref_rms_norm(x, self.weight, self.eps)


@mistake("RMSNorm", "the parameter is named 'scale' instead of 'weight' (state dicts will not load)")
class RMSNormWrongName(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return ref_rms_norm(x, self.scale, self.eps)


@mistake("RMSNorm", "the weight is a plain tensor, not an nn.Parameter (it would never be trained)")
class RMSNormNotParameter(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = torch.ones(dim)

    def forward(self, x):
        return ref_rms_norm(x, self.weight, self.eps)


# ---------------------------------------------------------------- layer_norm


@mistake("layer_norm", "unbiased variance (divides by n - 1); LayerNorm uses the biased one (n)")
def layer_norm_unbiased(x, weight, bias, eps=1e-5):
    xf = x.float()
    y = (xf - xf.mean(-1, keepdim=True)) / torch.sqrt(xf.var(-1, keepdim=True, unbiased=True) + eps)
    return (y * weight + bias).to(x.dtype)


@mistake("layer_norm", "the bias is not added")
def layer_norm_no_bias(x, weight, bias, eps=1e-5):
    return ref_layer_norm(x, weight, torch.zeros_like(bias), eps)


@mistake("layer_norm", "the mean is not subtracted from the output (only used for the variance)")
def layer_norm_not_centered(x, weight, bias, eps=1e-5):
    xf = x.float()
    var = xf.var(-1, keepdim=True, unbiased=False)
    return (xf / torch.sqrt(var + eps) * weight + bias).to(x.dtype)


@mistake("layer_norm", "variance as E[x**2] - E[x]**2 in float32: catastrophic cancellation for large offsets")
def layer_norm_cancellation(x, weight, bias, eps=1e-5):
    xf = x.float()
    mean = xf.mean(-1, keepdim=True)
    var = xf.pow(2).mean(-1, keepdim=True) - mean.pow(2)
    return ((xf - mean) * torch.rsqrt(var + eps) * weight + bias).to(x.dtype)


@mistake("layer_norm", "eps added outside the square root: (x - mean) / (std + eps)")
def layer_norm_eps_outside(x, weight, bias, eps=1e-5):
    xf = x.float()
    c = xf - xf.mean(-1, keepdim=True)
    return (c / (c.pow(2).mean(-1, keepdim=True).sqrt() + eps) * weight + bias).to(x.dtype)


@mistake("layer_norm", "half-precision input not upcast: (x - mean)**2 overflows float16")
def layer_norm_no_upcast(x, weight, bias, eps=1e-5):
    c = x - x.mean(-1, keepdim=True)
    return c * torch.rsqrt(c.pow(2).mean(-1, keepdim=True) + eps) * weight.to(x.dtype) + bias.to(x.dtype)


@mistake("layer_norm", "statistics over the wrong dimension (must be the last one, per token)")
def layer_norm_wrong_dim(x, weight, bias, eps=1e-5):
    xf = x.float()
    c = xf - xf.mean(0, keepdim=True)
    return (c * torch.rsqrt(c.pow(2).mean(0, keepdim=True) + eps) * weight + bias).to(x.dtype)


@mistake("layer_norm", "the float32 result is not cast back to the input's dtype")
def layer_norm_stays_float32(x, weight, bias, eps=1e-5):
    return ref_layer_norm(x.float(), weight.float(), bias.float(), eps)


# ---------------------------------------------------------------- residual steps


@mistake("pre_norm_residual", "post-norm instead of pre-norm: norm(x + sublayer(x))")
def pre_norm_is_post(x, sublayer, norm):
    return norm(x + sublayer(x))


@mistake("pre_norm_residual", "the residual is dropped: sublayer(norm(x)) without + x")
def pre_norm_no_residual(x, sublayer, norm):
    return sublayer(norm(x))


@mistake("pre_norm_residual", "the normalized input is added back instead of the raw input")
def pre_norm_adds_normed(x, sublayer, norm):
    x = norm(x)
    return x + sublayer(x)


@mistake("pre_norm_residual", "the norm is never applied: x + sublayer(x) (the sublayer must get norm(x))")
def pre_norm_no_norm(x, sublayer, norm):
    return x + sublayer(x)


@mistake("pre_norm_residual", "the norm is applied to the sublayer's output: x + norm(sublayer(x))")
def pre_norm_norms_output(x, sublayer, norm):
    return x + norm(sublayer(x))


@mistake("pre_norm_residual", "the input is normalized twice: x + sublayer(norm(norm(x))) (with a "
                              "non-unit weight, norm(norm(x)) is not norm(x))")
def pre_norm_norms_twice(x, sublayer, norm):
    h = norm(x)
    return x + sublayer(norm(h))


@mistake("pre_norm_residual", "the residual is added in place (x += ...), changing the caller's tensor")
def pre_norm_in_place(x, sublayer, norm):
    x += sublayer(norm(x))
    return x


@mistake("post_norm_residual", "pre-norm instead of post-norm: x + sublayer(norm(x))")
def post_norm_is_pre(x, sublayer, norm):
    return x + sublayer(norm(x))


@mistake("post_norm_residual", "the residual is dropped: norm(sublayer(x))")
def post_norm_no_residual(x, sublayer, norm):
    return norm(sublayer(x))


@mistake("post_norm_residual", "only the input is normalized: norm(x) + sublayer(x)")
def post_norm_norms_input(x, sublayer, norm):
    return norm(x) + sublayer(x)


@mistake("post_norm_residual", "the norm is applied to the sublayer's output: x + norm(sublayer(x))")
def post_norm_norms_output(x, sublayer, norm):
    return x + norm(sublayer(x))


@mistake("post_norm_residual", "the norm is applied twice: norm(norm(x + sublayer(x))) (with a "
                               "non-unit weight, norm(norm(h)) is not norm(h))")
def post_norm_norms_twice(x, sublayer, norm):
    h = norm(x + sublayer(x))
    return norm(h)


@mistake("post_norm_residual", "the residual is added in place (x += sublayer(x)), changing the caller's tensor")
def post_norm_in_place(x, sublayer, norm):
    x += sublayer(x)
    return norm(x)


@mistake("layer_norm", "the input is centered in place (x -= mean), changing the caller's tensor")
def layer_norm_in_place(x, weight, bias, eps=1e-5):
    x -= x.mean(-1, keepdim=True)
    return ref_layer_norm(x, weight, bias, eps)


@mistake("layer_norm", "eps built as a tensor on the default device instead of x.device")
def layer_norm_wrong_device(x, weight, bias, eps=1e-5):
    xf = x.float()
    c = xf - xf.mean(-1, keepdim=True)
    var = c.pow(2).mean(-1, keepdim=True)
    return (c / torch.sqrt(var + torch.full(var.shape, eps)) * weight + bias).to(x.dtype)
