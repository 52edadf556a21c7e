"""Position encoding experiments: order blindness, learning an order task, the frequencies, length extrapolation."""
