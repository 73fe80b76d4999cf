"""Parameter descriptions shared by several docstrings (MNE's ``docdict``).

A docstring names an entry as ``%(name)s`` alone on a line; :func:`fill_doc`
(and the :func:`cdl.utils.log.verbose` decorator) replaces it with the entry,
indented as the placeholder. Entries are written without indentation: the
first line is ``name : type``, the description follows, indented by 4.
"""
import re

docdict = {}

# -- common --------------------------------------------------------------------------
docdict["verbose"] = """verbose : bool | int | str | None
    Log level for this call: True or 'INFO' shows progress, False or
    'WARNING' hides it; None keeps the current level
    (see :func:`cdl.set_log_level`)."""
docdict["random_state"] = """random_state : int | RandomState | None
    Seed of the initialisation (and of the online batch selection)."""

# -- the estimators' parameters, in the order of their __init__ ------------------------
docdict["n_atoms"] = """n_atoms : int
    Number of atoms."""
docdict["n_times_atom"] = """n_times_atom : int
    Atom length in samples."""
docdict["reg"] = """reg : float
    Regularisation: a fraction of lambda_max unless ``lmbd_max='fixed'``."""
docdict["n_iter"] = """n_iter : int
    Maximum number of alternating iterations."""
docdict["n_jobs"] = """n_jobs : int
    Processes over trials for the z-step."""
docdict["solver_z"] = """solver_z : 'lgcd' | 'gcd' | 'fista' | 'l-bfgs' | 'dicod'
    z-step solver; 'dicod' distributes LGCD over ``n_workers`` MPI
    workers that keep their piece of the signal (DiCoDiLe, see
    :mod:`dicod`), for long recordings."""
docdict["solver_z_kwargs"] = """solver_z_kwargs : dict | None
    ``tol`` (default 1e-3), ``max_iter`` (default 1000), ``inexact``
    (default True) and solver options (``seg_len``; for 'dicod'
    ``strategy``, ``soft_lock``, ``timeout``, see :func:`dicod.dicod`).
    ``tol`` and ``max_iter`` stop every z-step (those of ``transform``
    and of the unbiased refit too). ``inexact``: inside learning, from the
    second iteration on, each z-step also stops after the first block of
    10 sweeps that lowers the objective by less than 1 % of what the
    previous iteration gained, so that the z-steps tighten to ``tol`` as
    learning converges, and the last z-step is finished to ``tol`` (see
    :mod:`cdl.learn.precision`). It applies to batch and greedy learning
    with 'lgcd' or 'gcd' in float64; online learning, ``chunk_len``,
    'dicod' and float32 keep exact z-steps. False: every z-step runs to
    ``tol`` or ``max_iter``, as before inexact z-steps existed."""
docdict["unbiased_z_hat"] = """unbiased_z_hat : bool
    Refit the activations without penalty on their support after learning."""
docdict["solver_d"] = (
    "solver_d : 'auto' | 'alternate' | 'alternate_adaptive' | 'joint' | 'fista'\n"
    "    d-step solver; 'fista' for full-rank atoms.")
docdict["solver_d_kwargs"] = """solver_d_kwargs : dict | None
    Options of the d-step (``max_iter``, ``tol``)."""
docdict["rank1"] = """rank1 : bool
    Rank-1 atoms ``u v^T`` (True) or full-rank atoms."""
docdict["window"] = """window : bool
    Taper the waveforms with a Tukey window."""
docdict["uv_constraint"] = """uv_constraint : 'auto' | 'separate' | 'joint'
    Norm constraint of rank-1 atoms: ``||u_k|| <= 1`` and ``||v_k|| <= 1``
    ('separate'), or ``||[u_k, v_k]|| <= 1`` ('joint'); 'auto' is 'joint'
    with ``solver_d='joint'``, else 'separate'."""
docdict["lmbd_max"] = """lmbd_max : 'fixed' | 'scaled' | 'per_atom' | 'shared'
    How ``reg`` relates to lambda_max (see :func:`cdl.learn.learn_dictionary`)."""
docdict["eps"] = """eps : float
    Relative decrease of the objective below which learning stops."""
docdict["D_init"] = """D_init : 'random' | 'chunk' | 'greedy' | 'ssa' | ndarray | None
    Initial dictionary (None: 'ssa', deterministic, chosen with
    ``benchmarks/bench_inits.py`` for atom revival; it was 'chunk' before
    revival; see :func:`cdl.dictionary.init_dictionary`)."""
docdict["positive"] = """positive : bool
    Non-negative activations."""
docdict["sort_atoms"] = """sort_atoms : bool
    Sort atoms by decreasing energy of their contribution."""
docdict["callback"] = """callback : callable | None
    ``callback(X, D_hat, z_hat, pobj)`` after each iteration; return True
    to stop."""
docdict["verbose_estimator"] = """verbose : bool | int | str | None
    Progress bar and log messages."""
docdict["dtype"] = """dtype : 'float64' | 'float32' | None
    Computation dtype of the signal, activations and dictionary;
    'float32' halves the memory. None keeps a float32 or float64 ``X``
    (anything else becomes float64)."""
docdict["checkpoint"] = """checkpoint : path-like | None
    ``.npz`` file to which the learning state is written every
    ``checkpoint_every`` iterations, on Ctrl-C and at the end; each write
    is atomic (temporary file, then rename). Continue with
    ``fit(X, resume=checkpoint)``."""
docdict["checkpoint_every"] = """checkpoint_every : int
    Iterations between two checkpoints."""
docdict["chunk_len"] = """chunk_len : int | None
    Read and encode ``X`` in windows of about this many samples, keeping
    the activations sparse, so that memory stays bounded on long
    recordings: ``X`` may then be an ``np.memmap`` (e.g.
    ``np.load(fname, mmap_mode='r')``) or an ``mne.io.Raw`` opened with
    ``preload=False``, never loaded whole (the initial dictionary is
    drawn from its first 131072 samples). Needs ``solver_z='lgcd'``.
    None holds ``X`` in memory."""
docdict["n_workers"] = """n_workers : int | None
    Workers of ``solver_z='dicod'``. None: under ``mpirun -n N`` the
    N - 1 ranks other than the root (see :func:`dicod.run_mpi`), else one
    per CPU core (fewer if the signal is shorter than two atom lengths
    per worker)."""
docdict["backend"] = """backend : 'auto' | 'spawn' | 'mpirun' | 'local'
    How the workers of ``solver_z='dicod'`` start: spawned MPI processes,
    the ranks of an ``mpirun`` job, or threads; 'auto' picks 'mpirun'
    inside an ``mpirun`` job of several processes, else 'spawn'."""
docdict["hostfile"] = """hostfile : path-like | None
    Hosts for spawned workers."""
docdict["worker_timeout"] = """worker_timeout : float
    Seconds a worker may stay silent before it is declared dead."""
docdict["revive_atoms"] = """revive_atoms : bool | dict
    Atom revival during learning: at each z-step from the sixth on (the
    first five let the atoms settle), at most one atom is changed.
    An unused atom (fewer than 5 occurrences, an occurrence being a
    positive local maximum of its activations), an underused one (fewer
    than a third of the median atom's occurrences; an atom added by greedy
    learning is given ``cooldown`` (5) iterations to grow first) or the
    weaker of two
    near-duplicates (correlations of the spatial patterns and of the
    waveforms at their best lag both >= 0.9) is replaced by the window of
    the signal that the model explains worst (its rank-1 approximation,
    normalised as the initial dictionaries), its activations reset, and
    kept only if the objective after its z-step is not above the one
    before, so ``pobj_`` never increases. A fragmented atom (one that
    rebuilds each event from several shifted copies of itself: 1.5 or
    more occurrences per compact cluster of activations, and the clusters
    agree with one another but not with the atom) is replaced, and kept,
    the same way by its own model over those clusters, merged into one
    window. An off-centre atom (centre of
    energy of its waveform 10% of its length or more from the middle) is
    moved to the middle, its activations moved the other way (the model is
    unchanged), and kept only if the d-step then reaches a lower objective
    than without the move and the moved model is not above the objective
    before the z-step (online learning: as a replacement); it is moved
    again only once further off-centre. A move that is not kept leaves
    the fit as without it; each atom is tried at most every 5 iterations,
    ``2 * n_atoms`` tries in all, and learning does not stop on ``eps``
    while an atom can still be tried. Deterministic; its state is part of
    the checkpoints. A dict changes the thresholds: ``min_occurrences``
    (5), ``min_relative`` (1/3; 0: no atom is underused),
    ``min_fragments`` (1.5; None: no atom is fragmented), ``max_corr``
    (0.9), ``cooldown`` (5), ``max_attempts`` (None:
    ``2 * n_atoms``), ``centre`` (0.1; None: no moves), ``start`` (5: the
    first iteration, 0-based, when atoms may be changed), ``swap`` (None:
    off; a relative decrease of the objective below which the least used
    atom is swapped for the largest residual window, kept only if it beats
    the plain z-step); see :mod:`cdl.learn.revival`. False: no revival (the
    learning of cdl-meeg before revival, exactly). The tries are listed in
    ``revived_``."""

_CDL_PARAMS = ("n_atoms", "n_times_atom", "reg", "n_iter", "n_jobs", "solver_z",
               "solver_z_kwargs", "unbiased_z_hat", "solver_d", "solver_d_kwargs",
               "rank1", "window", "uv_constraint", "lmbd_max", "eps", "D_init",
               "positive", "sort_atoms", "callback", "random_state",
               "verbose_estimator", "dtype", "checkpoint", "checkpoint_every",
               "chunk_len", "n_workers", "backend", "revive_atoms")
docdict["cdl_params"] = "\n".join(docdict[name] for name in _CDL_PARAMS)

docdict["cdl_attributes"] = """\
uv_hat_ : ndarray of shape (n_atoms, n_channels + n_times_atom)
    Learned rank-1 atoms (only when ``rank1``).
u_hat_ : ndarray of shape (n_atoms, n_channels)
    Spatial patterns.
v_hat_ : ndarray of shape (n_atoms, n_times_atom)
    Waveforms.
D_hat_ : ndarray of shape (n_atoms, n_channels, n_times_atom)
    Atoms as full-rank arrays.
z_hat_ : ndarray of shape (n_trials, n_atoms, n_times_valid)
    Activations.
reg_ : ndarray of shape (n_atoms,)
    Absolute regularisation used at the last iteration.
pobj_ : ndarray
    Objective after each z-step and d-step (first value: initial).
times_ : ndarray
    Cumulative time at each entry of ``pobj_``.
n_iter_ : int
    Number of iterations run.
info_ : mne.Info | None
    Info of the Raw or Epochs given to ``fit``.
scalings_ : dict of str to float | None
    Factor each channel type of the Raw or Epochs given to ``fit`` was
    divided by (``{'mag': ..., 'grad': ..., 'eeg': ...}``, the std of the
    type, see :mod:`cdl.io.scaling`); ``transform`` divides an MNE object
    by the same factors. None when ``fit`` was given an array (arrays are
    used as they are).
interrupted_ : bool
    Whether ``fit`` was stopped by Ctrl-C (the attributes then hold the
    model learned so far; ``unbiased_z_hat`` is not applied).
revived_ : list of dict
    The atom revival tries of ``fit``, in order: ``iteration``, ``atom``
    (its index during learning, before ``sort_atoms``), ``reason``
    ('unused', 'underused', 'duplicate of j', 'off-centre by s' or
    'weakest') and
    ``accepted``. Saved in model files.
diagnostics_ : list of dict
    One row per atom (computed on access from ``u_hat_``, ``v_hat_``,
    ``z_hat_`` and ``info_``, see
    :func:`cdl.model.diagnostics.describe_atoms`): ``label`` (e.g.
    'blink-like', 'alpha', 'mu'; None without ``info_``), ``region``,
    ``share``, ``peak_hz``, ``band``, ``harmonic``, ``top_channels``,
    ``occurrences``, ``model_share`` (the energy of the signal the atom
    models alone as a share of the sum over atoms,
    :func:`cdl.model.diagnostics.model_shares`), ``rare``
    (fewer than ``min_occurrences``) and
    ``duplicate_of`` (the atoms it nearly duplicates), with the thresholds
    of ``revive_atoms``.
atom_labels_ : list of str | None
    The ``label`` of each row of ``diagnostics_``."""

# -- data fetchers -------------------------------------------------------------------
docdict["download"] = """download : bool
    Download missing files with MNE's fetcher when the server can be
    reached. False never uses the network."""
docdict["preprocess_options"] = """**options
    Preprocessing options of :func:`data_fetchers.preprocess` (picks,
    filters, resampling, trials, scaling...)."""

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$",
                          re.MULTILINE)


def _indented(match):
    name, indent = match.group("name"), match.group("indent")
    try:
        entry = docdict[name]
    except KeyError:
        raise KeyError(f"docstring placeholder %({name})s is not in "
                       f"cdl.utils.docs.docdict") from None
    return "\n".join(indent + line if line else line for line in entry.split("\n"))


def fill_doc(obj):
    """Replace the ``%(name)s`` lines of ``obj``'s docstring by docdict entries.

    Parameters
    ----------
    obj : function | class
        Its ``__doc__`` is filled in place.

    Returns
    -------
    obj : function | class
        The same object (usable as a decorator).
    """
    if obj.__doc__:
        obj.__doc__ = _PLACEHOLDER.sub(_indented, obj.__doc__)
    return obj
