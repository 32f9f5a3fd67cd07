"""
Scoring your own samples
========================

Samples made anywhere (here PNG files written from a PCA model's samples, standing in for a model
trained elsewhere) measured under digits' protocol with ``genbench score``: the same extractor, n,
reference split and seed a ``genbench run`` uses, with the real-data reference beside them.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from PIL import Image

import genbench
from genbench.cli import main

work = Path(tempfile.mkdtemp())
data = genbench.load_dataset("digits")
samples = genbench.make_model("pca").fit(data.train).sample(359, generator=torch.Generator().manual_seed(0))
folder = work / "my-samples"
folder.mkdir()
for i, image in enumerate(samples[:, 0].numpy()):
    Image.fromarray(np.round(image * 255).astype(np.uint8)).save(folder / f"{i:04d}.png")

code = main(["score", str(folder), "--dataset", "digits", "--metrics", "fidelity", "--out", str(work / "scored"),
             "--threads", "1", "--quiet"])
assert code == 0, f"genbench score exited {code}"

# %%
# The scored folder is a column beside the real-data reference, in the run's metrics.csv and tables.

records = pd.read_csv(work / "scored" / "metrics.csv")
scores = records[records.metric.isin(["fid", "kid", "precision", "recall", "density", "coverage"])]
wide = scores.pivot_table(index="metric", columns="model", values="value", sort=False)
print(wide.round(3))

fig, ax = plt.subplots(figsize=(6, 3))
wide.loc[["precision", "recall", "density", "coverage"]].plot.bar(ax=ax, rot=0)
ax.set(ylabel="value", title="my-samples beside real data (domain features, n = 359)")
fig.tight_layout()
