"""The ``cdl demo``: learn atoms on a simulated EEG recording and report."""
import time
from pathlib import Path

import numpy as np

from cdl.estimators.batch import BatchCDL
from cdl.model.similarity import match_atoms
from cdl.report.build import make_report
from cdl.simulate.eeg import simulate_eeg
from cdl.utils.log import logger, use_log_level


def run_demo(out_dir="cdl_output/demo", duration=60., sfreq=160., n_iter=30,
             reg=0.2, random_state=0, verbose=True):
    """Simulate a 64-channel EEG recording, fit BatchCDL, save model and report.

    Parameters
    ----------
    out_dir : path-like
        Folder for ``model.npz`` and ``report.html``.
    duration, sfreq : float
        Length (s) and sampling rate (Hz) of the simulation.
    n_iter : int
        CDL iterations.
    reg : float
        Regularisation as a fraction of lambda_max.
    random_state : int
        Seed of the simulation and the initialisation.
    verbose : bool
        Show progress and the recovery table.

    Returns
    -------
    model : BatchCDL
        The fitted estimator.
    recovery : list of dict
        Per true atom: its name, the matched learned atom, corr of u and of v.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with use_log_level("INFO" if verbose else "WARNING"):
        t_start = time.perf_counter()
        raw, truth = simulate_eeg(duration=duration, sfreq=sfreq,
                                  random_state=random_state)
        X = raw.get_data()[None]
        X = X / X.std()
        logger.info("Simulated %.0f s of %d-channel EEG at %.0f Hz with atoms %s",
                    duration, X.shape[1], sfreq, ", ".join(truth.names))
        model = BatchCDL(n_atoms=len(truth.names), n_times_atom=truth.n_times_atom,
                         reg=reg, n_iter=n_iter,
                         random_state=random_state, sort_atoms=True,
                         verbose=verbose)
        model.fit(X)
        model.info_ = raw.info
        matches = match_atoms(truth.u, truth.v, model.u_hat_, model.v_hat_)
        recovery = [dict(atom=truth.names[m["true"]], learned=m["learned"],
                         corr_u=round(m["corr_u"], 3), corr_v=round(m["corr_v"], 3))
                    for m in matches]
        elapsed = time.perf_counter() - t_start
        logger.info("\n%s", _format_table(recovery))
        logger.info("Fitted in %.1f s (%d iterations, final objective %.4e)",
                    elapsed, model.n_iter_, model.pobj_[-1])
        model.save(out_dir / "model.npz", overwrite=True)
        report = make_report(
            model, title="cdl demo: simulated EEG", info=raw.info,
            data_summary=dict(channels=X.shape[1], duration_s=duration,
                              sfreq=sfreq, atoms=", ".join(truth.names)),
            recovery=recovery)
        report.save(out_dir / "report.html", overwrite=True, open_browser=False,
                    verbose=False)
        logger.info("Wrote %s and %s", out_dir / "model.npz",
                    out_dir / "report.html")
    return model, recovery


def _format_table(rows):
    header = f"{'true atom':>10} {'learned':>8} {'corr u':>8} {'corr v':>8}"
    lines = [header, "-" * len(header)]
    for row in rows:
        learned = "-" if row["learned"] is None else str(row["learned"])
        lines.append(f"{row['atom']:>10} {learned:>8} {row['corr_u']:>8.3f} "
                     f"{row['corr_v']:>8.3f}")
    mean_u = np.mean([r["corr_u"] for r in rows])
    return "\n".join(lines) + f"\nmean corr u {mean_u:.3f}"
