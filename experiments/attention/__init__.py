"""Attention experiments: what heads look at, one head vs several, GQA/MQA costs, the causal mask, why 1/sqrt(d)."""
