"""Benchmark: DriPP on simulated Neuromag recordings, end to end, and the false
positives of its tests on atoms not locked to the stimuli.

Part 1, ``cdl fit`` then ``cdl dripp`` (the pipeline functions the commands
call, with their defaults: MEG and EEG data channels, each channel type
divided by its std, occurrences timed at the peak of |v|, the 'shift' null):
for each seed, :func:`cdl.simulate.simulate_neuromag_raw` (204 grad, 102
mag, 60 EEG; an auditory atom peaking 100 ms after each of 80 stimuli with
4 ms jitter, alpha bursts, blinks; 120 s at 150 Hz) is written to a FIF
file, read back, fitted (BatchCDL, ``--n-atoms``, ``--reg``, atoms of 0.4 s)
and DriPP is fitted against the 'stim' annotations. Each true atom is
matched to the learned atom of largest noise-whitened pattern correlation;
the table gives, for the auditory atom, whether it was recovered (pattern
and waveform correlations >= 0.9), its p-value, latency error (m - 0.100 s:
the truth's timing point is its peak of |v|, 100 ms after the stimulus) and
sigma; for the alpha and blink atoms (not locked) their p-values; and the
smallest p-value among the other learned atoms.

Part 2, the tests alone: occurrence times not locked to 80 random stimuli
(Poisson, or bursts of 2 to 6 occurrences 30 to 100 ms apart, as an
oscillatory atom gives), on the 150 Hz grid, 1 to 120 per recording; the
fraction with p <= 0.01 under the 'chi2' and 'shift' nulls.

Usage::

    python benchmarks/bench_dripp_timing.py [--seeds 0 1 2 3 4 5]
        [--n-atoms 5] [--reg 0.05] [--n-null-sims 200] [--skip-pipeline]

Needs ``../shared/data/meg/sample_audvis-ave.fif.gz`` (or ``CDL_DATA_MEG``)
for part 1.
"""
import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import REPO, print_table

MEG = Path(os.environ.get("CDL_DATA_MEG", REPO.parent / "shared" / "data" / "meg"))
SFREQ, T_MAX, N_STIM = 150., 120., 80


def _match(model, truth):
    """For each true atom: learned atom, |corr| of the noise-whitened field
    patterns (physical units) and of the waveforms (best lag)."""
    from cdl.io.scaling import pattern_to_physical

    noise = np.array([truth.noise_std[t] for t in truth.ch_types])
    u = pattern_to_physical(model.u_hat_, truth.ch_types, model.scalings_) / noise
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    out = []
    for k in range(len(truth.names)):
        u_true = truth.u[k] / noise
        corr = np.abs(u @ (u_true / np.linalg.norm(u_true)))
        j = int(np.argmax(corr))
        xcorr = np.correlate(model.v_hat_[j], truth.v[k], "full")
        corr_v = np.abs(xcorr).max() / np.linalg.norm(model.v_hat_[j]) \
            / np.linalg.norm(truth.v[k])
        out.append((j, float(corr[j]), float(corr_v)))
    return out


def pipeline_run(seed, n_atoms, reg, folder):
    from cdl import pipeline
    from cdl.simulate import simulate_neuromag_raw

    raw, truth = simulate_neuromag_raw(MEG / "sample_audvis-ave.fif.gz",
                                       random_state=seed)
    fname = Path(folder) / f"sim{seed}_raw.fif"
    raw.save(fname, overwrite=True, verbose=False)
    recording = pipeline.load_for_cdl(fname)  # cdl fit's defaults
    model = pipeline.fit_recording(recording, n_atoms=n_atoms,
                                   atom_duration=0.4, reg=reg, verbose=False)
    result = pipeline.run_dripp(recording, model.z_hat_, v=model.v_hat_,
                                n_boot=0)  # cdl dripp's defaults, no CI
    dripp, pvalue = result["dripp"], result["lrt"]["pvalue"][:, 0]
    matches = _match(model, truth)
    j, corr_u, corr_v = matches[0]
    others = sorted(set(range(n_atoms)) - {m[0] for m in matches})
    return dict(seed=seed, found=corr_u >= 0.9 and corr_v >= 0.9, corr_u=corr_u,
                corr_v=corr_v, p=pvalue[j], m_err=dripp.m_[j, 0] - truth.latency,
                sigma=dripp.sigma_[j, 0], flags=dripp.flags_[j][0],
                unlocked=[(truth.names[k], pvalue[m[0]], m[1])
                          for k, m in enumerate(matches[1:], 1)],
                others=[pvalue[i] for i in others])


def part_pipeline(seeds, n_atoms, reg):
    rows, results = [], []
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            start = time.perf_counter()
            r = pipeline_run(seed, n_atoms, reg, folder)
            results.append(r)
            unlocked = ", ".join(f"{name} {p:.2g}" for name, p, _ in r["unlocked"])
            rows.append([seed, "yes" if r["found"] else "no",
                         f"{r['corr_u']:.3f}/{r['corr_v']:.3f}", f"{r['p']:.1e}",
                         f"{1e3 * r['m_err']:+.1f}", f"{1e3 * r['sigma']:.1f}",
                         ";".join(r["flags"]) or "-", unlocked,
                         f"{min(r['others']):.2g}" if r["others"] else "-",
                         f"{time.perf_counter() - start:.0f}"])
            print(f"seed {seed} done", flush=True)
    print_table(f"Part 1: cdl fit (--n-atoms {n_atoms} --reg {reg} "
                f"--atom-duration 0.4) then cdl dripp on simulated Neuromag "
                f"recordings", ["seed", "auditory found", "corr u/v", "p",
                                "m - 0.100 (ms)", "sigma (ms)", "flags",
                                "unlocked atoms: p", "min p other atoms", "s"],
                rows)
    found = [r for r in results if r["found"]]
    ok = [r for r in found if r["p"] < 1e-3 and abs(r["m_err"]) <= 0.010
          and r["sigma"] < 0.030]
    unlocked = [p for r in results for _, p, _ in r["unlocked"]]
    others = [p for r in results for p in r["others"]]
    print(f"\nauditory atom recovered in {len(found)}/{len(results)} seeds; "
          f"target met (p < 1e-3, |m - 0.1| <= 10 ms, sigma < 30 ms) in "
          f"{len(ok)}/{len(found)} of those; alpha and blink atoms with "
          f"p > 0.01: {np.sum(np.array(unlocked) > 0.01)}/{len(unlocked)}; "
          f"other learned atoms with p > 0.01: "
          f"{np.sum(np.array(others) > 0.01)}/{len(others)}")


def _unlocked_times(rng, rate, bursty):
    """Occurrence times in [0, T_MAX) on the sampling grid, not locked."""
    if not bursty:
        times = rng.uniform(0, T_MAX, rng.poisson(rate * T_MAX))
    else:  # bursts of 2-6 occurrences 30-100 ms apart
        centres = rng.uniform(0, T_MAX, rng.poisson(rate * T_MAX / 4))
        times = np.concatenate([c + np.cumsum(rng.uniform(0.03, 0.1,
                                                          rng.randint(2, 7)))
                                for c in centres] or [np.empty(0)])
    times = np.round(times[(times >= 0) & (times < T_MAX)] * SFREQ) / SFREQ
    return np.unique(times)


def part_tests(n_sims, seed=0):
    from cdl.dripp import DriPP

    rng = np.random.RandomState(seed)
    rows = []
    n_batch = 20  # atoms fitted together (each tested on its own)
    for bursty in (False, True):
        for rate in (0.01, 0.05, 0.2, 1.):
            pvalues = {"chi2": [], "shift": []}
            for _ in range(max(1, n_sims // n_batch)):
                gaps = 0.6 + rng.exponential(0.9, N_STIM)
                stim = np.round(np.cumsum(gaps) * SFREQ) / SFREQ
                stim = stim[stim < T_MAX - 1]
                atoms = [_unlocked_times(rng, rate, bursty) for _ in range(n_batch)]
                dripp = DriPP(sfreq=SFREQ).fit(atoms, [stim], T_MAX)
                for null in pvalues:
                    lrt = dripp.likelihood_ratio_test(
                        null=null, n_boot=99, random_state=rng.randint(2 ** 31))
                    pvalues[null] += list(lrt["pvalue"][:, 0])
            counts = np.mean([a.size for a in atoms])
            rows.append(["bursts" if bursty else "Poisson", f"{rate:g}",
                         f"{counts:.0f}", len(pvalues["chi2"])]
                        + [f"{np.mean(np.array(pvalues[n]) <= 0.01):.3f}"
                           for n in ("chi2", "shift")])
            print(f"{rows[-1]}", flush=True)
    print_table("Part 2: atoms not locked to 80 stimuli (120 s at 150 Hz): "
                "fraction with p <= 0.01", ["occurrences", "rate (1/s)",
                                            "mean count", "atoms", "chi2",
                                            "shift"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--n-atoms", type=int, default=5)
    parser.add_argument("--reg", type=float, default=0.05)
    parser.add_argument("--n-null-sims", type=int, default=200,
                        help="non-locked atoms per row of part 2")
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-tests", action="store_true")
    args = parser.parse_args()
    if not args.skip_pipeline:
        if (MEG / "sample_audvis-ave.fif.gz").is_file():
            part_pipeline(args.seeds, args.n_atoms, args.reg)
        else:
            print(f"Part 1 skipped: {MEG / 'sample_audvis-ave.fif.gz'} not found "
                  f"(set CDL_DATA_MEG).")
    if not args.skip_tests:
        part_tests(args.n_null_sims)


if __name__ == "__main__":
    main()
