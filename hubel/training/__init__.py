"""Training: the Trainer behind fit/evaluate/predict, and the callbacks."""
