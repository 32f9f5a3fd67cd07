"""
The comparison table on digits
==============================

Four models on scikit-learn's 8×8 digits, measured on the table's rows, and the table drawn as
genbench draws it (``figures/table.png`` of the run directory). This is ``genbench run`` with a few
models, a few epochs and the cheaper metric options, as the command line runs it.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from genbench.cli import main

out = Path(tempfile.mkdtemp()) / "digits"
code = main([
    "run", "--models", "naive-bayes,pca,vae,gan", "--epochs", "20", "--threads", "1", "--quiet",
    "--metrics", "log-likelihood:k=50,fidelity,sampling-speed:batch_sizes=256,latent-smoothness",
    "--out", str(out),
])
assert code == 0, f"genbench run exited {code}"

# %%
# The run directory holds the table in several forms. ``figures/table.png`` colours each cell by its
# mark (✓ ✗ ?) and writes the figure behind it; the rules that give the marks are printed under
# ``table.md``.

image = plt.imread(out / "figures" / "table.png")
fig, ax = plt.subplots(figsize=(10, 10 * image.shape[0] / image.shape[1]))
ax.imshow(image)
ax.set_axis_off()
fig.tight_layout()

# %%
# Every figure of the table is a row of ``metrics.csv``, with its uncertainty, unit, extractor and n.

records = pd.read_csv(out / "metrics.csv")
headline = records[records.metric.isin(["fid", "coverage", "log_likelihood"])]
print(headline.pivot_table(index="metric", columns="model", values="value", sort=False).round(3))
