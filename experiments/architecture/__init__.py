"""Architecture experiments: why blocks need residual connections and where the norm goes."""
