"""Slow, obviously correct numpy versions of the compiled kernels."""
import numpy as np


def full_rank(uv, n_channels):
    return uv[:, :n_channels, None] * uv[:, None, n_channels:]


def correlate_valid(X, D):
    """(D_k corr X)(t) = sum_{c, j} X[c, t + j] D[k, c, j], with np.correlate."""
    return np.array([sum(np.correlate(X[c], D_k[c], mode="valid")
                         for c in range(X.shape[0])) for D_k in D])


def reconstruct(z, D):
    """X_hat[n, c] = sum_k np.convolve(z[n, k], D[k, c])."""
    n_trials, n_atoms, n_times_valid = z.shape
    _, n_channels, n_times_atom = D.shape
    X_hat = np.zeros((n_trials, n_channels, n_times_valid + n_times_atom - 1))
    for n in range(n_trials):
        for k in range(n_atoms):
            for c in range(n_channels):
                X_hat[n, c] += np.convolve(z[n, k], D[k, c])
    return X_hat


def DtD(D):
    n_atoms, n_channels, n_times_atom = D.shape
    out = np.zeros((n_atoms, n_atoms, 2 * n_times_atom - 1))
    for k in range(n_atoms):
        for l in range(n_atoms):
            for c in range(n_channels):
                # np.correlate(a, b, 'full')[d + L - 1] = sum_j a[j + d] b[j]
                out[k, l] += np.correlate(D[l, c], D[k, c], mode="full")
    return out


def ztz(z, n_times_atom):
    n_trials, n_atoms, n_times_valid = z.shape
    out = np.zeros((n_atoms, n_atoms, 2 * n_times_atom - 1))
    for n in range(n_trials):
        padded = np.pad(z[n], ((0, 0), (n_times_atom - 1, n_times_atom - 1)))
        for k in range(n_atoms):
            for l in range(n_atoms):
                for d in range(-n_times_atom + 1, n_times_atom):
                    out[k, l, d + n_times_atom - 1] += np.dot(
                        z[n, k], padded[l, n_times_atom - 1 + d:
                                        n_times_atom - 1 + d + n_times_valid])
    return out


def ztX(z, X):
    n_times_atom = X.shape[2] - z.shape[2] + 1
    out = np.zeros((z.shape[1], X.shape[1], n_times_atom))
    for n in range(z.shape[0]):
        for k in range(z.shape[1]):
            for c in range(X.shape[1]):
                out[k, c] = out[k, c] + np.correlate(X[n, c], z[n, k], mode="valid")
    return out


def objective(X, z, D, reg):
    residual = X - reconstruct(z, D)
    return 0.5 * np.sum(residual ** 2) + reg * np.abs(z).sum()


def soft_threshold(x, threshold, positive):
    out = np.sign(x) * np.maximum(np.abs(x) - threshold, 0)
    return np.maximum(out, 0) if positive else out
