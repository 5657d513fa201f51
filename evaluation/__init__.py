"""`guardgate eval`: measures a policy on labelled data sets, beside baselines.

Public pieces: `evaluation.datasets.load_dataset` (every loader behind one name),
`evaluation.metrics` (span and classification metrics, sweeps, percentiles),
`evaluation.cn_synth` (a labelled mainland-China PII generator) and
`evaluation.cli.eval_command` (the click command).
"""
