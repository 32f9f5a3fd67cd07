"""
A model's samples and interpolations
====================================

A VAE trained for a few epochs on digits through the Python API: 64 samples, and the decoder's
means along straight lines between the codes of test digits, the paths the ``latent-smoothness``
metric measures.
"""

import matplotlib.pyplot as plt
import torch

import genbench

torch.set_num_threads(1)
data = genbench.load_dataset("digits")
model = genbench.make_model("vae", epochs=30).fit(data.train, data.val, generator=torch.Generator().manual_seed(0))

# %%
# Samples have the data's shape (N, 1, 8, 8) and values on its 17-level grid.

x = model.sample(64, generator=torch.Generator().manual_seed(1))
grid = x.reshape(8, 8, 8, 8).permute(0, 2, 1, 3).reshape(64, 64)
fig, ax = plt.subplots(figsize=(4, 4))
ax.imshow(grid, cmap="gray_r")
ax.set_title(f"{model.name}: 64 samples")
ax.set_axis_off()

# %%
# Decoded straight lines: each row starts at one test digit's code and ends at another's.

test = data.test.x[:10]
z = model.encode(test)
steps = torch.linspace(0, 1, 10)
pairs = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
rows = [model.decode(z[a] + steps[:, None] * (z[b] - z[a])) for a, b in pairs]
frames = torch.stack(rows).squeeze(2)  # (pairs, steps, 8, 8)
fig, axes = plt.subplots(len(pairs), len(steps), figsize=(6, 3.2))
for (i, j), ax in zip([(i, j) for i in range(len(pairs)) for j in range(len(steps))], axes.flat):
    ax.imshow(frames[i, j].detach(), cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
fig.suptitle("decoded straight lines between test codes")
