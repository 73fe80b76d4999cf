"""Atoms you can trust: initialisations and atom revival, simulated and real EEG.

For each initialisation (``D_init``) and random state, with atom revival on
and off (``revive_atoms``), it fits ``BatchCDL`` (rank-1, ``lmbd_max='scaled'``)
and prints per fit: true atoms recovered (|corr| >= 0.95 of ``u`` and of ``v``
at its best lag, after a one-to-one matching), dead atoms (fewer than 5
occurrences, an occurrence being a positive local maximum of ``z_k``),
near-duplicate pairs (both correlations >= 0.9,
:func:`cdl.model.diagnostics.flag_atoms`), final objective, iterations, the
absolute regularisation (``'scaled'`` makes it ``reg`` times lambda_max of the
*initial* dictionary, which differs by init: on EEGBCI R06, greedy's is 1.45
times chunk's and random's a tenth of it), the median number of occurrences
of an atom (how sparse the fit is) and time; then a summary per setting, init
and revival.

Settings (``--settings``):

``issue``
    :func:`cdl.simulate_data`, 1 trial, 64 channels, 20000 samples, 8 atoms
    of 64 samples, 40 activations each, noise 0.01; reg 0.1, default
    ``n_iter`` (60). The simulation's seed is the random state of the fit.
``battery``
    Signals built here from the waveforms and patterns of ``simulate_data``
    (32 channels, atoms of 32 samples, 30 activations per atom and 1500
    samples per atom, amplitudes in [1, 2]), in cases (``--cases``): ``base``
    (8 atoms, noise 0.01), ``noise0.1``, ``noise0.3``, ``atoms4``,
    ``atoms16`` (noise 0.1), ``rare`` (2 of 8 atoms with 6 activations),
    ``amplitudes`` (atom k scaled by 4 ** (-k / 7): 1 down to 0.25), ``shifted``
    (atoms 1-3 have the waveform of atom 0 shifted by 3, 6, 9 samples);
    noise 0.1 unless named. reg 0.1, default ``n_iter``.
``eeg``
    EEGBCI S001R03-R10 (``--data``, default ``../shared/data/eegbci`` or
    ``CDL_DATA_EEGBCI``), band-passed (``--band``, default 2-45 Hz) with MNE,
    divided by its std; ``--eeg-atoms`` atoms (8) of ``--atom-duration`` s
    (0.5), reg ``--eeg-reg`` (0.2), ``--eeg-iter`` iterations (30);
    ``--reference average`` re-references the EEG to the average first
    (default ``none``: as recorded, as these figures were measured). Prints,
    per atom of the first random state, the top channels, peak frequency,
    occurrences and label of :func:`cdl.model.diagnostics.describe_atoms`.
``physiology``
    For the CLI defaults: each configuration of ``--grid``
    (``l_freq:h_freq:n_atoms:atom_s:reg``) on the ``--runs``, with the first
    init and seed, revival on; counts the runs where some atom (with at least
    5 occurrences) is labelled blink-like, alpha or mu, and gives the median
    |correlation| of two atoms' spatial patterns (``--reference`` as above).

``--alphacsc`` also fits alphacsc 0.4.1 (``make bench-peers``) from the same
initial dictionary (our ``init_dictionary`` for that init and seed) on the
``eeg`` runs and the ``issue`` simulation (alphacsc's z-step is plain Python:
about 80 s per EEG fit, several minutes per simulated one).

Examples::

    .venv/bin/python benchmarks/bench_inits.py --settings issue --seeds 0-4
    .venv/bin/python benchmarks/bench_inits.py --settings battery --inits chunk \\
        --cases base,rare --seeds 0-4
    .venv/bin/python benchmarks/bench_inits.py --settings eeg --runs 3,4 --inits ssa
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table  # noqa: E402

from cdl import BatchCDL, simulate_data  # noqa: E402
from cdl.dictionary import init_dictionary  # noqa: E402
from cdl.model.diagnostics import describe_atoms, flag_atoms  # noqa: E402
from cdl.model.occurrences import occurrence_counts  # noqa: E402
from cdl.model.similarity import duplicate_pairs, match_atoms  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
INITS = ("chunk", "greedy", "ssa", "random")
THRESHOLD = 0.95
DEAD = 5
CASES = dict(
    base=dict(n_atoms=8, noise=0.01),
    noise0_1=dict(n_atoms=8, noise=0.1),
    noise0_3=dict(n_atoms=8, noise=0.3),
    atoms4=dict(n_atoms=4, noise=0.1),
    atoms16=dict(n_atoms=16, noise=0.1),
    rare=dict(n_atoms=8, noise=0.1, rare=2),
    amplitudes=dict(n_atoms=8, noise=0.1, amplitudes=True),
    shifted=dict(n_atoms=8, noise=0.1, shifted=3),
)
CASE_ALIASES = {"noise0.1": "noise0_1", "noise0.3": "noise0_3"}


# -- problems --------------------------------------------------------------------
def issue_problem(seed):
    X, u, v, _ = simulate_data(n_trials=1, n_channels=64, n_times=20000, n_atoms=8,
                               n_times_atom=64, n_events=40, noise_level=0.01,
                               random_state=seed)
    return X, u, v


def battery_problem(case, seed, n_channels=32, n_times_atom=32, n_events=30,
                    per_atom=1500):
    """A signal of the battery: ``X``, ``u``, ``v`` (the truth)."""
    spec = CASES[case]
    n_atoms = spec["n_atoms"]
    rng = np.random.RandomState(1000 + seed)
    # The patterns and waveforms of simulate_data (its signal is not used).
    _, u, v, _ = simulate_data(n_trials=1, n_channels=n_channels,
                               n_times=n_times_atom, n_atoms=n_atoms,
                               n_times_atom=n_times_atom, n_events=1,
                               noise_level=0., random_state=seed)
    v = v.copy()
    for k in range(1, spec.get("shifted", 0) + 1):
        v[k] = np.roll(v[0], 3 * k)
        v[k, :3 * k] = 0.
        v[k] /= np.linalg.norm(v[k])
    n_times = per_atom * n_atoms
    n_valid = n_times - n_times_atom + 1
    z = np.zeros((n_atoms, n_valid))
    for k in range(n_atoms):
        n_k = 6 if k >= n_atoms - spec.get("rare", 0) else n_events
        onsets = np.sort(rng.choice(n_valid // n_times_atom, n_k, replace=False))
        onsets = onsets * n_times_atom + rng.randint(n_times_atom, size=n_k)
        onsets = np.minimum(onsets, n_valid - 1)
        scale = 4. ** (-k / (n_atoms - 1)) if spec.get("amplitudes") else 1.
        z[k, onsets] = scale * rng.uniform(1, 2, size=n_k)
    X = np.zeros((n_channels, n_times))
    for k in range(n_atoms):
        X += np.outer(u[k], np.convolve(z[k], v[k]))
    X += spec["noise"] * X.std() * rng.randn(*X.shape)
    return X[None], u, v


def eeg_problem(run, data, band, reference=None):
    fname = Path(data) / f"S001R{run:02d}.edf"
    if not fname.exists():
        return None
    import mne
    raw = mne.io.read_raw_edf(fname, preload=True, verbose=False)
    mne.datasets.eegbci.standardize(raw)
    if reference == "average":
        raw.set_eeg_reference("average", projection=False, verbose=False)
    raw.filter(band[0], band[1] if band[1] > 0 else None, verbose=False)
    X = raw.get_data()[None]
    return X / X.std(), raw.info


def pattern_similarity(u):
    """Median |correlation| of the spatial patterns of two atoms: near 1 when
    one pattern (e.g. a common mode of all electrodes) dominates every atom."""
    corr = np.abs(np.corrcoef(u))
    return float(np.median(corr[np.triu_indices(len(u), 1)]))


# -- one fit -----------------------------------------------------------------------
def fit_one(X, n_atoms, n_times_atom, reg, init, seed, revive, n_iter=None,
            D_init=None):
    kwargs = dict(n_atoms=n_atoms, n_times_atom=n_times_atom, reg=reg,
                  lmbd_max="scaled", random_state=seed, revive_atoms=revive,
                  D_init=init if D_init is None else D_init)
    if n_iter is not None:
        kwargs["n_iter"] = n_iter
    t_start = time.perf_counter()
    model = BatchCDL(**kwargs).fit(X)
    seconds = time.perf_counter() - t_start
    flags = flag_atoms(model.u_hat_, model.v_hat_, model.z_hat_,
                       min_occurrences=DEAD)
    return model, dict(
        reg_abs=float(np.max(model.reg_)),
        median_occurrences=float(np.median(occurrence_counts(model.z_hat_))),
        seconds=seconds, dead=len(flags["rare"]), duplicates=len(flags["duplicates"]),
        u_corr=pattern_similarity(model.u_hat_),
        objective=float(model.pobj_[-1]), n_iter=int(model.n_iter_),
        n_revived=sum(r["accepted"] for r in getattr(model, "revived_", [])),
        n_tried=len(getattr(model, "revived_", [])))


def recovered(model, u, v):
    matches = match_atoms(u, v, model.u_hat_, model.v_hat_)
    return sum(m["corr_u"] >= THRESHOLD and m["corr_v"] >= THRESHOLD
               for m in matches)


def alphacsc_fit(X, uv_init, reg, n_iter):
    from _peers import run_peer
    n_channels = X.shape[1]
    res = run_peer("batch_cdl", dict(
        X=X, uv_init=uv_init, n_atoms=uv_init.shape[0],
        n_times_atom=uv_init.shape[1] - n_channels, reg=reg, n_iter=n_iter,
        lmbd_max="scaled", tol=1e-3, max_iter=1000, eps=1e-10), timeout=3600)
    if res is None:
        return None
    z = res["z_hat"]
    return dict(objective=float(res["objective"]), seconds=float(res["time"]),
                n_iter=int(res["n_iter_run"]),
                dead=int(np.sum(occurrence_counts(z) < DEAD)),
                duplicates=len(duplicate_pairs(res["uv_hat"], n_channels)),
                uv=res["uv_hat"])


# -- settings ------------------------------------------------------------------------
def run_simulated(name, problems, n_atoms, n_times_atom, args, rows, summary):
    for label, seed, (X, u, v) in problems:
        for init in args.inits:
            for revive in args.revival:
                model, res = fit_one(X, n_atoms, n_times_atom, 0.1, init, seed,
                                     revive, n_iter=args.n_iter)
                res.update(setting=name, case=label, init=init, seed=seed,
                           revive=revive, recovered=recovered(model, u, v),
                           n_true=len(u))
                rows.append(res)
                _print_row(res)
        if args.alphacsc and name == "issue":
            for init in args.inits:
                uv_init = init_dictionary(X, n_atoms, n_times_atom, D_init=init,
                                          random_state=np.random.RandomState(seed))
                peer = alphacsc_fit(X, uv_init, 0.1, args.n_iter or 60)
                if peer is None:
                    continue
                _, ours = fit_one(X, n_atoms, n_times_atom, 0.1, init, seed, True,
                                  n_iter=args.n_iter or 60, D_init=uv_init)
                rows.append(dict(setting=name, case=label, init=init, seed=seed,
                                 revive="alphacsc", recovered=recovered(
                                     _as_model(peer["uv"], X.shape[1]), u, v),
                                 n_true=len(u), **{k: peer[k] for k in (
                                     "objective", "seconds", "n_iter", "dead",
                                     "duplicates")}, n_revived=0, n_tried=0,
                                 ours_same_init=ours["objective"]))
                _print_row(rows[-1])


class _as_model:
    def __init__(self, uv, n_channels):
        self.u_hat_, self.v_hat_ = uv[:, :n_channels], uv[:, n_channels:]


def run_eeg(args, rows):
    for run in args.runs:
        problem = eeg_problem(run, args.data, args.band, args.reference)
        if problem is None:
            print(f"S001R{run:02d}.edf not found in {args.data}: skipped.")
            continue
        X, info = problem
        n_times_atom = int(round(args.atom_duration * info["sfreq"]))
        for init in args.inits:
            for seed in args.seeds:
                for revive in args.revival:
                    model, res = fit_one(X, args.eeg_atoms, n_times_atom,
                                         args.eeg_reg, init, seed, revive,
                                         n_iter=args.eeg_iter)
                    res.update(setting="eeg", case=f"R{run:02d}", init=init,
                               seed=seed, revive=revive)
                    rows.append(res)
                    _print_row(res)
                    if args.describe and seed == args.seeds[0]:
                        _describe(model, info, f"R{run:02d} {init} revive={revive}")
            if args.alphacsc:
                seed = args.seeds[0]
                uv_init = init_dictionary(X, args.eeg_atoms, n_times_atom,
                                          D_init=init,
                                          random_state=np.random.RandomState(seed))
                peer = alphacsc_fit(X, uv_init, args.eeg_reg, args.eeg_iter)
                if peer is None:
                    continue
                outs = {}
                for revive in (False, True):
                    _, ours = fit_one(X, args.eeg_atoms, n_times_atom, args.eeg_reg,
                                      init, seed, revive, n_iter=args.eeg_iter,
                                      D_init=uv_init)
                    outs[revive] = ours["objective"]
                rows.append(dict(setting="eeg", case=f"R{run:02d}", init=init,
                                 seed=seed, revive="alphacsc",
                                 **{k: peer[k] for k in ("objective", "seconds",
                                                         "n_iter", "dead",
                                                         "duplicates")},
                                 n_revived=0, n_tried=0,
                                 ours_same_init=outs[True],
                                 ours_same_init_off=outs[False]))
                _print_row(rows[-1])


def run_physiology(args, rows):
    """CLI defaults: which band, atom length, number of atoms and reg find
    blinks, alpha and mu on the EEGBCI runs (labels of cdl.diagnostics)."""
    grid = [tuple(float(x) if i in (0, 1, 3, 4) else int(x)
                  for i, x in enumerate(item.split(":")))
            for item in args.grid.split(",")]
    table = []
    for l_freq, h_freq, n_atoms, duration, reg in grid:
        found = dict(blink=0, alpha=0, mu=0, dead=0, dup=0, fits=0, u_corr=[])
        labels_all = []
        for run in args.runs:
            problem = eeg_problem(run, args.data, (l_freq, h_freq),
                                  args.reference)
            if problem is None:
                continue
            X, info = problem
            n_times_atom = int(round(duration * info["sfreq"]))
            model, res = fit_one(X, n_atoms, n_times_atom, reg, args.inits[0],
                                 args.seeds[0], True, n_iter=args.eeg_iter)
            described = describe_atoms(model.u_hat_, model.v_hat_, model.z_hat_,
                                       info["ch_names"], info["sfreq"])
            labels = [r["label"] for r in described if not r["rare"]]
            found["blink"] += any(lab == "blink-like" for lab in labels)
            found["alpha"] += any(lab == "alpha" for lab in labels)
            found["mu"] += any(lab.startswith("mu") for lab in labels)
            found["dead"] += res["dead"]
            found["dup"] += res["duplicates"]
            found["u_corr"].append(res["u_corr"])
            found["fits"] += 1
            labels_all.append(f"R{run:02d}: " + "; ".join(
                f"{r['label']} {r['peak_hz']:.0f}Hz {r['top_channels'][0]}"
                f" n={r['occurrences']}" for r in described))
            rows.append(dict(res, setting="physiology", case=f"R{run:02d}",
                             init=args.inits[0], seed=args.seeds[0], revive=True,
                             config=[l_freq, h_freq, n_atoms, duration, reg],
                             labels=[r["label"] for r in described]))
        band = f"{l_freq:g}-{h_freq:g}" if h_freq > 0 else f"{l_freq:g}-"
        print(f"\nband {band} Hz, {n_atoms} atoms of {duration:g} s,"
              f" reg {reg:g}:\n  " + "\n  ".join(labels_all), flush=True)
        n = found["fits"]
        table.append([band, str(n_atoms), f"{duration:g}",
                      f"{reg:g}", f"{found['blink']}/{n}", f"{found['alpha']}/{n}",
                      f"{found['mu']}/{n}", str(found["dead"]), str(found["dup"]),
                      f"{np.median(found['u_corr']):.2f}"])
    print_table(f"Runs with a blink-like / alpha / mu atom (init {args.inits[0]}, "
                f"seed {args.seeds[0]}, {args.eeg_iter} iterations, reference "
                f"{args.reference}; |corr u|: median over runs of the median "
                f"|corr| of two atoms' spatial patterns)",
                ["band Hz", "atoms", "atom s", "reg", "blink", "alpha", "mu",
                 "dead", "dup pairs", "|corr u|"], table)


def _describe(model, info, title):
    rows = describe_atoms(model.u_hat_, model.v_hat_, model.z_hat_,
                          info["ch_names"], info["sfreq"])
    print_table(f"atoms of {title}", ["atom", "top channels", "peak Hz",
                                      "occurrences", "label", "flags"],
                [[str(r["atom"]), ",".join(r["top_channels"][:3]),
                  f"{r['peak_hz']:.1f}", str(r["occurrences"]), r["label"],
                  ("rare " if r["rare"] else "")
                  + (f"dup{r['duplicate_of']}" if r["duplicate_of"] else "")]
                 for r in rows])


def _print_row(res):
    rec = f" rec {res['recovered']}/{res['n_true']}" if "recovered" in res else ""
    extra = f" (cdl same init {res['ours_same_init']:.6g})" \
        if "ours_same_init" in res else ""
    print(f"{res['setting']:>7} {res['case']:>10} {res['init']:>6} seed {res['seed']}"
          f" revive={res['revive']!s:<8}{rec} dead {res['dead']} dup "
          f"{res['duplicates']} obj {res['objective']:.6g}{extra} it "
          f"{res['n_iter']} revived {res['n_revived']}/{res['n_tried']} "
          f"{_sparsity(res)}{res['seconds']:.1f}s", flush=True)


def _sparsity(res):
    if "reg_abs" not in res:  # alphacsc rows
        return ""
    return (f"reg {res['reg_abs']:.4g} median occ. "
            f"{res['median_occurrences']:.0f} ")


def summarise(rows):
    groups = {}
    for r in rows:
        groups.setdefault((r["setting"], r["case"] if r["setting"] != "issue"
                           else "", r["init"], str(r["revive"])), []).append(r)
    table = []
    for (setting, case, init, revive), rs in groups.items():
        sim = "recovered" in rs[0]
        all_rec = sum(r["recovered"] == r["n_true"] for r in rs) if sim else None
        table.append([setting, case, init, revive, str(len(rs)),
                      ",".join(str(r["recovered"]) for r in rs) if sim else "-",
                      f"{100 * all_rec / len(rs):.0f}%" if sim else "-",
                      ",".join(str(r["dead"]) for r in rs),
                      ",".join(str(r["duplicates"]) for r in rs),
                      f"{np.mean([r['objective'] for r in rs]):.6g}",
                      _mean(rs, "reg_abs", ".4g"),
                      _mean(rs, "median_occurrences", ".0f"),
                      f"{np.mean([r['seconds'] for r in rs]):.1f}"])
    print_table("Summary (per fit lists in seed order)",
                ["setting", "case", "init", "revive", "fits", "recovered",
                 "all recovered", "dead", "duplicate pairs", "mean objective",
                 "mean abs. reg", "median occurrences", "mean s"], table)


def _mean(rows, key, fmt):
    values = [r[key] for r in rows if key in r]
    return format(np.mean(values), fmt) if values else "-"


def _int_list(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.extend(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out


def _revival(text):
    return {"both": [False, True], "on": [True], "off": [False]}[text]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", default="issue,battery,eeg")
    parser.add_argument("--inits", default=",".join(INITS))
    parser.add_argument("--seeds", type=_int_list, default=_int_list("0-4"))
    parser.add_argument("--revival", type=_revival, default=[False, True],
                        help="both | on | off (revive_atoms)")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--n-iter", type=int, default=None,
                        help="simulations: n_iter (default: BatchCDL's, 60)")
    parser.add_argument("--data", default=os.environ.get(
        "CDL_DATA_EEGBCI", str(REPO.parent / "shared" / "data" / "eegbci")))
    parser.add_argument("--runs", type=_int_list, default=_int_list("3-10"))
    parser.add_argument("--band", type=lambda s: tuple(float(x) for x in s.split(",")),
                        default=(2., 45.))
    parser.add_argument("--reference", choices=("none", "average"), default="none",
                        help="eeg, physiology: EEG reference (none: as recorded)")
    parser.add_argument("--eeg-atoms", type=int, default=8)
    parser.add_argument("--atom-duration", type=float, default=0.5)
    parser.add_argument("--eeg-reg", type=float, default=0.2)
    parser.add_argument("--eeg-iter", type=int, default=30)
    parser.add_argument("--describe", action="store_true",
                        help="eeg: print each atom (first seed)")
    parser.add_argument("--grid", default="2:45:8:0.5:0.2,1:40:12:0.5:0.2",
                        help="physiology: configs l_freq:h_freq:n_atoms:"
                             "atom_s:reg, comma-separated (h_freq 0: none)")
    parser.add_argument("--alphacsc", action="store_true")
    parser.add_argument("--out", default=None, help="write all rows as JSON")
    args = parser.parse_args(argv)
    args.inits = args.inits.split(",")
    settings = args.settings.split(",")
    rows = []
    if "issue" in settings:
        problems = [("", s, issue_problem(s)) for s in args.seeds]
        run_simulated("issue", problems, 8, 64, args, rows, None)
    if "battery" in settings:
        for case in args.cases.split(","):
            case = CASE_ALIASES.get(case, case)
            problems = [(case, s, battery_problem(case, s)) for s in args.seeds]
            run_simulated("battery", problems, CASES[case]["n_atoms"], 32, args,
                          rows, None)
    if "eeg" in settings:
        run_eeg(args, rows)
    if "physiology" in settings:
        run_physiology(args, rows)
    summarise(rows)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
