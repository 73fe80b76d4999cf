"""BatchCDL: dictionary learning on all trials at each iteration."""
from .base import _BaseCDL


class BatchCDL(_BaseCDL):
    """Convolutional dictionary learning on all trials at each iteration.

    Parameters
    ----------
    n_atoms : int
        Number of atoms.
    n_times_atom : int
        Atom length in samples.
    reg : float
        Regularisation: a fraction of lambda_max unless ``lmbd_max='fixed'``.
    n_iter : int
        Maximum number of alternating iterations.
    n_jobs : int
        Processes over trials for the z-step.
    solver_z : 'lgcd' | 'gcd' | 'fista' | 'l-bfgs' | 'dicod'
        z-step solver; 'dicod' distributes LGCD over ``n_workers`` MPI
        workers that keep their piece of the signal (DiCoDiLe, see
        :mod:`dicod`), for long recordings.
    solver_z_kwargs : dict | None
        ``tol`` (default 1e-3), ``max_iter`` (default 1000) and solver
        options (``seg_len``; for 'dicod' ``strategy``, ``soft_lock``,
        ``timeout``, see :func:`dicod.dicod`).
    unbiased_z_hat : bool
        Refit the activations without penalty on their support after learning.
    solver_d : 'auto' | 'alternate' | 'alternate_adaptive' | 'joint' | 'fista'
        d-step solver; 'fista' for full-rank atoms.
    solver_d_kwargs : dict | None
        Options of the d-step (``max_iter``, ``tol``).
    rank1 : bool
        Rank-1 atoms ``u v^T`` (True) or full-rank atoms.
    window : bool
        Taper the waveforms with a Tukey window.
    uv_constraint : 'auto' | 'separate' | 'joint'
        Norm constraint of rank-1 atoms (see DESIGN.md).
    lmbd_max : 'fixed' | 'scaled' | 'per_atom' | 'shared'
        How ``reg`` relates to lambda_max (see :func:`cdl.learn.learn_dictionary`).
    eps : float
        Relative decrease of the objective below which learning stops.
    D_init : 'random' | 'chunk' | 'greedy' | 'ssa' | ndarray | None
        Initial dictionary (None: 'chunk').
    positive : bool
        Non-negative activations.
    sort_atoms : bool
        Sort atoms by decreasing energy of their contribution.
    callback : callable | None
        ``callback(X, D_hat, z_hat, pobj)`` after each iteration; return True
        to stop.
    random_state : int | RandomState | None
        Seed of the initialisation.
    verbose : bool | int | str | None
        Progress bar and log messages.
    dtype : 'float64' | 'float32' | None
        Computation dtype of the signal, activations and dictionary;
        'float32' halves the memory. None keeps a float32 or float64 ``X``
        (anything else becomes float64).
    checkpoint : path-like | None
        ``.npz`` file to which the learning state is written every
        ``checkpoint_every`` iterations, on Ctrl-C and at the end; each write
        is atomic (temporary file, then rename). Continue with
        ``fit(X, resume=checkpoint)``.
    checkpoint_every : int
        Iterations between two checkpoints.
    chunk_len : int | None
        Read and encode ``X`` in windows of about this many samples, keeping
        the activations sparse, so that memory stays bounded on long
        recordings: ``X`` may then be an ``np.memmap`` (e.g.
        ``np.load(fname, mmap_mode='r')``) or an ``mne.io.Raw`` opened with
        ``preload=False``, never loaded whole (the initial dictionary is
        drawn from its first 131072 samples). Needs ``solver_z='lgcd'``.
        None holds ``X`` in memory.
    n_workers : int | None
        Workers of ``solver_z='dicod'``. None: under ``mpirun -n N`` the
        N - 1 ranks other than the root (see :func:`dicod.run_mpi`), else one
        per CPU core (fewer if the signal is shorter than two atom lengths
        per worker).
    backend : 'auto' | 'spawn' | 'mpirun' | 'local'
        How the workers of ``solver_z='dicod'`` start: spawned MPI processes,
        the ranks of an ``mpirun`` job, or threads; 'auto' picks 'mpirun'
        inside an ``mpirun`` job of several processes, else 'spawn'.

    Attributes
    ----------
    uv_hat_ : ndarray of shape (n_atoms, n_channels + n_times_atom)
        Learned rank-1 atoms (only when ``rank1``).
    u_hat_ : ndarray of shape (n_atoms, n_channels)
    v_hat_ : ndarray of shape (n_atoms, n_times_atom)
    D_hat_ : ndarray of shape (n_atoms, n_channels, n_times_atom)
    z_hat_ : ndarray of shape (n_trials, n_atoms, n_times_valid)
    reg_ : ndarray of shape (n_atoms,)
        Absolute regularisation used at the last iteration.
    pobj_ : ndarray
        Objective after each z-step and d-step (first value: initial).
    times_ : ndarray
        Cumulative time at each entry of ``pobj_``.
    n_iter_ : int
    info_ : mne.Info | None
        Info of the Raw or Epochs given to ``fit``.
    interrupted_ : bool
        Whether ``fit`` was stopped by Ctrl-C (the attributes then hold the
        model learned so far; ``unbiased_z_hat`` is not applied).
    """
