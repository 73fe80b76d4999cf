"""The DriPP estimator (scikit-learn style) and a helper from CDL output."""
import numpy as np

from cdl.utils.log import logger, use_log_level
from cdl.utils.log import verbose as _verbose
from cdl.utils.params import ParamsMixin
from cdl.utils.validation import check_int, check_scalar

from ._pairs import build_problem
from .checks import fit_flags
from .em import run_em
from .events import drivers_from_annotations, events_from_activations
from .model import check_support, check_times, intensity, kernel_pdf, log_likelihood
from .stats import bootstrap_from_times, lrt_from_times


class DriPP(ParamsMixin):
    """Driven point process model of atom activations (Allain et al., 2022).

    For each atom ``k`` the activation times are a point process of intensity
    ``mu_k + sum_p alpha_kp sum_{t_i in T_p, t_i <= t} kappa_kp(t - t_i)``,
    with ``kappa_kp`` a Gaussian density of mean ``m_kp`` and standard
    deviation ``sigma_kp`` truncated to ``[lower, upper]``. Parameters are
    fitted by EM, initialised by the moments-based heuristic of the paper;
    the log-likelihood uses the exact integral of the intensity.

    Parameters
    ----------
    lower, upper : float
        Kernel support in seconds after a driver event (``0 <= lower <
        upper``).
    n_iter : int
        Maximum number of EM iterations.
    tol : float
        EM stops when, for every atom, the relative change of the parameters
        and of the log-likelihood between two iterations are below ``tol``.
    sfreq : float | None
        If given, all times are rounded to the sampling grid ``k / sfreq``
        before fitting, scoring and testing, as the paper does with events
        coming from sampled activations. The likelihood stays the continuous
        one. None uses the times as given.
    verbose : bool | str | int | None
        Log level during ``fit`` and the statistics methods.

    Attributes
    ----------
    baseline_ : ndarray of shape (n_atoms,)
        Baseline intensity ``mu`` (events per second).
    alpha_ : ndarray of shape (n_atoms, n_drivers)
        Expected number of activations driven by each driver event.
    m_, sigma_ : ndarray of shape (n_atoms, n_drivers)
        Mean and standard deviation (seconds) of the kernels before
        truncation; ``m_`` always lies in ``[lower, upper]`` and ``sigma_``
        in ``[sigma_min_, 10 (upper - lower)]``.
    sigma_min_ : float
        Floor of sigma: ``1e-3 (upper - lower)``, and at least one sample
        (``1 / sfreq``) with ``sfreq``: times are known to one sample, and a
        narrower kernel only fits coincidences.
    flags_ : list of list of list of str
        ``flags_[k][p]``: warnings on the fit of atom ``k`` against driver
        ``p`` (see :func:`cdl.dripp.checks.fit_flags`): 'collapsed' (sigma
        at its floor, few occurrences driven), 'm_at_edge', 'few_events'.
    loglik_ : ndarray of shape (``n_iter_ + 1``, n_atoms)
        Log-likelihood from the initial parameters to the final ones; it
        never decreases (generalised EM).
    n_iter_ : int
        Number of EM iterations run.
    atom_times_, driver_times_ : list of ndarray
        The (sorted, possibly discretised) times used for the fit.
    t_max_ : float
        Length of the recording.
    """

    def __init__(self, lower=0.03, upper=0.8, n_iter=200, tol=1e-5,
                 sfreq=None, verbose=None):
        self.lower = lower
        self.upper = upper
        self.n_iter = n_iter
        self.tol = tol
        self.sfreq = sfreq
        self.verbose = verbose

    def _validate_params(self):
        lower, upper = check_support(self.lower, self.upper)
        check_int("n_iter", self.n_iter, 1)
        check_scalar("tol", self.tol, 0)
        if self.sfreq is not None:
            check_scalar("sfreq", self.sfreq, 0, strict=True)
        return lower, upper

    def _prepare(self, atom_times, driver_times, t_max):
        t_max = check_scalar("t_max", t_max, 0, strict=True)
        atoms = check_times("atom_times", atom_times, t_max)
        if isinstance(driver_times, (list, tuple)) and len(driver_times) == 0:
            raise ValueError("driver_times must not be empty: give a list with "
                             "one array of event times per driver.")
        drivers = check_times("driver_times", driver_times, t_max)
        if self.sfreq is not None:
            atoms, drivers = ([np.minimum(np.round(t * self.sfreq) / self.sfreq,
                                          t_max) for t in times]
                              for times in (atoms, drivers))
        if sum(d.size for d in drivers) == 0:
            raise ValueError("driver_times holds no event at all: give at "
                             "least one driver event time.")
        return atoms, drivers, t_max

    def _check_fitted(self):
        if not hasattr(self, "baseline_"):
            raise RuntimeError("This DriPP instance is not fitted yet: call "
                               "fit(atom_times, driver_times, t_max) first.")

    def fit(self, atom_times, driver_times, t_max):
        """Fit the model by EM.

        Parameters
        ----------
        atom_times : array-like | list of array-like
            Activation times in seconds: one array (one atom) or a list with
            one array per atom. Must lie in ``[0, t_max]``.
        driver_times : list of array-like
            One array of event times (seconds) per driver.
        t_max : float
            Length of the recording, in seconds.

        Returns
        -------
        self : DriPP
            The fitted estimator.
        """
        lower, upper = self._validate_params()
        with use_log_level(self.verbose):
            atoms, drivers, t_max = self._prepare(atom_times, driver_times,
                                                  t_max)
            for p, d in enumerate(drivers):
                if d.size == 0:
                    logger.warning("driver_times[%d] has no event: its alpha "
                                   "is 0.", p)
            problem = build_problem(atoms, drivers, t_max, lower, upper)
            sigma_min = 1e-3 * (upper - lower)
            if self.sfreq is not None:  # below a sample, sigma fits coincidences
                sigma_min = max(sigma_min, 1. / self.sfreq)
            res = run_em(problem, n_iter=self.n_iter, tol=self.tol,
                         sigma_bounds=(sigma_min, 10 * (upper - lower)))
        self.baseline_, self.alpha_ = res["baseline"], res["alpha"]
        self.m_, self.sigma_ = res["m"], res["sigma"]
        self.loglik_, self.n_iter_ = res["loglik"], res["n_iter"]
        self.atom_times_, self.driver_times_, self.t_max_ = atoms, drivers, t_max
        self.sigma_min_ = float(sigma_min)
        self.flags_ = fit_flags(self)
        return self

    def intensity(self, t):
        """Fitted intensity of every atom at times ``t`` (seconds).

        Parameters
        ----------
        t : array-like of shape (n_times,)
            Times in seconds, e.g. ``np.arange(0, t_max, 1 / sfreq)``.

        Returns
        -------
        lam : ndarray of shape (n_atoms, n_times)
            Intensity in events per second.
        """
        self._check_fitted()
        return intensity(t, self.driver_times_, self.baseline_, self.alpha_,
                         self.m_, self.sigma_, self.lower, self.upper)

    def log_likelihood(self, atom_times, driver_times=None, t_max=None):
        """Exact log-likelihood of each atom under the fitted parameters.

        Parameters
        ----------
        atom_times : array-like | list of array-like
            Activation times, one array per fitted atom.
        driver_times : list of array-like | None
            Driver times; None uses those of ``fit``.
        t_max : float | None
            Length of the recording; None uses that of ``fit``.

        Returns
        -------
        loglik : ndarray of shape (n_atoms,)
            Log-likelihood of each atom.
        """
        self._check_fitted()
        t_max = self.t_max_ if t_max is None else t_max
        driver_times = (self.driver_times_ if driver_times is None
                        else driver_times)
        atoms, drivers, t_max = self._prepare(atom_times, driver_times, t_max)
        if len(atoms) != self.baseline_.size or len(drivers) != self.alpha_.shape[1]:
            raise ValueError(f"Expected {self.baseline_.size} atom(s) and "
                             f"{self.alpha_.shape[1]} driver(s), got "
                             f"{len(atoms)} and {len(drivers)}.")
        return log_likelihood(atoms, drivers, t_max, self.baseline_,
                              self.alpha_, self.m_, self.sigma_, self.lower,
                              self.upper)

    def score(self, atom_times, driver_times=None, t_max=None):
        """Log-likelihood of the data, summed over atoms (higher is better).

        Parameters
        ----------
        atom_times : array-like | list of array-like
            Activation times, one array per fitted atom.
        driver_times : list of array-like | None
            Driver times; None uses those of ``fit``.
        t_max : float | None
            Length of the recording; None uses that of ``fit``.

        Returns
        -------
        score : float
            Total log-likelihood.
        """
        return float(self.log_likelihood(atom_times, driver_times, t_max).sum())

    def likelihood_ratio_test(self, null="chi2", n_boot=99, random_state=None):
        """Test, per atom and driver, whether the driver drives the atom.

        H0: ``alpha_kp = 0`` against the fitted model, on the fitted data; see
        :mod:`cdl.dripp.stats` for the null distributions.

        Parameters
        ----------
        null : 'chi2' | 'chibar' | 'bootstrap' | 'shift'
            Null distribution (chi2 with 3 dof by default; 'shift' is the
            calibrated one for atom occurrences, see :mod:`cdl.dripp.stats`).
        n_boot : int
            Simulations for ``null='bootstrap'`` or ``'shift'``.
        random_state : int | RandomState | None
            Seed for ``null='bootstrap'`` or ``'shift'``.

        Returns
        -------
        result : dict
            ``statistic``, ``pvalue`` (n_atoms, n_drivers);
            ``statistic_global``, ``pvalue_global`` (n_atoms,) against the
            baseline-only model; ``null``.
        """
        self._check_fitted()
        with use_log_level(self.verbose):
            return lrt_from_times(self.atom_times_, self.driver_times_,
                                  self.t_max_, self.lower, self.upper,
                                  null=null, n_boot=n_boot,
                                  n_iter=self.n_iter, tol=self.tol,
                                  random_state=random_state, sfreq=self.sfreq,
                                  sigma_min=self.sigma_min_)

    def bootstrap_ci(self, n_boot=200, level=0.95, random_state=None):
        """Bootstrap percentile confidence intervals (driver epochs resampled).

        Parameters
        ----------
        n_boot : int
            Number of bootstrap replicates.
        level : float
            Confidence level in (0, 1).
        random_state : int | RandomState | None
            Seed or random number generator.

        Returns
        -------
        ci : dict
            ``m``, ``sigma``, ``alpha`` of shape (n_atoms, n_drivers, 2),
            ``baseline`` of shape (n_atoms, 2), and ``replicates``.
        """
        self._check_fitted()
        with use_log_level(self.verbose):
            return bootstrap_from_times(
                self.atom_times_, self.driver_times_, self.t_max_, self.lower,
                self.upper, n_boot=n_boot, level=level, n_iter=self.n_iter,
                tol=self.tol, random_state=random_state,
                sigma_min=self.sigma_min_)

    def plot_kernels(self, atoms=None, driver_names=None, show=True):
        """Plot ``mu + alpha_p kappa_p(delay)`` for each atom and driver.

        Parameters
        ----------
        atoms : list of int | None
            Atoms to plot; None plots all.
        driver_names : list of str | None
            Legend labels; default ``driver 0``, ``driver 1``...
        show : bool
            Call ``matplotlib.pyplot.show``.

        Returns
        -------
        fig : instance of matplotlib.figure.Figure
            One panel per atom.
        """
        import matplotlib.pyplot as plt
        self._check_fitted()
        atoms = range(self.baseline_.size) if atoms is None else list(atoms)
        n_drivers = self.alpha_.shape[1]
        names = driver_names or [f"driver {p}" for p in range(n_drivers)]
        n_cols = min(4, len(atoms))
        n_rows = -(-len(atoms) // n_cols)
        fig, axes = plt.subplots(n_rows, n_cols, squeeze=False,
                                 figsize=(3.2 * n_cols, 2.6 * n_rows),
                                 sharex=True, layout="constrained")
        delay = np.linspace(0, self.upper * 1.1, 500)
        for ax, k in zip(axes.ravel(), atoms):
            for p in range(n_drivers):
                ax.plot(delay, self.baseline_[k] + self.alpha_[k, p] * kernel_pdf(
                    delay, self.m_[k, p], self.sigma_[k, p], self.lower,
                    self.upper), label=names[p])
            ax.axhline(self.baseline_[k], color="k", ls="--", lw=0.8)
            ax.set(title=f"atom {k}", xlabel="delay after driver (s)",
                   ylabel="intensity (1/s)")
        for ax in axes.ravel()[len(atoms):]:
            ax.set_visible(False)
        axes[0, 0].legend(fontsize="small")
        if show:
            plt.show()
        return fig


@_verbose
def fit_dripp_from_annotations(z, sfreq, annotations_or_events, event_id=None,
                               *, lower=0.03, upper=0.8, threshold="percentile",
                               value=0.0, first_samp=0, t_max=None, n_iter=200,
                               tol=1e-5, v=None, timing="peak", verbose=None):
    """Fit DriPP for every atom of a CDL fit against annotation types.

    Parameters
    ----------
    z : ndarray of shape (1, n_atoms, n_times_valid) or (n_atoms, n_times_valid)
        Activations of one continuous recording (``BatchCDL.z_hat_``).
    sfreq : float
        Sampling frequency of ``z``, in Hz.
    annotations_or_events : mne.Annotations | ndarray of shape (n_events, 3)
        Drivers: ``raw.annotations`` or MNE events.
    event_id : dict | list | None
        Which annotation descriptions or event ids are drivers (e.g.
        ``['T1', 'T2']``); None uses all.
    lower, upper : float
        Kernel support, in seconds.
    threshold, value : str, float
        Event detection on ``z``, see :func:`events_from_activations`.
    first_samp : int
        Sample of the recording that is sample 0 of ``z``.
    t_max : float | None
        Recording length; default ``n_times / sfreq`` (``n_times =
        n_times_valid + n_times_atom - 1`` with ``v``). Driver events after
        it are dropped.
    n_iter, tol : int, float
        EM settings.
    v : ndarray of shape (n_atoms, n_times_atom) | None
        Waveforms of the atoms: occurrences are timed at the sample of the
        largest ``|v_k|`` (``timing='peak'``), so the latencies ``m_`` are
        those of the waveform's peak. None: at the atom's window start.
    timing : 'peak' | 'start' | array of int
        See :func:`cdl.model.occurrences.timing_offsets`.
    verbose : bool | str | int | None
        Log level for this call.

    Returns
    -------
    dripp : DriPP
        Fitted estimator (with ``sfreq`` set, so times are on the grid).
    driver_names : list of str
        Name of each driver, in the order of ``dripp.alpha_``'s columns.

    Notes
    -----
    An activation at sample ``t`` of ``z`` is the start of the atom's window;
    with ``v`` the occurrence is timed at ``t + argmax |v_k|``. With MNE
    events (samples counted from the start of the acquisition) pass
    ``first_samp=raw.first_samp``.
    """
    z = np.asarray(z)
    if z.ndim == 3 and z.shape[0] != 1:
        raise ValueError(f"z must hold one continuous recording (n_trials=1), "
                         f"got shape {z.shape}.")
    atom_times = events_from_activations(z, sfreq, threshold=threshold,
                                         value=value, v=v, timing=timing)
    n_times = z.shape[-1] + (0 if v is None else np.shape(v)[1] - 1)
    t_max = n_times / sfreq if t_max is None else t_max
    drivers, names = drivers_from_annotations(annotations_or_events, sfreq,
                                              event_id, first_samp)
    kept = [d[(d >= 0) & (d <= t_max)] for d in drivers]
    n_dropped = sum(d.size for d in drivers) - sum(d.size for d in kept)
    if n_dropped:
        logger.info("Dropped %d driver events outside [0, %.3f] s.", n_dropped,
                    t_max)
    dripp = DriPP(lower=lower, upper=upper, n_iter=n_iter, tol=tol, sfreq=sfreq)
    return dripp.fit(atom_times, kept, t_max), names
