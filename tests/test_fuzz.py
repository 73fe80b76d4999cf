"""Property-based tests: every public function on valid and broken inputs.

Each test draws inputs that are valid or deliberately broken (NaN or inf at a
random place, empty or inconsistent shapes, complex or object dtypes, huge
values, negative or non-finite reg, bad options) and also varies what valid
inputs may look like (dtypes, byte order, non-contiguous memory, zero
variance, atoms of length 1, huge reg). The property: valid inputs give a
finite result of the right shape (and a few correctness checks); broken inputs
raise a ValueError or TypeError that names the offending parameter; anything
else (a numba error, an IndexError, NaN in the output, a hang) fails.

The budget is fixed (1000 examples per test, ``derandomize=True``: the same
examples on every run) so the whole file runs in well under two minutes.
"""
import os
import re
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cdl import (  # noqa: E402
    BatchCDL,
    GreedyCDL,
    OnlineCDL,
    compute_objective,
    lambda_max,
    reconstruct,
    simulate_data,
    sparse_encode,
    sparse_encode_chunked,
)
from cdl.dictionary import init_dictionary  # noqa: E402

# CDL_FUZZ_EXAMPLES=5000 CDL_FUZZ_RANDOM=1 runs a longer, randomised campaign.
BUDGET = settings(
    max_examples=int(os.environ.get("CDL_FUZZ_EXAMPLES", 1000)), deadline=None,
    derandomize=not os.environ.get("CDL_FUZZ_RANDOM"), database=None,
    suppress_health_check=list(HealthCheck))
DTYPES = ["float64", "float32", ">f8", ">f4", "float16", "int16", "int64",
          "uint8", "bool"]
LIMITS = {"float64": 1e100, "float32": 1e12}


class Case:
    """Inputs of one example and the names of the parameters that are broken."""

    def __init__(self):
        self.broken = set()

    @classmethod
    def of(cls, broken):
        case = cls()
        case.broken = set(broken)
        return case

    def check_error(self, err):
        """A clean error must name one of the broken parameters."""
        assert isinstance(err, (ValueError, TypeError)), repr(err)
        assert self.broken, f"valid input refused: {err!r}"
        message = str(err)
        # Atoms longer than the signal: naming either side is right.
        names = set(self.broken) | ({"X", "D", "n_times"}
                                    if "n_times_atom" in self.broken else set())
        named = [name for name in names
                 if re.search(rf"(^|[^a-zA-Z_]){re.escape(name)}([^a-zA-Z_]|$)",
                              message)]
        assert named, f"{err!r} does not name any of {sorted(self.broken)}"


def _values(draw, shape, kind):
    rng = np.random.RandomState(draw(st.integers(0, 2 ** 31 - 1)))
    if kind == "zeros":
        return np.zeros(shape)
    if kind == "constant":
        return np.full(shape, draw(st.sampled_from([1., -3.5, 1e5])))
    scale = draw(st.sampled_from([1e-12, 1e-5, 1., 1e3, 1e6]))
    return scale * rng.randn(*shape)


@st.composite
def arrays(draw, case, name, shape, allow_ints=True, layout=True):
    """An array for parameter ``name``; may be broken (recorded in ``case``)."""
    kind = draw(st.sampled_from(["randn"] * 6 + ["zeros", "constant"]))
    values = _values(draw, shape, kind)
    dtypes = DTYPES if allow_ints else DTYPES[:5]
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    if dtype.kind in "iub":
        info = np.iinfo(dtype) if dtype.kind != "b" else None
        values = np.round(values) if info is None else np.clip(
            np.round(values), info.min, info.max)
    if dtype.kind == "f" and dtype.itemsize == 2:
        values = np.clip(values, -6e4, 6e4)
    breakage = draw(st.sampled_from(["none"] * 30 + ["nan", "inf", "huge",
                                                     "complex", "object"]))
    if breakage in ("nan", "inf") and values.size:
        flat = values.astype(np.float64).ravel()
        flat[draw(st.integers(0, flat.size - 1))] = np.nan if breakage == "nan" \
            else -np.inf
        values, dtype = flat.reshape(shape), np.dtype(np.float64)
        case.broken.add(name)
    elif breakage == "huge" and values.size:
        values = values.astype(np.float64)
        values.flat[0] = 1e200
        dtype = np.dtype(np.float64)
        case.broken.add(name)
    elif breakage == "complex":
        case.broken.add(name)
        return values.astype(complex)
    elif breakage == "object":
        case.broken.add(name)
        return values.astype(object)
    out = values.astype(dtype)
    if layout and out.ndim >= 2 and draw(st.booleans()):
        out = np.asfortranarray(out)  # not C-contiguous
    elif layout and out.ndim >= 1 and draw(st.booleans()):
        wide = np.zeros(out.shape[:-1] + (2 * out.shape[-1],), dtype=out.dtype)
        wide[..., ::2] = out
        out = wide[..., ::2]  # strided view
    return out


@st.composite
def problems(draw, allow_empty=True):
    """X, D (uv or full rank) and reg; any of them may be broken."""
    case = Case()
    empty = allow_empty and draw(st.integers(0, 19)) == 0
    n_trials = draw(st.integers(0 if empty else 1, 3))
    n_channels = draw(st.integers(1, 4))
    n_times = draw(st.integers(1, 40)) if not empty or n_trials == 0 else 0
    n_atoms = draw(st.integers(1, 3))
    n_times_atom = draw(st.integers(1, min(12, n_times + 2)))
    if 0 in (n_trials, n_times):
        case.broken.add("X")
    if n_times_atom > n_times:
        case.broken.add("n_times_atom")
    X = draw(arrays(case, "X", (n_trials, n_channels, n_times)))
    if draw(st.booleans()) and n_trials == 1:
        X = X[0]  # one trial as a 2-D array
    rank1 = draw(st.booleans())
    shape = (n_atoms, n_channels + n_times_atom) if rank1 else \
        (n_atoms, n_channels, n_times_atom)
    D = draw(arrays(case, "D", shape, allow_ints=False))
    if draw(st.integers(0, 9)) == 0:  # wrong number of channels
        D = np.ones((n_atoms, n_channels + 1, n_times_atom))
        case.broken.add("D")
    X_dtype = np.dtype(X.dtype) if X.dtype.kind == "f" else None
    native = X_dtype.newbyteorder("=").name if X_dtype is not None else None
    if native in LIMITS and "X" not in case.broken and X.size \
            and np.abs(X.astype(float)).max() > LIMITS[native]:
        case.broken.add("X")
    reg_kind = draw(st.sampled_from(["frac"] * 15 + ["zero", "huge", "array"] * 2
                                    + ["negative", "nan", "inf", "shape",
                                       "string"]))
    reg = {"frac": draw(st.floats(0.01, 1.5)), "zero": 0., "huge": 1e300,
           "array": np.linspace(0.1, 1., n_atoms), "negative": -0.1,
           "nan": np.nan, "inf": np.inf, "shape": np.ones(n_atoms + 1),
           "string": "0.1"}[reg_kind]
    if reg_kind in ("negative", "nan", "inf", "shape", "string"):
        case.broken.add("reg")
    return case, X, D, reg


def _as_float(a):
    return np.asarray(a, dtype=np.float64)


def _run(case, func, relevant=None):
    """Call ``func``; check a clean error or return the result (None on error).

    ``relevant``: the parameters ``func`` takes (others' breakage is ignored).
    """
    if relevant is not None:
        case = Case.of(case.broken & set(relevant))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = func()
    except Exception as err:  # noqa: BLE001 -- the property is about the type
        case.check_error(err)
        hypothesis.event(f"refused: {type(err).__name__}")
        return None
    hypothesis.event("accepted (valid input)" if not case.broken
                     else "accepted BROKEN input")
    return out


def _scaled_reg(X, D, reg):
    """reg given as a fraction of lambda_max, when it is a plain number."""
    if isinstance(reg, float) and 0 < reg < 10:
        try:
            return reg * lambda_max(X, D)
        except (ValueError, TypeError):
            return reg
    return reg


@BUDGET
@given(problems(), st.sampled_from(["lgcd", "gcd", "fista", "l-bfgs"]),
       st.booleans())
def test_fuzz_sparse_encode(problem, solver, positive):
    case, X, D, reg = problem
    reg = _scaled_reg(X, D, reg)
    out = _run(case, lambda: sparse_encode(X, D, reg, solver=solver,
                                           positive=positive, max_iter=200,
                                           return_info=True))
    if out is None:
        return
    assert not case.broken, f"broken input {sorted(case.broken)} accepted"
    z, info = out
    Xf = _as_float(X)
    Xf = Xf[None] if Xf.ndim == 2 else Xf
    n_times_atom = D.shape[-1] - Xf.shape[1] if D.ndim == 2 else D.shape[2]
    assert z.shape == (Xf.shape[0], D.shape[0], Xf.shape[2] - n_times_atom + 1)
    assert np.all(np.isfinite(z)) and np.isfinite(info["objective"])
    if positive:
        assert z.min() >= 0
    # Never worse than z = 0 (up to rounding in float32).
    zero_objective = 0.5 * np.sum(Xf ** 2)
    assert info["objective"] <= zero_objective * (1 + 1e-4) + 1e-300
    if np.all(np.asarray(reg, dtype=float) >= lambda_max(X, D)) and X.size:
        assert not np.any(z)


@BUDGET
@given(problems(), st.booleans())
def test_fuzz_lambda_max_objective_reconstruct(problem, per_atom):
    case, X, D, reg = problem
    lmbd = _run(case, lambda: lambda_max(X, D, per_atom=per_atom),
                ("X", "D", "n_times_atom"))
    if lmbd is not None:
        assert np.all(np.isfinite(lmbd)) and np.all(np.asarray(lmbd) >= 0)
        assert np.shape(lmbd) == ((D.shape[0],) if per_atom else ())
    Xf = _as_float(X) if X.dtype.kind in "biuf" else X
    Xf = Xf[None] if Xf.ndim == 2 else Xf
    n_times_atom = D.shape[-1] - Xf.shape[1] if D.ndim == 2 else D.shape[2]
    n_times_valid = max(Xf.shape[2] - n_times_atom + 1, 0)
    z = np.abs(np.random.RandomState(0).randn(Xf.shape[0], D.shape[0],
                                              n_times_valid))
    obj = _run(case, lambda: compute_objective(X, z, D, reg))
    if obj is not None:
        assert np.isfinite(obj) and obj >= 0
    X_hat = _run(case, lambda: reconstruct(z, D, Xf.shape[1]), ("D",))
    if X_hat is not None:
        assert np.all(np.isfinite(X_hat))
        assert X_hat.shape == (z.shape[0], Xf.shape[1],
                               n_times_valid + n_times_atom - 1)


@BUDGET
@given(problems(allow_empty=False), st.integers(1, 30), st.integers(0, 20))
def test_fuzz_sparse_encode_chunked(problem, chunk_len, margin):
    case, X, D, reg = problem
    reg = _scaled_reg(X, D, reg)
    n_channels = X.shape[-2]
    n_times_atom = D.shape[-1] - n_channels if D.ndim == 2 else D.shape[2]
    if margin < n_times_atom - 1:
        case.broken.add("margin")
    out = _run(case, lambda: sparse_encode_chunked(
        X, D, reg, chunk_len=chunk_len, margin=margin, max_iter=200,
        return_info=True))
    if out is None:
        return
    assert not case.broken, f"broken input {sorted(case.broken)} accepted"
    z, info = out
    assert all(np.all(np.isfinite(z_n.data)) for z_n in z)
    assert np.isfinite(info["objective"])
    assert info["objective"] <= 0.5 * np.sum(_as_float(X) ** 2) * (1 + 1e-4) \
        + 1e-300


OPTIONS = dict(  # valid values repeated: about half the examples are valid
    tol=[1e-3, 1e-8, 0.] * 6 + [-1., np.nan, np.inf, "1e-3"],
    max_iter=[1, 50] * 9 + [0, -5, 2.5, True],
    stop=["tol", "gap"] * 10 + ["duality"],
    solver_kwargs=[None, {}, {"seg_len": 3}] * 6 + [{"seg_len": 0}, {"foo": 1},
                                                    [1]],
    n_jobs=[1, None] * 10 + [0, "2"],
    positive=[True, False] * 10 + ["yes"],
    z0=["none", "zeros"] * 9 + ["nan", "negative", "shape", "2d"],
)
BAD_OPTIONS = dict(
    tol=[-1., np.nan, np.inf, "1e-3"], max_iter=[0, -5, 2.5, True],
    stop=["duality"], solver_kwargs=[{"seg_len": 0}, {"foo": 1}, [1]],
    n_jobs=[0, "2"], positive=["yes"])


@BUDGET
@given(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in OPTIONS.items()}),
       st.sampled_from(["lgcd", "gcd", "fista", "l-bfgs"]))
def test_fuzz_sparse_encode_options(options, solver):
    rng = np.random.RandomState(0)
    X, D = rng.randn(2, 3, 30), rng.randn(2, 3 + 5)
    case = Case.of(k for k, v in options.items()
                   if any(v is bad or (isinstance(v, float) and
                                       isinstance(bad, float) and
                                       (v == bad or (np.isnan(v) and
                                                     np.isnan(bad))))
                          or (type(v) is type(bad) and v == bad)
                          for bad in BAD_OPTIONS.get(k, [])))
    kwargs = dict(options)
    z0 = kwargs.pop("z0")
    if kwargs["solver_kwargs"] == {"seg_len": 3} and solver != "lgcd":
        kwargs["solver_kwargs"] = None  # seg_len is an LGCD option
    z0 = {"none": None, "zeros": np.zeros((2, 2, 26)),
          "nan": np.full((2, 2, 26), np.nan), "negative": -np.ones((2, 2, 26)),
          "shape": np.zeros((2, 2, 25)), "2d": np.zeros((2, 26))}[z0]
    if z0 is not None and (z0.ndim == 2 or z0.shape[2] != 26
                           or np.isnan(z0).any()):
        case.broken.add("z0")
    if z0 is not None and z0.min() < 0 and kwargs["positive"] is True:
        case.broken.add("z0")
    out = _run(case, lambda: sparse_encode(X, D, 0.1 * lambda_max(X, D),
                                           solver=solver, z0=z0, **kwargs))
    if out is not None:
        assert not case.broken, f"broken input {sorted(case.broken)} accepted"
        assert np.all(np.isfinite(out)) and out.shape == (2, 2, 26)


@st.composite
def estimator_params(draw):
    case = Case()
    params = dict(
        n_atoms=draw(st.integers(1, 3)), n_times_atom=draw(st.integers(1, 8)),
        reg=draw(st.sampled_from([0., 0.05, 0.3, 0.99, 5.])),
        n_iter=draw(st.integers(1, 3)), rank1=draw(st.booleans()),
        window=draw(st.booleans()),
        D_init=draw(st.sampled_from(["random", "chunk", "greedy", "ssa", None])),
        lmbd_max=draw(st.sampled_from(["fixed", "scaled", "per_atom", "shared"])),
        dtype=draw(st.sampled_from([None, "float32", "float64"])),
        solver_z=draw(st.sampled_from(["lgcd", "fista"])),
        positive=draw(st.booleans()), random_state=0,
        chunk_len=draw(st.sampled_from([None, None, 1, 7, 50])))
    if params["chunk_len"] is not None:
        params["solver_z"] = "lgcd"
    cls = draw(st.sampled_from([BatchCDL, BatchCDL, OnlineCDL, GreedyCDL]))
    bad = draw(st.sampled_from([None] * 20 + [
        "n_atoms", "reg", "n_iter", "dtype", "solver_z", "rank1", "D_init",
        "solver_z_kwargs", "solver_d_kwargs", "chunk_len", "n_jobs"]))
    if bad is not None:
        params[bad] = {"n_atoms": 0, "reg": -1., "n_iter": 1.5,
                       "dtype": "int8", "solver_z": "ista", "rank1": "yes",
                       "D_init": "pca", "solver_z_kwargs": {"tol": -1.},
                       "solver_d_kwargs": {"step": 1}, "chunk_len": 0,
                       "n_jobs": 0}[bad]
        case.broken.add(bad)
    return case, cls, params


@BUDGET
@given(estimator_params(), st.data())
def test_fuzz_estimators(estimator_case, data):
    case, cls, params = estimator_case
    n_channels, n_times = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 40))
    X = data.draw(arrays(case, "X", (data.draw(st.integers(1, 2)), n_channels,
                                     n_times)))
    if params["n_times_atom"] > n_times:
        case.broken.add("n_times_atom")
    if X.dtype.kind == "f" and "X" not in case.broken:
        limit = LIMITS["float32"] if params["dtype"] == "float32" else \
            LIMITS.get(X.dtype.newbyteorder("=").name, LIMITS["float64"])
        if np.abs(X.astype(float)).max() > limit:
            case.broken.add("X")
    model = _run(case, lambda: cls(**params).fit(X))
    if model is None:
        return
    assert not case.broken, f"broken input {sorted(case.broken)} accepted"
    n_atoms, n_times_atom = params["n_atoms"], params["n_times_atom"]
    assert model.D_hat_.shape == (n_atoms, n_channels, n_times_atom)
    for name in ("D_hat_", "z_hat_", "pobj_", "reg_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    # Batch learning with a fixed reg never increases the objective (online
    # learning sees minibatches; 'shared'/'per_atom' change reg).
    if cls is BatchCDL and params["lmbd_max"] in ("fixed", "scaled"):
        assert np.all(np.diff(model.pobj_) <= 1e-3 * abs(model.pobj_[0]) + 1e-12)
    z = _run(case, lambda: model.transform(X))
    assert z is not None and np.all(np.isfinite(z))
    assert z.shape == model.z_hat_.shape


@BUDGET
@given(st.data())
def test_fuzz_simulate_and_init(data):
    case = Case()
    ints = {name: data.draw(st.sampled_from([1, 2, 3] * 6 + [0, -1, 2.5]))
            for name in ("n_trials", "n_channels", "n_atoms")}
    ints["n_times"] = data.draw(st.sampled_from([1, 16, 64] * 6 + [0]))
    ints["n_times_atom"] = data.draw(st.sampled_from([1, 4, 16] * 6 + [100]))
    for name, value in ints.items():
        if not isinstance(value, int) or value < 1:
            case.broken.add(name)
    if ints["n_times_atom"] > ints["n_times"]:
        case.broken.add("n_times_atom")
    noise = data.draw(st.sampled_from([0., 0.1] * 6 + [-1., np.nan]))
    if not noise >= 0:
        case.broken.add("noise_level")
    out = _run(case, lambda: simulate_data(noise_level=noise, random_state=0,
                                           **ints))
    if out is None:
        return
    assert not case.broken, f"broken input {sorted(case.broken)} accepted"
    X = out[0]
    assert all(np.all(np.isfinite(a)) for a in out)
    D_init = data.draw(st.sampled_from(["random", "chunk", "greedy", "ssa"]))
    rank1 = data.draw(st.booleans())
    D = init_dictionary(X, ints["n_atoms"], ints["n_times_atom"], D_init=D_init,
                        rank1=rank1, random_state=0)
    assert np.all(np.isfinite(D))


# Failures the randomised campaigns found (fixed since), kept as plain tests.
FOUND = [
    # float32 X with a huge reg: reg became inf in float32, objective NaN.
    (np.array([[[1.76e-12]]], np.float32), np.array([[[1.76e-12]]]), 1e300,
     "lgcd", False),
    # float32 FISTA, atoms of norm 1e10: the power iteration overflowed in
    # float32, the Lipschitz constant came out as 1 and FISTA diverged to inf.
    (np.array([[[1.7640524]]], np.float32), np.array([[1e5, 1e5]]), 0.5, "fista",
     False),
    # reg / ||D_k||^2 beyond float64's range in the LGCD kernel: NaN.
    (np.zeros((1, 1, 1)), np.array([[[1.76e-12]]]), 1e300, "lgcd", False),
    (np.ones((1, 1, 1)), np.array([[[1.76e-12]]]), 1e300, "lgcd", True),
]


@pytest.mark.parametrize("X, D, reg, solver, positive", FOUND)
def test_fuzz_findings(X, D, reg, solver, positive):
    if reg < 10:
        reg = reg * lambda_max(X, D)
    z, info = sparse_encode(X, D, reg, solver=solver, positive=positive,
                            max_iter=200, return_info=True)
    assert np.all(np.isfinite(z)) and np.isfinite(info["objective"])
    assert info["objective"] <= 0.5 * np.sum(X.astype(float) ** 2) * (1 + 1e-4) \
        + 1e-300


def test_fuzz_finding_greedy_more_atoms_than_iterations():
    # GreedyCDL added atoms at int(linspace(0, n_iter, n_atoms)): with
    # n_iter < n_atoms several fell on the same iteration and were lost.
    X = np.random.RandomState(0).randn(1, 1, 30)
    model = GreedyCDL(n_atoms=3, n_times_atom=2, n_iter=1, random_state=0).fit(X)
    assert model.D_hat_.shape == (3, 1, 2)
    assert model.z_hat_.shape == (1, 3, 29)
