"""
DiCoDiLe on an image: 2-D atoms learned by a grid of workers
============================================================

An image (a generated texture of oriented patterns, or SciPy's ``face`` when
it is on disk) is cut into a 2 x 2 grid; each of 4 DICOD workers updates the
activations of its quarter, with soft locks at the borders and corners. The
learning loop is the one of ``cdl`` (:func:`cdl.learn.learn_dictionary`);
:func:`dicod.dicodile` runs it with 2-D atoms.
"""
# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import dicod
from cdl._kernels.conv2d import reconstruct_2d


def texture(size=160, n_patterns=5, atom=8, density=4e-3, seed=0):
    """Image made of a few oriented patterns at random places, plus noise."""
    rng = np.random.RandomState(seed)
    grid = np.linspace(-1, 1, atom)
    patterns = np.array([
        np.outer(np.hanning(atom), np.hanning(atom))
        * np.cos(3 * np.add.outer(grid * np.cos(a), grid * np.sin(a)))
        for a in np.linspace(0, np.pi, n_patterns, endpoint=False)])[:, None]
    valid = size - atom + 1
    z = (rng.rand(n_patterns, valid, valid) < density) * rng.rand(
        n_patterns, valid, valid)
    image = reconstruct_2d(z, patterns)
    return image + 0.05 * image.std() * rng.randn(*image.shape)  # (1, H, W)


def cached_face():
    """SciPy's ``face`` image, only if it is already on disk (no download)."""
    try:
        import pooch
        from scipy import datasets
    except ImportError:
        return None
    if not os.path.exists(os.path.join(pooch.os_cache("scipy-data"), "face.dat")):
        return None
    image = datasets.face(gray=True)[::4, ::4].astype(float)
    return ((image - image.mean()) / image.std())[None]


X = cached_face()
if X is None:
    X = texture()

n_atoms, atom_shape = 5, (8, 8)
D_init = dicod.init_image_atoms(X[None], n_atoms, atom_shape, random_state=0)
D_hat, z_hat, result = dicod.dicodile(X, D_init, reg=0.1, n_workers=4, n_iter=10,
                                      solver_z_kwargs=dict(tol=1e-3))
print(f"{result['n_iter']} iterations, objective {result['pobj'][0]:.1f} -> "
      f"{result['pobj'][-1]:.1f}")

fig, axes = plt.subplots(2, n_atoms, figsize=(2 * n_atoms, 4))
for k in range(n_atoms):
    for row, D in enumerate((D_init, D_hat)):
        axes[row, k].imshow(D[k, 0], cmap="gray")
        axes[row, k].set_axis_off()
    axes[0, k].set_title(f"atom {k}")
axes[0, 0].text(-3, 5, "start", rotation=90, va="center", ha="right")
axes[1, 0].text(-3, 5, "learned", rotation=90, va="center", ha="right")
fig.tight_layout()

fig, axes = plt.subplots(1, 2, figsize=(8, 4))
axes[0].imshow(X[0], cmap="gray")
axes[0].set_title("image")
axes[1].imshow(reconstruct_2d(z_hat[0], D_hat)[0], cmap="gray")
axes[1].set_title("reconstruction from the learned atoms")
for ax in axes:
    ax.set_axis_off()
plt.show()
