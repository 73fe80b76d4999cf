"""Kernels of DICOD workers and of 2-D atoms, against plain numpy references."""
import numpy as np
import pytest

from cdl._kernels import conv2d, dicod_lgcd
from cdl._kernels.stats import compute_DtD_full_rank


def ref_correlate(X, D):
    n_atoms, _, a_h, a_w = D.shape
    out = np.zeros((n_atoms, X.shape[1] - a_h + 1, X.shape[2] - a_w + 1))
    for k in range(n_atoms):
        for h in range(out.shape[1]):
            for w in range(out.shape[2]):
                out[k, h, w] = np.sum(D[k] * X[:, h:h + a_h, w:w + a_w])
    return out


def ref_reconstruct(z, D):
    n_atoms, n_channels, a_h, a_w = D.shape
    X = np.zeros((n_channels, z.shape[1] + a_h - 1, z.shape[2] + a_w - 1))
    for k, h, w in zip(*np.nonzero(z)):
        X[:, h:h + a_h, w:w + a_w] += z[k, h, w] * D[k]
    return X


def ref_DtD(D):
    n_atoms, _, a_h, a_w = D.shape
    out = np.zeros((n_atoms, n_atoms, 2 * a_h - 1, 2 * a_w - 1))
    pad = np.zeros(D.shape[:2] + (3 * a_h - 2, 3 * a_w - 2))
    pad[:, :, a_h - 1:2 * a_h - 1, a_w - 1:2 * a_w - 1] = D
    for k in range(n_atoms):
        for m in range(n_atoms):
            for dh in range(2 * a_h - 1):
                for dw in range(2 * a_w - 1):
                    # sum D[k, c, i, j] D[m, c, i + dh - a_h + 1, j + dw - a_w + 1]
                    out[k, m, dh, dw] = np.sum(
                        D[k] * pad[m, :, dh:dh + a_h, dw:dw + a_w])
    return out


@pytest.fixture
def problem2d():
    rng = np.random.RandomState(0)
    D = rng.randn(3, 2, 4, 5)
    X = rng.randn(2, 17, 19)
    z = rng.rand(3, 14, 15) * (rng.rand(3, 14, 15) < 0.2)
    return X, D, z


def test_conv2d_against_numpy(problem2d):
    X, D, z = problem2d
    np.testing.assert_allclose(conv2d.correlate_2d(X, D), ref_correlate(X, D))
    np.testing.assert_allclose(conv2d.reconstruct_2d(z, D), ref_reconstruct(z, D))
    np.testing.assert_allclose(conv2d.compute_DtD_2d(D), ref_DtD(D))
    # A 1-D dictionary is a 2-D one of height 1: same DtD as the 1-D kernel.
    D1 = D[:, :, 0, :].copy()
    np.testing.assert_allclose(conv2d.compute_DtD_2d(D1[:, :, None, :])[:, :, 0],
                               compute_DtD_full_rank(D1))


@pytest.mark.parametrize("origin, shape", [((0, 0), (17, 19)), ((5, 7), (6, 4)),
                                           ((0, 12), (17, 7)), ((13, 0), (4, 3))])
def test_subtract_model_on_any_window_of_samples(problem2d, origin, shape):
    X, D, z = problem2d
    window = (slice(origin[0], origin[0] + shape[0]),
              slice(origin[1], origin[1] + shape[1]))
    R = X[:, window[0], window[1]].copy()
    conv2d.subtract_model(R, np.ascontiguousarray(z.transpose(1, 2, 0)), D,
                          np.array(origin, dtype=np.int64))
    expected = X - ref_reconstruct(z, D)
    np.testing.assert_allclose(R, expected[:, window[0], window[1]], atol=1e-12)


def test_l1_and_nonzeros_of_a_box(problem2d):
    _, _, z = problem2d
    z[1] *= -1
    zp = np.ascontiguousarray(z.transpose(1, 2, 0))
    box = np.array([2, 11, 3, 9], dtype=np.int64)
    part = z[:, 2:11, 3:9]
    weights = np.array([0.5, 1., 2.])
    assert conv2d.weighted_l1_box(zp, box, weights) == pytest.approx(
        np.sum(weights[:, None, None] * np.abs(part)))
    (h, w, k), values = conv2d.nonzeros_box(zp, box)
    rebuilt = np.zeros_like(part)
    rebuilt[k, h, w] = values
    np.testing.assert_array_equal(rebuilt, part)
    assert len(values) == np.count_nonzero(part)


def test_ztz_ztX_box(problem2d):
    X, D, z = problem2d
    a_h, a_w = D.shape[2:]
    box = np.array([3, 9, 2, 11], dtype=np.int64)
    ztz = np.zeros((3, 3, 2 * a_h - 1, 2 * a_w - 1))
    conv2d.accumulate_ztz_box(z, box, ztz)
    ref = np.zeros_like(ztz)
    H, W = z.shape[1:]
    for k, h, w in zip(*np.nonzero(z)):
        if not (box[0] <= h < box[1] and box[2] <= w < box[3]):
            continue
        for dh in range(-a_h + 1, a_h):
            for dw in range(-a_w + 1, a_w):
                if 0 <= h + dh < H and 0 <= w + dw < W:
                    ref[k, :, dh + a_h - 1, dw + a_w - 1] += (
                        z[k, h, w] * z[:, h + dh, w + dw])
    np.testing.assert_allclose(ztz, ref)
    ztX = np.zeros((3, 2, a_h, a_w))
    conv2d.accumulate_ztX_box(z, box, X, np.array([0, 0], dtype=np.int64), ztX)
    ref = np.zeros_like(ztX)
    for k, h, w in zip(*np.nonzero(z)):
        if box[0] <= h < box[1] and box[2] <= w < box[3]:
            ref[k] += z[k, h, w] * X[:, h:h + a_h, w:w + a_w]
    np.testing.assert_allclose(ztX, ref)


def _g(X, D, z, reg, norms):
    """g = (beta - reg) / ||D_k||^2, position-major (H, W, n_atoms)."""
    beta = ref_correlate(X - ref_reconstruct(z, D), D) + z * norms[:, None, None]
    return ((beta - reg[:, None, None]) / norms[:, None, None]).transpose(1, 2, 0)


def _segment_bests(g, z, own, seg_shape):
    """Best |candidate change| of every segment (positive), by brute force."""
    change = np.abs(np.maximum(g, 0) - z)
    bests = []
    for h0 in range(own[0], own[1], seg_shape[0]):
        for w0 in range(own[2], own[3], seg_shape[1]):
            bests.append(change[h0:min(h0 + seg_shape[0], own[1]),
                                w0:min(w0 + seg_shape[1], own[3])].max())
    return np.array(bests)


def _as_float32(bits):
    return np.asarray(bits, dtype=np.int32).view(np.float32)


def test_apply_update_keeps_g_and_segments_exact(problem2d):
    """g on the extended box and the segment bests stay exact after updates
    made inside the own box and received from outside it."""
    X, D, _ = problem2d
    rng = np.random.RandomState(1)
    n_atoms, H, W = 3, 14, 15
    DtD = conv2d.compute_DtD_2d(D)
    norms = np.array([DtD[k, k, 3, 4] for k in range(n_atoms)])
    reg = np.full(n_atoms, 0.5)
    DtD_t = dicod_lgcd.transpose_dtd(DtD, 1 / norms)
    shift = np.tile(2 * reg / norms, 64)
    own = np.array([4, 10, 5, 11], dtype=np.int64)
    ext = np.array([1, 13, 1, 15], dtype=np.int64)
    seg_shape = np.array([4, 4], dtype=np.int64)
    seg = [np.zeros(4, dtype=np.int64) for _ in range(2)]
    z = np.zeros((n_atoms, H, W))
    g = np.ascontiguousarray(_g(X, D, z, reg, norms))
    z_t = np.zeros((H, W, n_atoms))
    buf = np.zeros(64 * n_atoms, dtype=np.float32)
    dicod_lgcd.init_segments(g.ravel(), z_t.ravel(), shift, True, W, n_atoms, own,
                             seg_shape, *seg, buf)
    for _ in range(40):
        k, h, w = rng.randint(n_atoms), rng.randint(H), rng.randint(W)
        dz = rng.rand()
        dicod_lgcd.apply_update(g.ravel(), z_t.ravel(), DtD_t, shift, True, W, k, h,
                                w, dz, own, ext, seg_shape, *seg, buf)
    z = z_t.transpose(2, 0, 1)
    ref = _g(X, D, z, reg, norms)
    np.testing.assert_allclose(g[ext[0]:ext[1], ext[2]:ext[3]],
                               ref[ext[0]:ext[1], ext[2]:ext[3]], atol=1e-10)
    np.testing.assert_allclose(_as_float32(seg[0]),
                               _segment_bests(ref, z_t, own, seg_shape), rtol=1e-6)


def test_sweep_single_worker_converges():
    """One worker owning everything: LGCD reaches the optimality conditions."""
    rng = np.random.RandomState(2)
    n_atoms, W = 2, 200
    D = rng.randn(n_atoms, 3, 1, 12)
    D /= np.linalg.norm(D.reshape(n_atoms, -1), axis=1)[:, None, None, None]
    z_true = rng.rand(n_atoms, 1, W) * (rng.rand(n_atoms, 1, W) < 0.03)
    X = ref_reconstruct(z_true, D) + 0.05 * rng.randn(3, 1, W + 11)
    DtD = conv2d.compute_DtD_2d(D)
    norms = np.array([DtD[k, k, 0, 11] for k in range(n_atoms)])
    reg = np.full(n_atoms, 0.1)
    DtD_t = dicod_lgcd.transpose_dtd(DtD, 1 / norms)
    shift = np.tile(2 * reg / norms, 64)
    g = np.ascontiguousarray(_g(X, D, np.zeros((n_atoms, 1, W)), reg, norms))
    z_t = np.zeros((1, W, n_atoms))
    box = np.array([0, 1, 0, W], dtype=np.int64)
    seg_shape = np.array([1, 24], dtype=np.int64)
    seg = [np.zeros(9, dtype=np.int64) for _ in range(2)]
    buf = np.zeros(64 * n_atoms, dtype=np.float32)
    out = np.zeros((9 * 1000, 4))
    dicod_lgcd.init_segments(g.ravel(), z_t.ravel(), shift, True, W, n_atoms, box,
                             seg_shape, *seg, buf)
    n_up, n_out, n_locked, n_passes, change = dicod_lgcd.sweep(
        g.ravel(), z_t.ravel(), DtD_t, shift, True, W, 1e-12, box, box, box,
        seg_shape, *seg, dicod_lgcd.LOCK_BORDER, 1e-6, False, 0, 1000, out, buf)
    assert change <= 1e-12 and n_out == 0 and n_locked == 0 and n_up > 0
    z = z_t.transpose(2, 0, 1)
    corr = ref_correlate(X - ref_reconstruct(z, D), D)
    assert np.all(corr <= reg[:, None, None] + 1e-9)
    np.testing.assert_allclose(corr[z > 0], 0.1, atol=1e-9)
