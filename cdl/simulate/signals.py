"""Simulated signals with a known rank-1 convolutional dictionary.

:func:`simulate_data` draws generic multichannel signals ``X = sum_k u_k v_k^T
* z_k + noise`` with well separated waveforms, for tests and benchmarks, and
returns the ground truth (``u``, ``v``, ``z``), so that a learned dictionary can
be compared to it. The realistic EEG recording of the demo is in
:mod:`cdl.simulate.eeg`.
"""
import numpy as np

from cdl.utils.validation import check_int, check_random_state, check_scalar


def _check_rng(random_state):
    """RandomState from ``random_state``; None gives a fresh unseeded generator.

    Unlike :func:`cdl.utils.validation.check_random_state`, ``None`` never returns (nor
    consumes) the global ``np.random`` state.
    """
    if random_state is None:
        return np.random.RandomState()
    return check_random_state(random_state)


def _sample_onsets(rng, n_times_valid, n_events, min_sep):
    """Draw ``n_events`` sorted onsets in ``[0, n_times_valid)``, >= ``min_sep`` apart.

    Onsets ``p_i`` with gaps ``>= min_sep`` are in bijection with distinct sorted
    ``q_i = p_i - i * (min_sep - 1)`` in ``[0, span)``, which are drawn uniformly.
    """
    span = n_times_valid - (n_events - 1) * (min_sep - 1)
    if n_events == 0:
        return np.zeros(0, dtype=int)
    q = np.sort(rng.choice(span, size=n_events, replace=False))
    return q + np.arange(n_events) * (min_sep - 1)


def _max_events(n_times_valid, min_sep):
    """Largest number of onsets that fit in ``n_times_valid`` samples."""
    return (n_times_valid - 1) // min_sep + 1


def _make_waveforms(n_atoms, n_times_atom, rng):
    """Smooth unit-norm waveforms of shape (n_atoms, n_times_atom), well separated.

    A sine arch, a biphasic wave, a smoothed square wave, a windowed chirp, then
    Hann-windowed sines of 5, 7, 9, ... cycles and, once these get close to the
    Nyquist frequency, windowed smoothed noise. For ``n_times_atom >= 32`` the
    first five have pairwise max absolute normalized cross-correlation < 0.6.
    """
    t = (np.arange(n_times_atom) + 0.5) / n_times_atom
    arch = np.sin(np.pi * t)
    hann = arch ** 2
    shapes = [arch, np.sin(2 * np.pi * t) * arch,
              np.tanh(4 * np.sin(4 * np.pi * t)) * arch,
              np.sin(2 * np.pi * (t + 2.5 * t ** 2)) * hann]
    for j in range(len(shapes), n_atoms):
        n_cycles = 5 + 2 * (j - 4)
        if n_cycles < n_times_atom / 3:
            shapes.append(np.sin(2 * np.pi * n_cycles * t + j) * hann)
        else:
            kernel = np.hanning(max(3, n_times_atom // 8))
            noise = rng.randn(n_times_atom + len(kernel) - 1)
            shapes.append(np.convolve(noise, kernel, mode="valid") * hann)
    v = np.array(shapes[:n_atoms], dtype=float)
    flat = np.linalg.norm(v, axis=1) < 1e-6  # only for very short atoms
    v[flat] = rng.randn(flat.sum(), n_times_atom)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def simulate_data(n_trials=2, n_channels=5, n_times=1000, n_atoms=3,
                  n_times_atom=32, density=0.01, n_events=None, noise_level=0.1,
                  random_state=None):
    """Simulate multichannel signals from a known rank-1 convolutional dictionary.

    The model is ``X[n] = sum_k outer(u_k, conv_full(z[n, k], v_k)) + noise``. The
    spatial patterns ``u_k`` are random unit vectors. The waveforms ``v_k`` are
    smooth, unit norm and well separated at every lag: a sine arch, a biphasic
    wave, a smoothed square wave, a windowed chirp, then Hann-windowed sines of
    5, 7, 9, ... cycles (then windowed smoothed noise). In each
    trial every atom occurs at sorted random onsets at least ``n_times_atom``
    samples apart (occurrences of one atom never overlap), with amplitudes drawn
    uniformly in [1, 2]. The noise is white Gaussian with standard deviation
    ``noise_level`` times the standard deviation of the noiseless signal.

    Parameters
    ----------
    n_trials : int
        Number of trials.
    n_channels : int
        Number of channels.
    n_times : int
        Number of samples per trial.
    n_atoms : int
        Number of atoms.
    n_times_atom : int
        Number of samples of each atom; at most ``n_times``.
    density : float
        Fraction of non-zero activations per atom and trial, ``> 0``; the number of
        events per atom and trial is ``max(1, round(density * n_times_valid))``.
    n_events : int | None
        Number of events per atom and trial; overrides ``density`` when given.
    noise_level : float
        Noise standard deviation relative to the signal standard deviation, ``>= 0``.
    random_state : int | RandomState | None
        Seed or generator; the global ``np.random`` state is never used.

    Returns
    -------
    X : ndarray of shape (n_trials, n_channels, n_times)
        Simulated signals.
    u : ndarray of shape (n_atoms, n_channels)
        Spatial patterns, unit norm. ``uv = np.hstack([u, v])``.
    v : ndarray of shape (n_atoms, n_times_atom)
        Waveforms, unit norm.
    z : ndarray of shape (n_trials, n_atoms, n_times - n_times_atom + 1)
        Non-negative sparse activations.
    """
    n_trials = check_int("n_trials", n_trials, 1)
    n_channels = check_int("n_channels", n_channels, 1)
    n_times = check_int("n_times", n_times, 1)
    n_atoms = check_int("n_atoms", n_atoms, 1)
    n_times_atom = check_int("n_times_atom", n_times_atom, 1)
    if n_times_atom > n_times:
        raise ValueError(f"n_times_atom must be <= n_times={n_times}, "
                         f"got {n_times_atom}.")
    noise_level = check_scalar("noise_level", noise_level, 0)
    n_times_valid = n_times - n_times_atom + 1
    max_events = _max_events(n_times_valid, n_times_atom)
    if n_events is None:
        density = check_scalar("density", density, 0, strict=True)
        n_events = max(1, int(round(density * n_times_valid)))
        if n_events > max_events:
            raise ValueError(
                f"density={density} is too high: at most {max_events} events of "
                f"{n_times_atom} samples fit without overlap in {n_times_valid} "
                f"samples, i.e. density <= {max_events / n_times_valid:.4g}.")
    else:
        n_events = check_int("n_events", n_events, 1)
        if n_events > max_events:
            raise ValueError(
                f"n_events={n_events} is too high: at most {max_events} events of "
                f"{n_times_atom} samples fit without overlap in {n_times_valid} "
                f"samples.")
    rng = _check_rng(random_state)

    u = rng.randn(n_atoms, n_channels)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = _make_waveforms(n_atoms, n_times_atom, rng)
    z = np.zeros((n_trials, n_atoms, n_times_valid))
    for n in range(n_trials):
        for k in range(n_atoms):
            onsets = _sample_onsets(rng, n_times_valid, n_events, n_times_atom)
            z[n, k, onsets] = rng.uniform(1, 2, size=n_events)

    X = np.zeros((n_trials, n_channels, n_times))
    for n in range(n_trials):
        for k in range(n_atoms):
            X[n] += np.outer(u[k], np.convolve(z[n, k], v[k]))
    X += noise_level * X.std() * rng.randn(*X.shape)
    return X, u, v, z
