"""The `hubel` command: train, evaluate, predict, summary, datasets."""
