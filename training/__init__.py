"""Training for the built-in classifiers: data recipes over ../shared/data, the trainer, model cards, `guardgate train`."""
