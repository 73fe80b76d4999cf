"""Geometry of DICOD: which worker owns which activations, and who talks to whom.

No communication here: :class:`Segmentation` only computes boxes. A 1-D
problem is handled as a 2-D one of height 1. Boxes are ``(h0, h1, w0, w1)``
with exclusive ends, in global activation coordinates unless said otherwise.

For atoms of shape ``(a_h, a_w)`` an update at position ``p`` changes ``beta``
within ``a - 1`` of ``p`` on each axis. So a worker keeps ``beta`` exact on its
*extended* box (its own box grown by ``a - 1``: the ghost ring its soft locks
read) and the activations exact on its *window* (grown by ``2 (a - 1)``: what
the extended box's ``beta`` depends on). A worker sends each update it makes to
every neighbour whose window contains it.
"""
import numpy as np


def _split(n, n_parts):
    """Bounds of ``n_parts`` nearly equal contiguous parts of ``range(n)``."""
    return [int(round(i * n / n_parts)) for i in range(n_parts + 1)]


def _promote(shape, name):
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (1, 2):
        raise ValueError(f"{name} must have 1 or 2 axes, got {shape}.")
    return shape if len(shape) == 2 else (1,) + shape


class Segmentation:
    """Split of the activation grid among workers laid out on a grid.

    Parameters
    ----------
    valid_shape : tuple of int
        ``(n_times_valid,)`` or ``(height_valid, width_valid)``.
    atom_shape : tuple of int
        ``(n_times_atom,)`` or ``(h, w)``.
    grid : tuple of int
        Number of workers along each axis (same length as ``valid_shape``).

    Notes
    -----
    A 1-D problem is handled as a 2-D one of height 1. The methods that take
    a worker index ``i`` return boxes ``(h0, h1, w0, w1)`` with exclusive
    ends, in global activation coordinates.
    """

    def __init__(self, valid_shape, atom_shape, grid):
        self.ndim = len(valid_shape)
        if len(atom_shape) != self.ndim or len(grid) != self.ndim:
            raise ValueError(f"valid_shape {valid_shape}, atom_shape {atom_shape} "
                             f"and grid {grid} must have the same length.")
        self.valid_shape = _promote(valid_shape, "valid_shape")
        self.atom_shape = _promote(atom_shape, "atom_shape")
        self.grid = _promote(grid, "grid")
        if min(self.grid) < 1:
            raise ValueError(f"grid must be positive, got {grid}.")
        self.bounds = [_split(n, g) for n, g in zip(self.valid_shape, self.grid)]
        names = ("time",) if self.ndim == 1 else ("height", "width")
        for axis, (b, a, g) in enumerate(zip(self.bounds, self.atom_shape,
                                            self.grid)):
            size = min(np.diff(b))
            if g > 1 and size < 2 * a:
                raise ValueError(
                    f"{g} workers along the {names[axis - 2 + self.ndim]} axis "
                    f"give segments of {size} activations, shorter than 2 atom "
                    f"lengths ({2 * a}); use at most "
                    f"{max(1, self.valid_shape[axis] // (2 * a))} workers along "
                    f"this axis.")
        self.n_workers = self.grid[0] * self.grid[1]
        self.margin = tuple(a - 1 for a in self.atom_shape)

    @classmethod
    def auto(cls, valid_shape, atom_shape, n_workers):
        """Segmentation of ``n_workers`` with the shortest total border.

        A 1-D problem is cut into ``n_workers`` segments; a 2-D one on the
        factorisation of ``n_workers`` into a grid that cuts least.

        Parameters
        ----------
        valid_shape : tuple of int
            ``(n_times_valid,)`` or ``(height_valid, width_valid)``.
        atom_shape : tuple of int
            ``(n_times_atom,)`` or ``(h, w)``.
        n_workers : int
            Number of workers.

        Returns
        -------
        segmentation : Segmentation
            The segmentation on the chosen grid.

        Raises
        ------
        ValueError
            If no grid gives every worker at least two atom lengths per axis.
        """
        if len(valid_shape) == 1:
            return cls(valid_shape, atom_shape, (n_workers,))
        H, W = valid_shape
        grids = [(g, n_workers // g) for g in range(1, n_workers + 1)
                 if n_workers % g == 0]
        grids.sort(key=lambda g: (g[0] - 1) * W + (g[1] - 1) * H)
        error = None
        for grid in grids:
            try:
                return cls(valid_shape, atom_shape, grid)
            except ValueError as exc:
                error = exc
        raise ValueError(f"n_workers={n_workers} cannot split activations of shape "
                         f"{tuple(valid_shape)} into pieces of at least 2 atom "
                         f"lengths per axis: {error}")

    # -- boxes ----------------------------------------------------------------
    def position(self, i):
        """Grid position ``(row, column)`` of worker ``i``.

        Parameters
        ----------
        i : int
            Index of the worker, ``0 <= i < n_workers`` (row-major on the grid).

        Returns
        -------
        row, column : int
            Its position on the grid of workers.
        """
        return divmod(int(i), self.grid[1])

    def own(self, i):
        """Box of the activations worker ``i`` updates.

        Parameters
        ----------
        i : int
            Index of the worker, ``0 <= i < n_workers`` (row-major on the grid).

        Returns
        -------
        box : tuple of int
            ``(h0, h1, w0, w1)``, ends excluded, in global activation
            coordinates (``h0, h1 = 0, 1`` for a 1-D problem).
        """
        r, c = self.position(i)
        return (self.bounds[0][r], self.bounds[0][r + 1], self.bounds[1][c],
                self.bounds[1][c + 1])

    def grown(self, i, factor):
        """Own box grown by ``factor * (a - 1)`` per side, clipped to the grid.

        Parameters
        ----------
        i : int
            Index of the worker, ``0 <= i < n_workers`` (row-major on the grid).
        factor : int
            How many times ``a - 1`` (atom size minus one) to grow each side.

        Returns
        -------
        box : tuple of int
            ``(h0, h1, w0, w1)``, ends excluded, in global activation
            coordinates (``h0, h1 = 0, 1`` for a 1-D problem).
        """
        h0, h1, w0, w1 = self.own(i)
        mh, mw = factor * self.margin[0], factor * self.margin[1]
        H, W = self.valid_shape
        return (max(h0 - mh, 0), min(h1 + mh, H), max(w0 - mw, 0), min(w1 + mw, W))

    def extended(self, i):
        """Box where worker ``i`` keeps beta exact (own plus ghost ring).

        Parameters
        ----------
        i : int
            Index of the worker, ``0 <= i < n_workers`` (row-major on the grid).

        Returns
        -------
        box : tuple of int
            ``(h0, h1, w0, w1)``, ends excluded, in global activation
            coordinates (``h0, h1 = 0, 1`` for a 1-D problem).
        """
        return self.grown(i, 1)

    def window(self, i):
        """Box where worker ``i`` keeps the activations exact.

        Parameters
        ----------
        i : int
            Index of the worker, ``0 <= i < n_workers`` (row-major on the grid).

        Returns
        -------
        box : tuple of int
            ``(h0, h1, w0, w1)``, ends excluded, in global activation
            coordinates (``h0, h1 = 0, 1`` for a 1-D problem).
        """
        return self.grown(i, 2)

    def core(self, i):
        """Box inside which the updates of worker ``i`` concern no neighbour.

        Updates of worker ``i`` outside this box must be sent to neighbours.

        Parameters
        ----------
        i : int
            Index of the worker, ``0 <= i < n_workers`` (row-major on the grid).

        Returns
        -------
        box : tuple of int
            ``(h0, h1, w0, w1)``, ends excluded, in global activation
            coordinates (``h0, h1 = 0, 1`` for a 1-D problem).
        """
        h0, h1, w0, w1 = self.own(i)
        mh, mw = 2 * self.margin[0], 2 * self.margin[1]
        H, W = self.valid_shape
        return (h0 + mh if h0 > 0 else h0, h1 - mh if h1 < H else h1,
                w0 + mw if w0 > 0 else w0, w1 - mw if w1 < W else w1)

    def signal_box(self, i):
        """Box of signal samples whose residual worker ``i`` accounts for.

        Its own box, extended to the end of the signal for the last worker
        along each axis, so that the boxes of all workers tile the signal.

        Parameters
        ----------
        i : int
            Index of the worker, ``0 <= i < n_workers`` (row-major on the grid).

        Returns
        -------
        box : tuple of int
            ``(h0, h1, w0, w1)``, ends excluded, in signal samples.
        """
        h0, h1, w0, w1 = self.own(i)
        H, W = self.valid_shape
        a_h, a_w = self.atom_shape
        return (h0, h1 + a_h - 1 if h1 == H else h1,
                w0, w1 + a_w - 1 if w1 == W else w1)

    def neighbours(self, i):
        """List the workers whose window meets the own box of ``i``.

        And conversely: these are the workers ``i`` exchanges updates with.

        Parameters
        ----------
        i : int
            Index of the worker, ``0 <= i < n_workers`` (row-major on the grid).

        Returns
        -------
        neighbours : list of int
            Their indices.
        """
        own = self.own(i)
        return [j for j in range(self.n_workers)
                if j != i and _intersect(own, self.window(j))]

    def route(self, i, points):
        """For each neighbour of ``i``, which update positions it must receive.

        Parameters
        ----------
        i : int
            Index of the worker that made the updates.
        points : ndarray of shape (n_points, 2)
            Global ``(h, w)`` positions of updates made by worker ``i``.

        Returns
        -------
        routes : list of (int, ndarray of bool)
            ``(j, mask)`` for each neighbour ``j`` whose window holds at least
            one of the points, ``mask`` of shape (n_points,) selecting them.
        """
        routes = []
        for j in self.neighbours(i):
            h0, h1, w0, w1 = self.window(j)
            mask = ((points[:, 0] >= h0) & (points[:, 0] < h1)
                    & (points[:, 1] >= w0) & (points[:, 1] < w1))
            if mask.any():
                routes.append((j, mask))
        return routes

    def __repr__(self):
        return (f"Segmentation(valid_shape={self.valid_shape}, atom_shape="
                f"{self.atom_shape}, grid={self.grid})")


def _intersect(a, b):
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def relative(box, origin_box):
    """``box`` in the coordinates of ``origin_box`` (its corner at (0, 0))."""
    return (box[0] - origin_box[0], box[1] - origin_box[0],
            box[2] - origin_box[2], box[3] - origin_box[2])
