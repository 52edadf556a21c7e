import torch
from torch import nn

from ..architecture import TransformerBlock
from ..normalization import RMSNorm
from ..position_encoding import rope_cos_sin
from .cached_attention import cached_attention
from .kv_cache import KVCache
from .sample_next_token import sample_next_token


class TinyLM(nn.Module):
    """A decoder-only language model: token embedding, a stack of TransformerBlocks, a final
    RMSNorm, and an output head that shares the embedding's weight.

    Args:
        vocab_size, dim, n_layers.  n_heads, n_kv_heads: as TransformerBlock.
        max_len: the longest sequence (the RoPE tables' rows).  rope_base: as rope_cos_sin.
    Submodules (names are part of the contract): embed (nn.Embedding(vocab_size, dim), weight
    initialised N(0, 0.02): it is also the output head, so it must start small), layers
    (nn.ModuleList of n_layers TransformerBlock(dim, n_heads, n_kv_heads)), norm (RMSNorm(dim)),
    lm_head (nn.Linear(dim, vocab_size, bias=False)) whose weight IS embed.weight (tied).
    Buffers cos, sin = rope_cos_sin(dim // n_heads, max_len, rope_base), non-persistent.

    forward(tokens, cache=None) -> logits (batch, seq, vocab):
        tokens (batch, seq) int64. Positions start at cache.length (0 without a cache), so the RoPE
        rows are start .. start + seq - 1 (seq rows, also for a chunk fed after a cache).
        ValueError when start + seq > max_len: the input is never cropped. Without a cache the
        blocks are called as they are; with one, each block's attention goes through
        cached_attention with layer index i:
            h = x + cached_attention(block.attn, block.attn_norm(x), cos, sin, cache, i)
            x = h + block.ffn(block.ffn_norm(h))
        Logits of position t predict token t + 1. Dtype: the logits come out in the model's
        parameter dtype (model.double() gives float64 logits; the int64 tokens do not set it), so
        they are not cast to float32.

    generate(tokens, max_new_tokens, temperature=1.0, top_k=None, use_cache=True, generator=None)
        -> (batch, seq + max_new_tokens), under torch.no_grad, tokens first. With use_cache, the
        prompt is run once (prefill) and then one new token per step; without, the whole sequence
        is run again each step (same tokens, slower). Each new token is
        sample_next_token(last logits, temperature, top_k, generator), the logits as they are: the
        temperature is applied once, by the sampler, and a seeded generator makes the output
        reproducible. ValueError when seq + max_new_tokens > max_len. The input tensor is not
        modified.

    Example: TinyLM(77, 64, 2, 4, 2) has 103552 parameters: the tied head adds none of its own.
    A fresh model's loss is close to ln(77) = 4.34, the loss of a uniform guess.
    """

    def __init__(self, vocab_size: int, dim: int, n_layers: int, n_heads: int, n_kv_heads: int | None = None,
                 max_len: int = 256, rope_base: float = 10000.0):
        super().__init__()
        raise NotImplementedError('TinyLM: not written yet (replace this line with your code; hints: make hint EX=TinyLM)')

    def forward(self, tokens: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        raise NotImplementedError('TinyLM: not written yet (replace this line with your code; hints: make hint EX=TinyLM)')

    @torch.no_grad()
    def generate(self, tokens: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, use_cache: bool = True,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError('TinyLM (generate): not written yet (replace this line with your code; hints: make hint EX=TinyLM)')
