"""Half precision: why RMSNorm squares its input in float32

A row of ordinary activations with one large entry (an "outlier", common in trained LLMs) is
normalized in float32, float16 and bfloat16, twice for each half type: naively (squares, mean and
square root all in the input dtype) and with the float32 upcast of the implementation under study
(IMPL, default reference). Every result is compared with a float64 computation.

float16's largest finite value is 65504, so any entry above sqrt(65504) = 255.9 squares to inf;
1 / sqrt(inf) = 0, and the whole row comes out as zeros. bfloat16 has float32's range (it does not
overflow) but only 8 bits of mantissa."""
import math

import torch

F16_MAX = torch.finfo(torch.float16).max  # 65504


def naive_rms_norm(x, weight, eps=1e-5):
    """RMSNorm with every step in x's own dtype: what the upcast is there to avoid."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight.to(x.dtype)


def rel_error(y, exact):
    """Relative L2 error of each row against the float64 result (1.0 = nothing right; inf = inf/NaN)."""
    y = y.double()
    err = (y - exact).norm(dim=-1) / exact.norm(dim=-1)
    return torch.where(torch.isfinite(y).all(-1), err, torch.full_like(err, math.inf))


def run(ctx):
    import matplotlib.pyplot as plt

    norm = ctx.impl("normalization")
    dim, n_mags = ctx.pick((256, 61), (64, 25))
    gen = torch.Generator().manual_seed(0)
    mags = torch.logspace(0, 4, n_mags, dtype=torch.float64)  # 1 ... 10000
    rows = torch.randn(n_mags, dim, generator=gen, dtype=torch.float64)
    rows[:, 0] = mags  # each row: ordinary activations plus one outlier of the given magnitude
    weight = 1 + 0.1 * torch.randn(dim, generator=gen, dtype=torch.float64)

    def exact(x, w):
        """The float64 result for the inputs as actually stored in the low-precision dtype, so the
        error measured is the computation's, not the rounding of the inputs."""
        x, w = x.double(), w.double()
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    errors = {}
    for dtype in (torch.float16, torch.bfloat16):
        name = str(dtype).replace("torch.", "")
        x, w = rows.to(dtype), weight.to(dtype)
        errors[f"{name}, naive (all in {name})"] = rel_error(naive_rms_norm(x, w), exact(x, w))
        errors[f"{name}, float32 upcast (rms_norm)"] = rel_error(norm.rms_norm(x, w), exact(x, w))
    x, w = rows.float(), weight.float()
    errors["float32 (rms_norm)"] = rel_error(norm.rms_norm(x, w), exact(x, w))

    # The row of the tests: one entry of 300 in float16.
    row = rows[:1].clone()
    row[0, 0] = 300.0
    x16, w16 = row.half(), weight.half()
    naive16, upcast16 = naive_rms_norm(x16, w16), norm.rms_norm(x16, w16)
    truth = exact(x16, w16)
    ctx.log(f"float16 max = {F16_MAX:.0f}; 300**2 = {300 ** 2} -> in float16: {torch.tensor(300.0).half().pow(2).item()}")
    ctx.log("row with a 300, first 4 outputs:")
    ctx.log(f"  float64 truth           {[round(v, 4) for v in truth[0, :4].tolist()]}")
    ctx.log(f"  float16 naive           {[round(v, 4) for v in naive16[0, :4].float().tolist()]}")
    ctx.log(f"  float16 with upcast     {[round(v, 4) for v in upcast16[0, :4].float().tolist()]}  (dtype {upcast16.dtype})")

    naive16_zero = bool((naive16 == 0).all()) or not bool(torch.isfinite(naive16).all())
    ctx.claim(naive16_zero, "without the upcast, a float16 row containing 300 comes out as all zeros (or inf/NaN)",
              f"{int((naive16 == 0).sum())} of {dim} outputs are zero")
    err300 = rel_error(upcast16, truth).item()
    ctx.claim(err300 < 1e-2 and upcast16.dtype == torch.float16,
              "with the float32 upcast, the same float16 row is right to float16 precision, and stays float16",
              f"relative error {err300:.1e}, dtype {upcast16.dtype}")

    below, above = mags < 200, mags > 260
    e_naive16, e_up16 = errors["float16, naive (all in float16)"], errors["float16, float32 upcast (rms_norm)"]
    ctx.claim(bool((e_naive16[below] < 1e-2).all()) and bool((e_naive16[above] >= 1).all()),
              "the float16 failure is a cliff, not a drift: naive float16 is fine below 200 and completely wrong "
              f"above sqrt(65504) = {math.sqrt(F16_MAX):.1f}",
              f"worst error below 200: {e_naive16[below].max():.1e}; best error above 260: {e_naive16[above].min():.2f}")
    ctx.claim(bool((e_up16 < 1e-2).all()), "with the upcast, float16 stays accurate at every magnitude up to 10000",
              f"worst relative error {e_up16.max():.1e}")
    e_naive_bf, e_up_bf = errors["bfloat16, naive (all in bfloat16)"], errors["bfloat16, float32 upcast (rms_norm)"]
    ctx.claim(bool(torch.isfinite(e_naive_bf).all()) and bool((e_naive_bf < 0.05).all()),
              "bfloat16 does not overflow even without the upcast: it has float32's exponent range",
              f"worst naive bfloat16 error {e_naive_bf.max():.1e}")
    ctx.claim(bool(e_naive_bf.mean() > 1.2 * e_up_bf.mean()),
              "but bfloat16 has only 8 bits of mantissa: computing the statistic in float32 still makes it more accurate",
              f"mean error naive {e_naive_bf.mean():.2e} vs upcast {e_up_bf.mean():.2e}")
    ctx.log(f"mean relative error: float32 {errors['float32 (rms_norm)'].mean():.1e}, "
            f"float16+upcast {e_up16.mean():.1e}, bfloat16+upcast {e_up_bf.mean():.1e}")

    # ---------------------------------------------------------------- plot
    fig, ax = plt.subplots(figsize=(11, 5))
    styles = {"float16, naive (all in float16)": ("tab:red", "--", "o"),
              "float16, float32 upcast (rms_norm)": ("tab:red", "-", None),
              "bfloat16, naive (all in bfloat16)": ("tab:blue", "--", "o"),
              "bfloat16, float32 upcast (rms_norm)": ("tab:blue", "-", None),
              "float32 (rms_norm)": ("black", "-", None)}
    floor, ceiling = 1e-9, 3.0
    for label, err in errors.items():
        color, ls, marker = styles[label]
        shown = err.clamp(floor, ceiling).numpy()  # inf/NaN drawn at the top of the plot
        ax.plot(mags.numpy(), shown, color=color, ls=ls, marker=marker, ms=3, label=label)
    ax.axvline(math.sqrt(F16_MAX), color="gray", ls=":")
    ax.text(math.sqrt(F16_MAX) * 1.15, 1e-7, "sqrt(65504) = 256:\nx² overflows float16", fontsize=8, color="gray")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(floor, ceiling * 2)
    ax.set_xlabel("magnitude of the one large entry in the row")
    ax.set_ylabel("relative error of rms_norm vs float64")
    ax.set_title(f"RMSNorm of a row of {dim} activations with one outlier")
    ax.text(2000, 1.5, "output all zeros", fontsize=8, color="tab:red", ha="center")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, which="major", alpha=0.3)
    ctx.save(fig, "half_precision.png")
