"""
The quality–steps trade-off of the diffusion model
==================================================

The diffusion model samples by DDIM in S steps, each one U-Net pass. The ``sampling-steps`` metric
samples at several S, times each and computes its FID in the fidelity metric's feature space. Here
the model trains for a few epochs only, so its FIDs are far above a default-budget run's
(the explanation of efficiency quotes those); the shape of the trade-off is what to look at.
"""

import matplotlib.pyplot as plt
import torch

import genbench
from genbench import catalog

torch.set_num_threads(1)
data = genbench.load_dataset("digits")
model = genbench.make_model("diffusion", epochs=15).fit(data.train, data.val,
                                                         generator=torch.Generator().manual_seed(0))
steps = catalog.METRICS.get("sampling-steps")(steps=(5, 10, 20, 50))
records = genbench.evaluate(model, data, metrics=[steps])
print(records[["metric", "value", "stderr", "unit"]].to_string(index=False))

# %%
# FID falls with the number of steps while samples per second fall as 1/S.

records["S"] = records.metric.str.extract(r"\[steps=(\d+)\]", expand=False).astype(int)
fid = records[records.metric.str.startswith("steps_fid[")]
speed = records[records.metric.str.startswith("steps_samples_per_second[")]
fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
left.errorbar(fid.S, fid.value, yerr=fid.stderr, marker="o")
left.set(xscale="log", xlabel="DDIM steps S", ylabel="FID (domain features)", title="quality")
right.plot(speed.S, speed.value, marker="o")
right.set(xscale="log", yscale="log", xlabel="DDIM steps S", ylabel="samples/s", title="speed")
fig.tight_layout()
