"""
A sweep across datasets, read with pandas
=========================================

``--dataset digits,rings`` runs every model on each dataset into one folder, with every record in one
``metrics.csv`` in long form (model, dataset, seed, metric, value, stderr, …). pandas reads it as it is.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from genbench.cli import main

out = Path(tempfile.mkdtemp()) / "sweep"
code = main(["run", "--dataset", "digits,rings", "--models", "naive-bayes,pca,vae", "--budget", "smoke",
             "--seeds", "0,1", "--metrics", "log-likelihood:k=20,fidelity", "--threads", "1", "--quiet",
             "--out", str(out)])
assert code == 0, f"genbench run exited {code}"

records = pd.read_csv(out / "metrics.csv")
print(records.columns.tolist())

# %%
# The test log-likelihood of each model on each dataset, mean and standard error over the two seeds.
# Figures compare only within a dataset: digits is measured as probability mass, rings as a density.

ll = records[(records.metric == "log_likelihood") & (records.status == "ok")]
table = ll.groupby(["dataset", "model"], sort=False).value.agg(["mean", "sem"])
print(table.round(2))

fig, axes = plt.subplots(1, 2, figsize=(8, 3))
for ax, (dataset, rows) in zip(axes, table.groupby(level="dataset", sort=False)):
    rows = rows.droplevel("dataset")
    ax.bar(rows.index, rows["mean"], yerr=rows["sem"])
    ax.set(title=dataset, ylabel="test log-likelihood (nats)")
fig.tight_layout()
