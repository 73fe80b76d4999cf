"""Geometry of DICOD (no communication): segments, margins, neighbours, routes."""
import itertools

import numpy as np
import pytest

from dicod import Segmentation


@pytest.mark.parametrize("n_workers", [1, 2, 3, 7])
def test_1d_segments_tile_the_signal(n_workers):
    seg = Segmentation((1000,), (16,), (n_workers,))
    assert seg.n_workers == n_workers and seg.ndim == 1
    owns = [seg.own(i) for i in range(n_workers)]
    assert owns[0][2] == 0 and owns[-1][3] == 1000
    for a, b in zip(owns[:-1], owns[1:]):
        assert a[3] == b[2]  # contiguous
    sizes = [o[3] - o[2] for o in owns]
    assert max(sizes) - min(sizes) <= 1
    assert all(o[:2] == (0, 1) for o in owns)
    # The signal boxes tile the signal: 1000 + 16 - 1 samples.
    covered = np.zeros(1015, int)
    for i in range(n_workers):
        box = seg.signal_box(i)
        covered[box[2]:box[3]] += 1
    assert np.all(covered == 1)


def test_1d_margins_neighbours_and_core():
    seg = Segmentation((1000,), (16,), (4,))
    assert seg.own(1) == (0, 1, 250, 500)
    assert seg.extended(1) == (0, 1, 235, 515)
    assert seg.window(1) == (0, 1, 220, 530)
    assert seg.extended(0) == (0, 1, 0, 265)  # clipped at the signal start
    assert seg.core(1) == (0, 1, 280, 470)
    assert seg.core(0) == (0, 1, 0, 220)  # no neighbour on the left
    assert seg.neighbours(0) == [1]
    assert seg.neighbours(1) == [0, 2]
    assert seg.neighbours(3) == [2]


def test_route_matches_windows():
    seg = Segmentation((100, 120), (5, 6), (3, 2))
    rng = np.random.RandomState(0)
    for i in range(seg.n_workers):
        h0, h1, w0, w1 = seg.own(i)
        points = np.column_stack([rng.randint(h0, h1, 500), rng.randint(w0, w1, 500)])
        routes = dict(seg.route(i, points))
        for j in range(seg.n_workers):
            if j == i:
                continue
            b = seg.window(j)
            inside = ((points[:, 0] >= b[0]) & (points[:, 0] < b[1])
                      & (points[:, 1] >= b[2]) & (points[:, 1] < b[3]))
            np.testing.assert_array_equal(routes.get(j, np.zeros(500, bool)), inside)
        # Updates inside the core go nowhere.
        c = seg.core(i)
        core = ((points[:, 0] >= c[0]) & (points[:, 0] < c[1])
                & (points[:, 1] >= c[2]) & (points[:, 1] < c[3]))
        for mask in routes.values():
            assert not np.any(mask & core)


def test_2d_grid_neighbours_include_corners():
    seg = Segmentation((90, 90), (4, 4), (3, 3))
    assert seg.n_workers == 9
    assert sorted(seg.neighbours(4)) == [0, 1, 2, 3, 5, 6, 7, 8]
    assert sorted(seg.neighbours(0)) == [1, 3, 4]
    covered = np.zeros((93, 93), int)
    for i in range(9):
        b = seg.signal_box(i)
        covered[b[0]:b[1], b[2]:b[3]] += 1
    assert np.all(covered == 1)
    for i, j in itertools.combinations(range(9), 2):
        a, b = seg.own(i), seg.own(j)
        assert not (a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3])


def test_auto_grid():
    assert Segmentation.auto((100, 100), (5, 5), 4).grid == (2, 2)
    assert Segmentation.auto((40, 400), (5, 5), 2).grid == (1, 2)
    assert Segmentation.auto((400, 40), (5, 5), 2).grid == (2, 1)
    assert Segmentation.auto((1000,), (10,), 3).grid == (1, 3)
    # 6 workers on a thin image: only the 1 x 6 grid fits.
    assert Segmentation.auto((12, 400), (5, 5), 6).grid == (1, 6)


def test_segments_shorter_than_two_atoms():
    with pytest.raises(ValueError, match="shorter than 2 atom lengths"):
        Segmentation((100,), (20,), (3,))
    with pytest.raises(ValueError, match="cannot split"):
        Segmentation.auto((30, 30), (8, 8), 4)
    Segmentation((100,), (20,), (2,))  # 50 >= 40: fine
    with pytest.raises(ValueError, match="same length"):
        Segmentation((100,), (20, 3), (2,))
