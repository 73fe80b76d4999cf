"""Dictionary learning on images with the one learning loop of ``cdl``.

:func:`cdl.learn.learn_dictionary` computes the data fit from the sufficient
statistics with the 1-D formulas of :mod:`cdl.model.objective`. Images fit those
formulas exactly once every (atom, pixel) pair is seen as an atom of one
sample: with ``P = h * w`` pixels per atom, the *packed* dictionary has
``n_atoms * P`` rows, ``ztX`` is reshaped alike, and ``ztz`` becomes the Gram
matrix ``G[(k, p), (l, q)] = ztz[k, l, p - q]`` (lag ``p - q`` in 2-D, which
the 1-D formulas with one-sample atoms read as a plain matrix). The
:class:`PackedImageEncoder` presents a :class:`DistributedEncoder` on images
that way, and :func:`update_packed` is the matching d-step (projected
gradient, each atom in the unit ball).
"""
import numpy as np

from cdl.learn import Encoder
from cdl.utils.validation import check_random_state


def pack(D):
    """(n_atoms, n_channels, h, w) -> (n_atoms * h * w, n_channels, 1)."""
    n_atoms, n_channels = D.shape[:2]
    return np.ascontiguousarray(
        D.reshape(n_atoms, n_channels, -1).transpose(0, 2, 1).reshape(
            -1, n_channels, 1))


def unpack(D_packed, atom_shape):
    """Inverse of :func:`pack`."""
    n_pixels = atom_shape[0] * atom_shape[1]
    n_channels = D_packed.shape[1]
    return np.ascontiguousarray(
        D_packed[:, :, 0].reshape(-1, n_pixels, n_channels).transpose(0, 2, 1)
        .reshape((-1, n_channels) + tuple(atom_shape)))


def pack_stats(ztz, ztX):
    """2-D ``ztz`` (K, K, 2h-1, 2w-1) and ``ztX`` (K, C, h, w) in packed form.

    Returns
    -------
    gram : ndarray of shape (K * h * w, K * h * w, 1)
    ztX_packed : ndarray of shape (K * h * w, C, 1)
    """
    n_atoms, n_channels, a_h, a_w = ztX.shape
    ph, pw = np.divmod(np.arange(a_h * a_w), a_w)
    dh = ph[:, None] - ph[None, :] + a_h - 1
    dw = pw[:, None] - pw[None, :] + a_w - 1
    gram = ztz[:, :, dh, dw]                      # (K, K, P, P)
    gram = gram.transpose(0, 2, 1, 3).reshape(n_atoms * a_h * a_w, -1)
    return np.ascontiguousarray(gram[:, :, None]), pack(ztX)


def update_packed(D_packed, gram, ztX_packed, n_pixels, max_iter=300, tol=1e-8):
    """d-step on packed image atoms: FISTA, each atom in the unit ball.

    Minimises ``0.5 <D, G D> - <D, ztX>`` over atoms ``||D_k||_F <= 1`` (an
    atom is ``n_pixels`` consecutive rows of the packed dictionary).
    """
    G = gram[:, :, 0]
    B = ztX_packed[:, :, 0]
    lipschitz = float(np.linalg.eigvalsh(G)[-1]) if G.any() else 0.
    x = _project(D_packed[:, :, 0], n_pixels)
    if lipschitz <= 0:
        return x[:, :, None]
    y, momentum = x.copy(), 1.
    for _ in range(max_iter):
        x_new = _project(y - (G @ y - B) / lipschitz, n_pixels)
        momentum_new = (1 + np.sqrt(1 + 4 * momentum ** 2)) / 2
        step = x_new - x
        y = x_new + (momentum - 1) / momentum_new * step
        if np.sum(step * (y - x_new)) > 0:  # restart when not descending
            y, momentum_new = x_new.copy(), 1.
        x, momentum = x_new, momentum_new
        if np.linalg.norm(step) <= tol * max(np.linalg.norm(x), 1e-300):
            break
    return x[:, :, None]


def _project(x, n_pixels):
    atoms = x.reshape(-1, n_pixels * x.shape[1])
    norms = np.linalg.norm(atoms, axis=1, keepdims=True)
    return (atoms / np.maximum(norms, 1.)).reshape(x.shape)


def init_image_atoms(X, n_atoms, atom_shape, random_state=None):
    """Draw initial image atoms from random patches of the images.

    Each atom is a patch of a random image at a random position, with the
    mean of each channel removed, scaled to unit norm.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, H, W)
        The images.
    n_atoms : int
        Number of atoms.
    atom_shape : tuple of int
        ``(h, w)``, the shape of each atom.
    random_state : int | RandomState | None
        Seed of the patches' choice.

    Returns
    -------
    D : ndarray of shape (n_atoms, n_channels, h, w)
        The atoms, of unit Frobenius norm (a constant patch stays zero).
    """
    rng = check_random_state(random_state)
    a_h, a_w = atom_shape
    n, h, w = (rng.randint(X.shape[0], size=n_atoms),
               rng.randint(X.shape[2] - a_h + 1, size=n_atoms),
               rng.randint(X.shape[3] - a_w + 1, size=n_atoms))
    D = np.array([X[i, :, r:r + a_h, c:c + a_w] for i, r, c in zip(n, h, w)])
    D = D - D.mean(axis=(2, 3), keepdims=True)
    norms = np.linalg.norm(D.reshape(n_atoms, -1), axis=1)
    return D / np.where(norms > 0, norms, 1.)[:, None, None, None]


class PackedImageEncoder(Encoder):
    """A :class:`dicod.DistributedEncoder` on images, seen with packed atoms.

    Parameters
    ----------
    encoder : DistributedEncoder
        Encoder over images (2-D atoms of shape ``atom_shape``).
    atom_shape : tuple of int
    """

    def __init__(self, encoder, atom_shape):
        self.encoder = encoder
        self.atom_shape = tuple(atom_shape)
        self.n_pixels = atom_shape[0] * atom_shape[1]
        self.X = encoder.X
        self.n_channels = encoder.n_channels
        self.n_times_atom = 1
        self.XtX = encoder.XtX
        self.D = None

    def __enter__(self):
        self.encoder.__enter__()
        return self

    def __exit__(self, *exc):
        return self.encoder.__exit__(*exc)

    @property
    def n_atoms(self):
        return self.encoder.n_atoms * self.n_pixels

    @property
    def reg(self):
        return np.repeat(self.encoder.reg, self.n_pixels)

    @property
    def z(self):
        return self.encoder.z

    def track(self, cost=False, lambda_max=False, usage=False):
        if usage:
            _no_revival()
        super().track(cost=cost, lambda_max=lambda_max)
        self.encoder.track(cost=cost, lambda_max=lambda_max)

    def set_D(self, D_packed):
        self.D = np.ascontiguousarray(D_packed)
        self.encoder.set_D(unpack(self.D, self.atom_shape))

    def set_reg(self, reg):
        self.encoder.set_reg(np.asarray(reg, dtype=float)[::self.n_pixels])

    def lambda_max(self, per_atom=False):
        values = self.encoder.lambda_max(per_atom=per_atom)
        return np.repeat(values, self.n_pixels) if per_atom else values

    def compute_z(self, trials=None):
        return self.encoder.compute_z(trials)

    def get_sufficient_statistics(self, trials=None):
        return pack_stats(*self.encoder.get_sufficient_statistics(trials))

    def get_l1(self, trials=None):
        return self.encoder.get_l1(trials)

    def get_cost(self):
        return self.encoder.get_cost()

    def get_z_hat(self):
        return self.encoder.get_z_hat()

    def set_z(self, z):
        """Replace the activations, shape (n_trials, n_atoms, height, width)."""
        self.encoder.set_z(z)

    def add_atom(self):
        raise TypeError("Atoms are not added one by one on images: greedy "
                        "learning takes 1-D signals.")

    def residual_window(self, n_times_atom):
        raise TypeError("Atoms are not added one by one on images: greedy "
                        "learning takes 1-D signals.")

    def atom_usage(self):
        _no_revival()

    def atom_activations(self, atoms):
        _no_revival()

    def atom_clusters(self):
        _no_revival()

    def reset_atom(self, atom):
        _no_revival()

    def shift_activations(self, atom, shift):
        _no_revival()


def _no_revival():
    raise TypeError("Atom revival takes 1-D signals: it does not run on images.")
