"""Shared pieces of the attention experiments: reading a trained model's attention weights, and
greedy generation. Their tasks, TwoLookups and Periodic, live in kata.lab.tasks. Not an experiment
itself (it is not listed in course.toml)."""
import torch


@torch.no_grad()
def attention_maps(model, tokens: torch.Tensor, n_heads: int, P_attn, P_pos) -> list[torch.Tensor]:
    """The attention weights of every layer of a kata.lab TinyDecoder on `tokens`: a list of
    (batch, n_heads, T, T) tensors. A forward hook records what each attention layer receives;
    the weights are recomputed from its own q_proj / k_proj with the implementation's
    scaled_dot_product_attention (the contract's MultiHeadAttention returns only its output)."""
    seen = []
    hooks = [block.attn.register_forward_hook(
        lambda mod, args, kwargs, out: seen.append((mod, args, kwargs)), with_kwargs=True)
        for block in model.blocks]
    try:
        model(tokens)
    finally:
        for h in hooks:
            h.remove()
    maps = []
    for mod, args, kwargs in seen:
        h = args[0]
        cos = args[1] if len(args) > 1 else kwargs.get("cos")
        sin = args[2] if len(args) > 2 else kwargs.get("sin")
        causal = kwargs.get("causal", args[3] if len(args) > 3 else True)
        b, t, dim = h.shape
        hd = dim // n_heads
        q = mod.q_proj(h).view(b, t, n_heads, hd)
        k = mod.k_proj(h).view(b, t, -1, hd)
        if cos is not None and sin is not None:
            q, k = P_pos.apply_rope(q, cos[:t], sin[:t]), P_pos.apply_rope(k, cos[:t], sin[:t])
        k = P_attn.repeat_kv(k, n_heads // k.shape[2])
        mask = P_attn.causal_mask(t) if causal else None
        q, k = q.transpose(1, 2), k.transpose(1, 2)  # (b, heads, t, hd)
        _, weights = P_attn.scaled_dot_product_attention(q, k, torch.zeros_like(k), mask)
        maps.append(weights)
    return maps


@torch.no_grad()
def generate(model, prompt: torch.Tensor, total: int) -> torch.Tensor:
    """Greedy left-to-right generation: each new token is predicted from the tokens so far only."""
    seq = prompt
    while seq.shape[1] < total:
        nxt = model(seq)[:, -1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], dim=1)
    return seq
