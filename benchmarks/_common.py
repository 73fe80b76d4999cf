"""Problems shared by the benchmarks: simulated and real EEG signals."""
import os
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
EEGBCI = Path(os.environ.get("CDL_DATA_EEGBCI", REPO.parent / "shared" / "data"
                             / "eegbci"))


def simulated_signal(n_channels=64, n_times=20000, n_atoms=8, n_times_atom=64,
                     random_state=0):
    """Simulated rank-1 CSC signal of one trial, shape (1, n_channels, n_times).

    Scaled to unit std, so that a z-step ``tol`` means the same for every
    library (alphacsc scales its tol by the std of the signal).
    """
    from cdl.simulate import simulate_data
    X, _, _, _ = simulate_data(n_trials=1, n_channels=n_channels, n_times=n_times,
                               n_atoms=n_atoms, n_times_atom=n_times_atom,
                               density=0.005, noise_level=0.3,
                               random_state=random_state)
    return X / X.std()


def eegbci_signal(run=3, l_freq=2., h_freq=45.):
    """S001R0<run>.edf band-passed and scaled to unit std, or None if absent."""
    fname = EEGBCI / f"S001R{run:02d}.edf"
    if not fname.exists():
        return None
    import mne
    raw = mne.io.read_raw_edf(fname, preload=True, verbose=False)
    raw.filter(l_freq, h_freq, verbose=False)
    X = raw.get_data()[None]
    return X / X.std()


def windows_dictionary(X, n_atoms, n_times_atom, random_state=0):
    """Rank-1 dictionary from fixed signal windows (the same for every library)."""
    rng = np.random.RandomState(random_state)
    starts = rng.choice(X.shape[2] - n_times_atom, n_atoms, replace=False)
    uv = []
    for start in sorted(starts):
        window = X[0, :, start:start + n_times_atom]
        U, s, Vt = np.linalg.svd(window, full_matrices=False)
        u, v = U[:, 0], s[0] * Vt[0]
        uv.append(np.concatenate([u, v / np.linalg.norm(v)]))
    return np.array(uv)


def best_time(func, n_repeat=3, cpu=False):
    """Best wall time of ``n_repeat`` calls and the last result.

    With ``cpu``: ``(best wall time, best CPU time of this process, result)``.
    """
    times, cpu_times = [], []
    for _ in range(n_repeat):
        t_start, c_start = time.perf_counter(), time.process_time()
        result = func()
        times.append(time.perf_counter() - t_start)
        cpu_times.append(time.process_time() - c_start)
    if cpu:
        return min(times), min(cpu_times), result
    return min(times), result


def print_table(title, header, rows):
    """Print rows (lists of str) under a header, aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = "  ".join(f"{h:>{w}}" for h, w in zip(header, widths))
    print(f"\n{title}\n{line}\n{'-' * len(line)}")
    for row in rows:
        print("  ".join(f"{c:>{w}}" for c, w in zip(row, widths)))
