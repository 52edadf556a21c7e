"""Realistic wrong versions of the capstone exercises (see kata/mistakes/__init__.py).

Each builds on the reference, so in the mutation suite only the named step is wrong. Several only
show once a cache is used across steps or layers: a single forward pass hides them."""
import torch

from reference.attention import repeat_kv, scaled_dot_product_attention
from reference.capstone import KVCache as RefKVCache
from reference.capstone import TinyLM as RefTinyLM
from reference.capstone import cached_attention as ref_cached_attention
from reference.capstone import sample_next_token as ref_sample
from reference.position_encoding import apply_rope

from . import Catalogue

MISTAKES = Catalogue("capstone")
mistake = MISTAKES.add

# ---------------------------------------------------------------- KVCache


@mistake("KVCache", "update overwrites the layer's keys and values instead of appending the new positions")
class KVCacheOverwrites(RefKVCache):
    def update(self, layer, k, v):
        self.keys[layer], self.values[layer] = k, v
        return k, v


@mistake("KVCache", "new positions are appended along the heads dim (dim 2) instead of the sequence dim (dim 1)")
class KVCacheWrongDim(RefKVCache):
    def update(self, layer, k, v):
        if layer in self.keys:
            k = torch.cat([self.keys[layer], k], dim=2)
            v = torch.cat([self.values[layer], v], dim=2)
        self.keys[layer], self.values[layer] = k, v
        return k, v


@mistake("KVCache", "length counts the batch (shape[0]) instead of the cached positions (shape[1])")
class KVCacheLengthIsBatch(RefKVCache):
    @property
    def length(self):
        return self.keys[0].shape[0] if self.keys else 0


@mistake("KVCache", "length counts the layers stored instead of the cached positions")
class KVCacheLengthIsLayers(RefKVCache):
    @property
    def length(self):
        return len(self.keys)


@mistake("KVCache", "one store shared by every layer: the layer index is ignored, so layers append to each other")
class KVCacheIgnoresLayer(RefKVCache):
    def update(self, layer, k, v):
        return super().update(0, k, v)


@mistake("KVCache", "the cache converts keys and values to float32: a half-precision model gets float32 back")
class KVCacheFloat32(RefKVCache):
    def update(self, layer, k, v):
        return super().update(layer, k.float(), v.float())


# ---------------------------------------------------------------- cached_attention


def _heads(attn, x, cos):
    b, s, _ = x.shape
    hd = cos.shape[-1]
    nh, nkv = attn.q_proj.out_features // hd, attn.k_proj.out_features // hd
    q = attn.q_proj(x).view(b, s, nh, hd)
    k = attn.k_proj(x).view(b, s, nkv, hd)
    v = attn.v_proj(x).view(b, s, nkv, hd)
    return q, k, v, nh // nkv


def _attend(attn, q, k, v, mask):
    b, s = q.shape[:2]
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    out, _ = scaled_dot_product_attention(q, k, v, mask)
    return attn.o_proj(out.transpose(1, 2).reshape(b, s, -1))


def _offset_mask(lq, lk, device):
    return torch.ones(lq, lk, dtype=torch.bool, device=device).tril(lk - lq)


@mistake("cached_attention", "the mask is not offset by the cached positions (tril of Lq x Lk anchored at the "
                             "top left): a new token sees only the first keys")
def cached_attention_mask_not_offset(attn, x, cos, sin, cache=None, layer=0):
    q, k, v, n_rep = _heads(attn, x, cos)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    if cache is not None:
        k, v = cache.update(layer, k, v)
    k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
    return _attend(attn, q, k, v, torch.ones(q.shape[1], k.shape[1], dtype=torch.bool).tril())


@mistake("cached_attention", "the mask offset is cache.length read before the update (tril(start)) instead of "
                             "Lk - Lq: right in layer 0, but in layer 1 the cache already holds this pass's "
                             "positions, so the prompt sees its own future")
def cached_attention_mask_from_cache_length(attn, x, cos, sin, cache=None, layer=0):
    q, k, v, n_rep = _heads(attn, x, cos)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    start = cache.length if cache is not None else 0
    if cache is not None:
        k, v = cache.update(layer, k, v)
    k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
    return _attend(attn, q, k, v, torch.ones(q.shape[1], k.shape[1], dtype=torch.bool, device=x.device).tril(start))


@mistake("cached_attention", "no mask when a cache is given: fine for one new token, but the prompt (prefill) "
                             "then sees the future")
def cached_attention_no_mask_with_cache(attn, x, cos, sin, cache=None, layer=0):
    q, k, v, n_rep = _heads(attn, x, cos)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    mask = _offset_mask(q.shape[1], q.shape[1], x.device) if cache is None else None
    if cache is not None:
        k, v = cache.update(layer, k, v)
    k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
    return _attend(attn, q, k, v, mask)


@mistake("cached_attention", "keys are cached before RoPE, then the whole cache is rotated with the new "
                             "positions' angles: old keys get the wrong positions")
def cached_attention_rope_after_cache(attn, x, cos, sin, cache=None, layer=0):
    q, k, v, n_rep = _heads(attn, x, cos)
    if cache is not None:
        k, v = cache.update(layer, k, v)
    q = apply_rope(q, cos, sin)
    k = apply_rope(k, cos[-1:].expand(k.shape[1], -1) if k.shape[1] != cos.shape[0] else cos,
                   sin[-1:].expand(k.shape[1], -1) if k.shape[1] != sin.shape[0] else sin)
    k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
    return _attend(attn, q, k, v, _offset_mask(q.shape[1], k.shape[1], x.device))


@mistake("cached_attention", "the cache stores keys and values after repeat_kv: n_heads heads instead of "
                             "n_kv_heads, so grouped-query attention saves no memory")
def cached_attention_caches_repeated_heads(attn, x, cos, sin, cache=None, layer=0):
    q, k, v, n_rep = _heads(attn, x, cos)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
    if cache is not None:
        k, v = cache.update(layer, k, v)
    return _attend(attn, q, k, v, _offset_mask(q.shape[1], k.shape[1], x.device))


@mistake("cached_attention", "o_proj is not applied: the merged heads are returned as they are")
def cached_attention_no_o_proj(attn, x, cos, sin, cache=None, layer=0):
    class NoProj:
        q_proj, k_proj, v_proj = attn.q_proj, attn.k_proj, attn.v_proj
        o_proj = staticmethod(lambda t: t)
    return ref_cached_attention(NoProj, x, cos, sin, cache, layer)


# ---------------------------------------------------------------- sample_next_token


@mistake("sample_next_token", "the temperature divides the probabilities after the softmax (torch.multinomial "
                              "renormalizes them, so it has no effect) instead of the logits before it")
def sample_temperature_after_softmax(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float()
    if top_k is not None and top_k < logits.shape[-1]:
        logits = logits.masked_fill(logits < logits.topk(top_k, -1).values[:, -1:], float("-inf"))
    return torch.multinomial(torch.softmax(logits, -1) / temperature, 1, generator=generator).squeeze(-1)


@mistake("sample_next_token", "top_k keeps k + 1 tokens (the k-th largest is taken at index k, not k - 1)")
def sample_top_k_plus_one(logits, temperature=1.0, top_k=None, generator=None):
    if top_k is not None and temperature != 0 and top_k < logits.shape[-1]:
        top_k += 1
    return ref_sample(logits, temperature, top_k, generator)


@mistake("sample_next_token", "logits outside the top k are set to 0 instead of -inf: they can still be drawn")
def sample_top_k_masks_with_zero(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float()
    if top_k is not None and top_k < logits.shape[-1]:
        logits = logits.masked_fill(logits < logits.topk(top_k, -1).values[:, -1:], 0.0)
    return torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=generator).squeeze(-1)


@mistake("sample_next_token", "temperature 0 divides by zero (logits / 0 is inf or NaN) instead of taking the argmax")
def sample_divides_by_zero(logits, temperature=1.0, top_k=None, generator=None):
    probs = torch.softmax(logits.float() / temperature if temperature else logits.float() * float("inf"), -1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@mistake("sample_next_token", "temperature 0 still samples (treated as 1: `temperature or 1.0`) instead of the argmax")
def sample_zero_means_one(logits, temperature=1.0, top_k=None, generator=None):
    return ref_sample(logits, temperature or 1.0, top_k, generator)


@mistake("sample_next_token", "the generator is not passed to torch.multinomial: a seeded generator does not "
                              "make the draws reproducible")
def sample_ignores_generator(logits, temperature=1.0, top_k=None, generator=None):
    return ref_sample(logits, temperature, top_k, None)


@mistake("sample_next_token", "returns shape (batch, 1), torch.multinomial's shape, instead of (batch,)")
def sample_keeps_last_dim(logits, temperature=1.0, top_k=None, generator=None):
    return ref_sample(logits, temperature, top_k, generator)[:, None]


@mistake("sample_next_token", "the softmax runs over the batch (dim 0) instead of the vocabulary (dim -1)")
def sample_softmax_over_batch(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=0)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@mistake("sample_next_token", "the logits are divided in place (logits /= temperature): the caller's tensor changes")
def sample_in_place(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    logits /= temperature
    return ref_sample(logits, 1.0, top_k, generator)


@mistake("sample_next_token", "top_k larger than the vocabulary raises (topk(k) needs k <= vocab; keep them all)")
def sample_top_k_unclamped(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float()
    if top_k is not None:
        logits = logits.masked_fill(logits < logits.topk(top_k, -1).values[:, -1:], float("-inf"))
    return torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=generator).squeeze(-1)


# ---------------------------------------------------------------- TinyLM


def _cached_forward(model, tokens, cache, start_of):
    """The reference forward pass, with the RoPE start computed by start_of(cache, layer)."""
    x = model.embed(tokens)
    s = tokens.shape[1]
    for i, block in enumerate(model.layers):
        if cache is None:
            x = block(x, model.cos[:s], model.sin[:s])
        else:
            start = start_of(cache, i)
            cos, sin = model.cos[start:start + s], model.sin[start:start + s]
            h = x + ref_cached_attention(block.attn, block.attn_norm(x), cos, sin, cache, i)
            x = h + block.ffn(block.ffn_norm(h))
    return model.lm_head(model.norm(x))


@mistake("TinyLM", "with a cache, the RoPE rows are sliced from position 0 instead of cache.length: every new "
                   "token is rotated as if it were the first")
class TinyLMPositionsFromZero(RefTinyLM):
    def forward(self, tokens, cache=None):
        return _cached_forward(self, tokens, cache, lambda c, i: 0)


@mistake("TinyLM", "cache.length is read inside the layer loop, after layer 0 has appended: the later layers "
                   "use positions shifted by the new tokens")
class TinyLMLengthReadPerLayer(RefTinyLM):
    def forward(self, tokens, cache=None):
        return _cached_forward(self, tokens, cache, lambda c, i: c.length)


@mistake("TinyLM", "generate with the cache feeds the whole sequence every step: the cache grows by the whole "
                   "sequence each time and the positions run past the real ones")
class TinyLMRefeedsEverything(RefTinyLM):
    @torch.no_grad()
    def generate(self, tokens, max_new_tokens, temperature=1.0, top_k=None, use_cache=True, generator=None):
        if not use_cache:
            return super().generate(tokens, max_new_tokens, temperature, top_k, False, generator)
        if tokens.shape[1] + max_new_tokens > self.max_len:
            raise ValueError("too long")
        cache, out = RefKVCache(), tokens
        for _ in range(max_new_tokens):
            try:
                logits = self(out, cache)[:, -1]
            except ValueError:  # the cache ran past max_len: the mistake shows as wrong tokens
                logits = self(out)[:, -1] * 0
            out = torch.cat([out, ref_sample(logits, temperature, top_k, generator)[:, None]], 1)
        return out


@mistake("TinyLM", "generate with the cache never feeds the last prompt token: the prefill stops one short and "
                   "the first new token is predicted from the token before it")
class TinyLMSkipsLastPromptToken(RefTinyLM):
    @torch.no_grad()
    def generate(self, tokens, max_new_tokens, temperature=1.0, top_k=None, use_cache=True, generator=None):
        if not use_cache or tokens.shape[1] < 2:
            return super().generate(tokens, max_new_tokens, temperature, top_k, use_cache, generator)
        if tokens.shape[1] + max_new_tokens > self.max_len:
            raise ValueError("too long")
        cache, out = RefKVCache(), tokens
        logits = self(tokens[:, :-1], cache)[:, -1]
        for _ in range(max_new_tokens):
            nxt = ref_sample(logits, temperature, top_k, generator)
            out = torch.cat([out, nxt[:, None]], 1)
            logits = self(nxt[:, None], cache)[:, -1]
        return out


@mistake("TinyLM", "generate with the cache feeds the last prompt token twice (once in the prefill, once more "
                   "as the first step): it is cached twice and every later position is off by one")
class TinyLMDuplicatesLastPromptToken(RefTinyLM):
    @torch.no_grad()
    def generate(self, tokens, max_new_tokens, temperature=1.0, top_k=None, use_cache=True, generator=None):
        if not use_cache:
            return super().generate(tokens, max_new_tokens, temperature, top_k, use_cache, generator)
        if tokens.shape[1] + max_new_tokens > self.max_len:
            raise ValueError("too long")
        cache, out = RefKVCache(), tokens
        self(tokens, cache)
        last = tokens[:, -1:]
        for _ in range(max_new_tokens):
            logits = self(last, cache)[:, -1]
            last = ref_sample(logits, temperature, top_k, generator)[:, None]
            out = torch.cat([out, last], 1)
        return out


@mistake("TinyLM", "lm_head is a separate nn.Linear, not tied to the embedding (twice the parameters, and the "
                   "head learns apart from the embedding)")
class TinyLMUntied(RefTinyLM):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lm_head.weight = torch.nn.Parameter(self.embed.weight.detach().clone())


@mistake("TinyLM", "the embedding is left at nn.Embedding's N(0, 1) init: through the tied head the first logits "
                   "are huge and the initial loss far above ln(vocab)")
class TinyLMEmbeddingStd1(RefTinyLM):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with torch.no_grad():
            self.embed.weight.normal_(0.0, 1.0)


@mistake("TinyLM", "the final RMSNorm is missing: lm_head reads the raw residual stream")
class TinyLMNoFinalNorm(RefTinyLM):
    def forward(self, tokens, cache=None):
        norm, self.norm = self.norm, torch.nn.Identity()
        try:
            return super().forward(tokens, cache)
        finally:
            self.norm = norm


@mistake("TinyLM", "the block is written out by hand and attention called with causal=False: every token sees "
                   "the ones after it")
class TinyLMNotCausal(RefTinyLM):
    def forward(self, tokens, cache=None):
        if cache is not None:
            return super().forward(tokens, cache)
        s = tokens.shape[1]
        x = self.embed(tokens)
        for block in self.layers:
            h = x + block.attn(block.attn_norm(x), self.cos[:s], self.sin[:s], causal=False)
            x = h + block.ffn(block.ffn_norm(h))
        return self.lm_head(self.norm(x))


@mistake("TinyLM", "rope_base is not passed to rope_cos_sin (its default base 1e6 is used instead of 1e4)")
class TinyLMIgnoresRopeBase(RefTinyLM):
    def __init__(self, vocab_size, dim, n_layers, n_heads, n_kv_heads=None, max_len=256, rope_base=10000.0):
        super().__init__(vocab_size, dim, n_layers, n_heads, n_kv_heads, max_len, 1e6)


@mistake("TinyLM", "forward runs under torch.no_grad (copied from generate): the model cannot be trained")
class TinyLMForwardNoGrad(RefTinyLM):
    @torch.no_grad()
    def forward(self, tokens, cache=None):
        return super().forward(tokens, cache)


@mistake("TinyLM", "generate raises at exactly max_len (>= instead of >): a sequence may fill every position")
class TinyLMOffByOneMaxLen(RefTinyLM):
    def generate(self, tokens, max_new_tokens, *args, **kwargs):
        if tokens.shape[1] + max_new_tokens >= self.max_len:
            raise ValueError("too long")
        return super().generate(tokens, max_new_tokens, *args, **kwargs)


@mistake("TinyLM", "generate ignores top_k (the sampler gets top_k=None)")
class TinyLMIgnoresTopK(RefTinyLM):
    def generate(self, tokens, max_new_tokens, temperature=1.0, top_k=None, use_cache=True, generator=None):
        return super().generate(tokens, max_new_tokens, temperature, None, use_cache, generator)


@mistake("TinyLM", "with a cache, the RoPE rows are cos[start:start + 1] (decoding assumed to feed one token): a "
                   "chunk of several tokens after the prefill rotates them all with the first one's angle")
class TinyLMOneRopeRowAfterPrefill(RefTinyLM):
    def forward(self, tokens, cache=None):
        start = cache.length if cache is not None else 0
        if start == 0:
            return super().forward(tokens, cache)
        if start + tokens.shape[1] > self.max_len:
            raise ValueError("too long")
        cos, sin = self.cos[start:start + 1], self.sin[start:start + 1]  # one row, broadcast over the chunk
        x = self.embed(tokens)
        for i, block in enumerate(self.layers):
            h = x + ref_cached_attention(block.attn, block.attn_norm(x), cos, sin, cache, i)
            x = h + block.ffn(block.ffn_norm(h))
        return self.lm_head(self.norm(x))


@mistake("TinyLM", "generate does not pass the generator on to sample_next_token: a seeded generator does not make "
                   "the generated tokens reproducible")
class TinyLMGenerateDropsGenerator(RefTinyLM):
    def generate(self, tokens, max_new_tokens, temperature=1.0, top_k=None, use_cache=True, generator=None):
        return super().generate(tokens, max_new_tokens, temperature, top_k, use_cache, None)


def _generate_with(model, tokens, max_new_tokens, use_cache, pick):
    """The reference generate loop, each new token chosen by pick(last logits)."""
    if tokens.shape[1] + max_new_tokens > model.max_len:
        raise ValueError("too long")
    cache = RefKVCache() if use_cache else None
    out = tokens
    logits = model(tokens, cache)[:, -1]
    for step in range(max_new_tokens):
        nxt = pick(logits)
        out = torch.cat([out, nxt[:, None]], dim=1)
        if step + 1 < max_new_tokens:
            logits = (model(nxt[:, None], cache) if use_cache else model(out))[:, -1]
    return out


@mistake("TinyLM", "generate divides the logits by the temperature and then passes the temperature to "
                   "sample_next_token too: it is applied twice (temperature 2 acts as 4)")
class TinyLMTemperatureTwice(RefTinyLM):
    @torch.no_grad()
    def generate(self, tokens, max_new_tokens, temperature=1.0, top_k=None, use_cache=True, generator=None):
        def pick(logits):
            scaled = logits / temperature if temperature else logits
            return ref_sample(scaled, temperature, top_k, generator)
        return _generate_with(self, tokens, max_new_tokens, use_cache, pick)


@mistake("TinyLM", "generate takes the argmax itself for temperature 0 and otherwise calls sample_next_token "
                   "without the temperature: every non-zero temperature acts as 1")
class TinyLMIgnoresTemperature(RefTinyLM):
    @torch.no_grad()
    def generate(self, tokens, max_new_tokens, temperature=1.0, top_k=None, use_cache=True, generator=None):
        def pick(logits):
            if temperature == 0:
                return logits.argmax(-1)
            return ref_sample(logits, top_k=top_k, generator=generator)
        return _generate_with(self, tokens, max_new_tokens, use_cache, pick)


@mistake("TinyLM", "the tie is made from the head's side (self.embed.weight = self.lm_head.weight): the shared "
                   "matrix keeps nn.Linear's init (std ~1/sqrt(3 dim)) and the N(0, 0.02) init is lost")
class TinyLMTiedFromHead(RefTinyLM):
    def __init__(self, vocab_size, dim, *args, **kwargs):
        super().__init__(vocab_size, dim, *args, **kwargs)
        self.lm_head = torch.nn.Linear(dim, vocab_size, bias=False)
        self.embed.weight = self.lm_head.weight


@mistake("TinyLM", "forward keeps only the last max_len tokens (tokens[:, -max_len:]) instead of raising "
                   "ValueError: a too long input silently gets fewer logits than it has positions")
class TinyLMForwardCrops(RefTinyLM):
    def forward(self, tokens, cache=None):
        return super().forward(tokens[:, -self.max_len:], cache)


@mistake("TinyLM", "the logits are cast to float32 (.float(), for a stable cross-entropy): a float64 model "
                   "(model.double()) gives float32 logits")
class TinyLMLogitsFloat32(RefTinyLM):
    def forward(self, tokens, cache=None):
        return super().forward(tokens, cache).float()
