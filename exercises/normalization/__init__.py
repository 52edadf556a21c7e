"""Normalization: keep every token's activations at a steady scale, whatever the depth."""
from .layer_norm import layer_norm
from .post_norm_residual import post_norm_residual
from .pre_norm_residual import pre_norm_residual
from .rms_norm import rms_norm
from .rms_norm_module import RMSNorm

__all__ = ["rms_norm", "RMSNorm", "layer_norm", "pre_norm_residual", "post_norm_residual"]
