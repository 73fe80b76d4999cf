"""Atom revival: unused, duplicated and off-centre atoms changed during learning.

Alternating minimisation never brings back an atom whose activations are all
zero (its d-step gradient is zero), two atoms that converged to the same
waveform stay together, and an atom learned half outside its window stays
cut. :class:`Reviver` checks the dictionary before each z-step of
:func:`cdl.learn.learn_dictionary` from the second one on, with the rules of
:mod:`cdl.learn.revival_rules`:

- an atom is *unused* when its activations have fewer than
  ``min_occurrences`` occurrences (positive local maxima of ``z_k``, summed
  over trials, :mod:`cdl.model.occurrences`), and *underused* when it has
  fewer than ``min_relative`` times the median number of occurrences of
  the atoms (an atom that learned a waveform no event has, while a true
  atom is still missing; an atom added by greedy learning is not
  underused in its first ``cooldown`` iterations, while it grows);
- two atoms are *duplicates* when ``|corr(u_j, u_k)| >= max_corr`` and the
  correlation of ``v_j`` and ``v_k`` at their best lag is ``>= max_corr``
  (with non-negative activations the sign counts: ``d_j ~ -d_k`` explain
  opposite deflections and are not duplicates,
  :func:`cdl.model.similarity.atom_similarity`); the one with the smaller
  sum of activations is replaced;
- unused, underused and duplicate atoms are replaced by the residual
  window where the model explains the signal worst (the encoder's
  ``residual_window``), made an atom as the initial dictionaries are (its
  rank-1 approximation for rank-1 atoms, normalised, tapered by the
  estimator's window: the 'greedy' scheme of
  :func:`cdl.dictionary.init_dictionary` on that window), with its
  activations reset to zero;
- an atom is *fragmented* when it models each event with several shifted
  copies of itself (a piece of the event's waveform, learned from a random
  start): at least ``min_fragments`` occurrences per compact cluster of
  activations on average, at least half of its occurrences in such clusters,
  and the clusters' windows of its own model agree with one another
  (:func:`cdl.learn.revival_rules.merge_fragments`,
  :func:`~cdl.learn.revival_rules.is_fragmented`) but not with the atom
  (correlation at the best lag below ``max_corr``); it is replaced by that
  merged window (its rank-1 approximation for rank-1 atoms: the pattern is
  kept), with its activations reset, and kept as a replacement is;
- an atom is *off-centre* when the centre of energy of its waveform is at
  least ``centre * n_times_atom`` samples from the middle of the window: it
  is moved to the middle (zero-filled, at most 1% of its energy lost) and
  the activations of the iteration's z-step are moved the other way, so the
  model is unchanged and the d-step can grow the part of the waveform that
  the window had cut off; in batch learning the move is kept only when the
  d-step from the moved atom and activations reaches a lower objective than
  the d-step without the move and the moved model is not above the
  objective before the z-step (:meth:`Reviver.move`), in online learning
  as the other changes; an atom whose move was not kept is moved again
  only once it is further off-centre than it was then;
- optionally (``swap``, off by default: no gain measured) once the
  objective decreases by less than ``swap`` times its value per iteration,
  the least used atom is swapped for the largest residual window;
- nothing is tried before iteration ``start`` (0 is the first): in the
  first iterations atoms still change fast, an atom with few activations
  may grow by itself, and a change made then is a different start rather
  than a repair (on EEGBCI runs 3-10, see
  :data:`~cdl.learn.revival_params.DEFAULTS`);
- one atom at most is tried per iteration (unused and underused first,
  fewest occurrences first, then duplicates, then fragmented atoms (least
  like their merged window first), then off-centre atoms), each atom at
  most once every ``cooldown`` iterations, ``max_attempts`` tries in all;
  atoms added by greedy learning are tried only after their first z-step;
- a replacement is kept when the objective after its z-step is not above
  the objective before it (a swap: when it is below that of the z-step
  without the change); otherwise the activations and the dictionary are put
  back and the plain z-step is run (again: exactly as without the change
  unless the z-step draws random numbers, as DICOD's 'random' strategy
  does); a move that is not kept leaves the fit exactly as without it. The
  objective never increases, and nothing random is drawn by revival;
- learning does not stop on ``eps`` while a candidate can still be tried.

The encoder methods it uses (:class:`cdl.learn.Encoder`): ``atom_usage``
and ``atom_clusters`` (asked after each z-step, see ``track``: a distributed
encoder sends them with the solve), ``atom_activations`` (only when an
atom's clusters look fragmented, :func:`~cdl.learn.revival_rules.looks_fragmented`),
``reset_atom``, ``shift_activations``, ``keep_z``, ``restore_z``,
``forget_z`` and ``residual_window``; on iterations where nothing is tried
and no atom looks fragmented it adds no call to the encoder but
``atom_usage`` and ``atom_clusters``.
"""
import numpy as np

from cdl.dictionary import init_dictionary
from cdl.model.shapes import get_n_times_atom, is_rank1

from .revival_params import DEFAULTS
from .revival_rules import (
    atom_shift,
    best_lag_correlation,
    find_candidates,
    is_fragmented,
    looks_fragmented,
    merge_fragments,
    shifted_atom,
)


class Reviver:
    """Atom revival inside :func:`cdl.learn.learn_dictionary` (see the module
    doc).

    Parameters
    ----------
    min_occurrences, max_corr, cooldown, centre, swap, start, min_relative, \
            min_fragments
        See :data:`~cdl.learn.revival_params.DEFAULTS` and the module doc
        (``centre`` None: atoms are never moved; ``min_relative`` 0: no atom
        is underused; ``min_fragments`` None: no atom is fragmented).
    max_attempts : int | None
        Tries in all (None: ``2 * n_atoms``).
    rank1 : bool
        Rank-1 atoms (``uv``) or full-rank atoms.
    uv_constraint : 'separate' | 'joint'
        Norms of a new rank-1 atom (as the initial dictionaries).
    taper : ndarray of shape (n_times_atom,) | None
        The estimator's window, applied to new waveforms.
    positive : bool
        Non-negative activations.
    n_atoms : int
        Final number of atoms (for the default ``max_attempts``).

    Attributes
    ----------
    log : list of tuple
        The tries: ``(iteration, atom, reason, accepted)``.

    Notes
    -----
    Its state (:meth:`get_state`) goes into checkpoints, so that a resumed fit
    revives exactly as the uninterrupted one.
    """

    def __init__(self, min_occurrences=DEFAULTS["min_occurrences"],
                 max_corr=DEFAULTS["max_corr"], cooldown=DEFAULTS["cooldown"],
                 max_attempts=None, centre=DEFAULTS["centre"],
                 swap=DEFAULTS["swap"], start=DEFAULTS["start"],
                 min_relative=DEFAULTS["min_relative"],
                 min_fragments=DEFAULTS["min_fragments"], rank1=True,
                 uv_constraint="separate", taper=None, positive=True, n_atoms=1):
        self.min_occurrences = min_occurrences
        self.min_relative = min_relative
        self.min_fragments = min_fragments
        self.max_corr = max_corr
        self.cooldown = cooldown
        self.centre = centre
        self.swap = swap
        self.start = start
        self.max_attempts = 2 * n_atoms if max_attempts is None else max_attempts
        self.rank1 = rank1
        self.uv_constraint = uv_constraint
        self.taper = taper
        self.positive = positive
        self.set_state(None)

    # -- state ----------------------------------------------------------------------
    def get_state(self):
        """JSON-serialisable state (for checkpoints).

        Returns
        -------
        state : dict
        """
        return dict(last_try=sorted([int(k), int(i)] for k, i in self.last_try.items()),
                    refused=sorted([int(k), int(s)] for k, s in self.refused.items()),
                    n_attempts=int(self.n_attempts),
                    n_encoded=None if self.n_encoded is None else int(self.n_encoded),
                    encoded_at=sorted([int(k), int(i)]
                                      for k, i in self.encoded_at.items()),
                    log=[[int(i), int(k), str(r), bool(a)] for i, k, r, a in self.log])

    def set_state(self, state):
        """Restore a state of :meth:`get_state` (None: a fresh one).

        Parameters
        ----------
        state : dict | None
        """
        state = state or {}
        self.last_try = {int(k): int(i) for k, i in state.get("last_try", [])}
        # |shift| of each atom's last move that was not kept.
        self.refused = {int(k): int(s) for k, s in state.get("refused", [])}
        self.n_attempts = int(state.get("n_attempts", 0))
        self.n_encoded = state.get("n_encoded")
        # First z-step of each atom added during learning (greedy).
        self.encoded_at = {int(k): int(i) for k, i in state.get("encoded_at", [])}
        self.log = [tuple(entry) for entry in state.get("log", [])]

    # -- the rules ------------------------------------------------------------------
    def candidate(self, encoder, D, ii, pobj=None):
        """The change to try before the z-step of iteration ``ii``, if any.

        Parameters
        ----------
        encoder : cdl.learn.Encoder
        D : ndarray
            Current (raw, unwindowed) dictionary.
        ii : int
            Iteration (0 for the first).
        pobj : list of float | None
            The objective so far, two values per iteration (for ``swap``).

        Returns
        -------
        candidate : tuple | None
            ``(atom, reason)``: ``'unused'``, ``'underused'``, ``'duplicate of j'``,
            ``'fragmented'``, ``'off-centre by s'`` or ``'weakest'``.
        """
        if ii < max(1, self.start) or self.n_attempts >= self.max_attempts:
            return None
        n_atoms = D.shape[0] if self.n_encoded is None else min(self.n_encoded,
                                                                 D.shape[0])
        ready = [k for k in range(n_atoms)
                 if ii - self.last_try.get(k, -self.cooldown) >= self.cooldown]
        if not ready:
            return None
        counts, weights = encoder.atom_usage()
        counts, weights = counts[:n_atoms], weights[:n_atoms]
        growing = {k for k, i in self.encoded_at.items() if ii - i < self.cooldown}
        for atom, reason in find_candidates(
                counts, D[:n_atoms], encoder.n_channels, weights,
                self.min_occurrences, self.max_corr, self.positive,
                self.min_relative, exempt=growing):
            if atom in ready:
                return atom, reason
        fragmented = self.fragmented(encoder, D, ready, counts)
        if fragmented is not None:
            return fragmented, "fragmented"
        if self.centre is not None:
            n_times_atom = get_n_times_atom(D, encoder.n_channels)
            shifts = {k: atom_shift(D, k, encoder.n_channels) for k in ready}
            off = [k for k in ready
                   if abs(shifts[k]) >= max(1, self.centre * n_times_atom)
                   and abs(shifts[k]) > self.refused.get(k, 0)]
            if off:
                atom = max(off, key=lambda k: (abs(shifts[k]), -k))
                return atom, f"off-centre by {shifts[atom]}"
        if self.swap is not None and pobj is not None and len(pobj) >= 3 \
                and pobj[-3] - pobj[-1] < self.swap * abs(pobj[-1]):
            return min(ready, key=lambda k: (weights[k], k)), "weakest"
        return None

    def fragmented(self, encoder, D, atoms, counts):
        """The fragmented atom among ``atoms`` least like its merged window,
        or None (see the module doc).

        Parameters
        ----------
        encoder : cdl.learn.Encoder
        D : ndarray
            Current (raw) dictionary.
        atoms : list of int
            The atoms that may be tried.
        counts : ndarray of int
            Their occurrences (atoms with fewer than ``min_occurrences`` are
            not looked at).

        Returns
        -------
        atom : int | None
        """
        if self.min_fragments is None:
            return None
        clusters = encoder.atom_clusters()
        atoms = [k for k in atoms if counts[k] >= max(self.min_occurrences, 2)
                 and looks_fragmented(clusters[:, k], self.min_fragments)]
        if not atoms:
            return None
        merged = self._merged(encoder, D, atoms)
        found = []
        for k in atoms:
            atom = _atom_rows(D, k, encoder.n_channels)
            if is_fragmented(atom, merged[k], self.min_fragments, self.max_corr,
                             self.positive):
                found.append((best_lag_correlation(atom, merged[k]["window"],
                                                   self.positive), k))
        return min(found)[1] if found else None

    def _merged(self, encoder, D, atoms):
        """:func:`merge_fragments` of each of ``atoms``."""
        n_times_atom = get_n_times_atom(D, encoder.n_channels)
        activations = encoder.atom_activations(atoms)
        return {k: merge_fragments(_atom_rows(D, k, encoder.n_channels),
                                   activations[k], n_times_atom, self.positive)
                for k in atoms}

    def merged_atom(self, encoder, D, atom):
        """Replacement of a fragmented atom: its merged window, made an atom
        as :meth:`new_atom` makes a residual window one (without the taper:
        the window was made of the atom).

        Returns
        -------
        atom : ndarray
            A row of ``D``.
        """
        n_channels = encoder.n_channels
        window = self._merged(encoder, D, [atom])[atom]["window"]
        if is_rank1(D):
            window = np.outer(D[atom, :n_channels], window[0])
        n_times_atom = get_n_times_atom(D, n_channels)
        row = init_dictionary(window[None], 1, n_times_atom, D_init="greedy",
                              rank1=self.rank1,
                              uv_constraint=self.uv_constraint)[0]
        return row.astype(D.dtype)

    def new_atom(self, encoder, D):
        """Replacement atom from the encoder's largest residual window.

        Parameters
        ----------
        encoder : cdl.learn.Encoder
        D : ndarray
            Current dictionary (for the atom's layout and dtype).

        Returns
        -------
        atom : ndarray
            A row of ``D``: deterministic, correlated positively with the
            window (zero for a zero window).
        """
        n_times_atom = get_n_times_atom(D, encoder.n_channels)
        window = np.asarray(encoder.residual_window(n_times_atom), dtype=np.float64)
        atom = init_dictionary(window[None], 1, n_times_atom, D_init="greedy",
                               rank1=self.rank1, uv_constraint=self.uv_constraint,
                               window=self.taper)[0]
        return atom.astype(D.dtype)

    # -- inside the loop --------------------------------------------------------------
    def z_step(self, encoder, D, ii, trials, pobj, stats, set_dictionary, cost,
               d_step_gain=None):
        """The z-step of iteration ``ii``, with a revival try when a candidate
        is ready (:meth:`candidate`, :meth:`attempt`).

        Parameters
        ----------
        encoder : cdl.learn.Encoder
        D : ndarray
            Current (raw) dictionary.
        ii : int
        trials : ndarray of int | None
            Trials of this z-step.
        pobj : list of float
            The objective so far (its last value: before this z-step).
        stats : tuple | None
            Online statistics ``(ztz, ztX)``: a replaced atom's are
            forgotten.
        set_dictionary : callable
            ``set_dictionary(D)`` gives ``D`` to the encoder (windowed) and
            sets the regularisation for it.
        cost : callable
            ``cost(info) -> float``, the objective after a z-step, as the loop
            records it.
        d_step_gain : callable | None
            ``d_step_gain(D) -> (before, after, d_step)``: the objective of
            ``D`` and the current activations, after a d-step from them, and
            that d-step ``(ztz, ztX, D_next)`` (batch learning); off-centre
            moves are then judged by it (:meth:`move`). None: by the z-step,
            as the other changes.

        Returns
        -------
        D : ndarray
            The dictionary kept.
        info : dict
            What the encoder's ``compute_z`` returned for the kept z-step.
        stats : tuple | None
        """
        tried = self.candidate(encoder, D, ii, pobj)
        if tried is None:
            info = encoder.compute_z(trials)
        elif d_step_gain is not None and tried[1].startswith("off-centre"):
            D, info = self.move(encoder, D, tried[0], tried[1], ii, trials,
                                set_dictionary, d_step_gain, pobj[-1])
        else:
            D, info, accepted = self.attempt(encoder, D, *tried, ii, trials,
                                             set_dictionary, cost, pobj[-1])
            if accepted and stats is not None:
                stats = forget_atom(stats, tried[0])
        if self.n_encoded is not None:
            self.encoded_at.update((k, ii) for k in range(self.n_encoded,
                                                          D.shape[0]))
        self.n_encoded = D.shape[0]
        return D, info, stats

    def attempt(self, encoder, D, atom, reason, ii, trials, set_dictionary, cost,
                previous):
        """Run the z-step of iteration ``ii`` with ``atom`` replaced (or moved),
        and keep the change only if it pays (see the module doc).

        A Ctrl-C (or an error) during the try puts the activations and the
        dictionary of the last completed iteration back before it goes on,
        so that the loop's checkpoint stays consistent.

        Parameters
        ----------
        encoder, D, ii, trials, set_dictionary, cost
            See :meth:`z_step`.
        atom : int
        reason : str
            From :meth:`candidate`.
        previous : float
            The objective before this z-step.

        Returns
        -------
        D : ndarray
            The dictionary kept.
        info : dict
            The kept z-step's info.
        accepted : bool
        """
        self._begin(atom, ii)
        shift = _shift(reason)
        if shift is not None:
            new_row = shifted_atom(D, atom, encoder.n_channels, shift)
        elif reason == "fragmented":
            new_row = self.merged_atom(encoder, D, atom)
        else:
            new_row = self.new_atom(encoder, D)
        encoder.keep_z()
        kept = True
        try:
            target = previous
            if reason == "weakest":  # must beat the plain z-step
                target = cost(encoder.compute_z(trials))
                encoder.restore_z()
                encoder.keep_z()
            D_new = D.copy()
            D_new[atom] = new_row
            if shift is None:
                encoder.reset_atom(atom)
            else:
                encoder.shift_activations(atom, shift)
            set_dictionary(D_new)
            info = encoder.compute_z(trials)
            value = cost(info)
            accepted = bool(value < target if reason == "weakest"
                            else value <= target)
            kept = False  # the kept copy is forgotten or put back below
            if accepted:
                encoder.forget_z()
            else:
                encoder.restore_z()
                set_dictionary(D)
                D_new = D
                info = encoder.compute_z(trials)
        except BaseException:
            _put_back(encoder, D, set_dictionary, kept)
            raise
        self._end(ii, atom, reason, shift, accepted)
        return D_new, info, accepted

    def move(self, encoder, D, atom, reason, ii, trials, set_dictionary,
             d_step_gain, previous):
        """Run the z-step of iteration ``ii``, then centre ``atom`` if that lets
        the d-step go further.

        Centring does not change the model; what it changes is what the next
        d-step can learn (the part of the waveform the window cut off). So
        the activations of this z-step are moved with the atom, and the move
        is kept only when the d-step from them reaches a lower objective than
        the d-step without it, and the moved model (which lost up to 1% of
        the atom's energy at the edge) is not above the objective before the
        z-step (so that ``pobj`` never increases). A move that does not pay
        leaves the fit exactly as without revival.

        Parameters
        ----------
        encoder, D, ii, trials, set_dictionary
            See :meth:`z_step`.
        atom : int
        reason : str
            ``'off-centre by s'``.
        d_step_gain : callable
            See :meth:`z_step`.
        previous : float
            The objective before this z-step.

        Returns
        -------
        D : ndarray
            The dictionary kept.
        info : dict
            The z-step's info (``objective`` and ``l1`` of the moved activations
            when the move is kept), with ``d_step``: the statistics and the
            d-step judged for the state kept, which the loop uses as its
            d-step.
        """
        self._begin(atom, ii)
        info = encoder.compute_z(trials)
        _, plain, plain_step = d_step_gain(D)
        shift = _shift(reason)
        D_new = D.copy()
        D_new[atom] = shifted_atom(D, atom, encoder.n_channels, shift)
        encoder.keep_z()
        kept = True  # a copy of the z-step's activations is kept
        try:
            encoder.shift_activations(atom, shift)
            set_dictionary(D_new)
            before, moved, moved_step = d_step_gain(D_new)
            accepted = bool(moved < plain and before <= previous)
            if accepted:
                info = dict(info, objective=before, l1=encoder.get_l1(),
                            d_step=moved_step)
                kept = False
                encoder.forget_z()
            else:
                kept = False
                encoder.restore_z()
                set_dictionary(D)
                D_new = D
                info = dict(info, d_step=plain_step)
        except BaseException:  # the loop checkpoints nothing after d_step_gain
            _put_back(encoder, D, set_dictionary, kept)
            raise
        self._end(ii, atom, reason, shift, accepted)
        return D_new, info

    def _begin(self, atom, ii):
        """Count a try of ``atom`` at iteration ``ii``."""
        self.n_attempts += 1
        self.last_try[atom] = ii

    def _end(self, ii, atom, reason, shift, accepted):
        """Log a finished try; remember the size of a move that was not kept
        (a kept change of the atom forgets it)."""
        if accepted:
            self.refused.pop(atom, None)
        elif shift is not None:
            self.refused[atom] = abs(shift)
        self.log.append((ii, atom, reason, accepted))

    def pending(self, encoder, D, ii, pobj=None):
        """Whether a candidate would be tried at iteration ``ii``, or at
        ``start`` if that is later (learning then does not stop on ``eps``)."""
        return self.candidate(encoder, D, max(ii, self.start), pobj) is not None


def _shift(reason):
    """The shift of an ``'off-centre by s'`` try, None for other reasons."""
    return int(reason.split()[-1]) if reason.startswith("off-centre") else None


def _atom_rows(D, k, n_channels):
    """Atom ``k`` as rows of samples: its waveform (rank-1) or itself."""
    return D[k, n_channels:][None] if is_rank1(D) else D[k]


def _put_back(encoder, D, set_dictionary, kept):
    """After Ctrl-C or an error during a try: the kept activations (if a copy
    is still kept) and the dictionary ``D`` back in the encoder."""
    try:
        if kept:
            encoder.restore_z()
        set_dictionary(D)
    except Exception:  # noqa: BLE001 (workers already gone: the loop reports)
        pass


def forget_atom(stats, atom):
    """Online statistics without the contribution of a replaced atom.

    Parameters
    ----------
    stats : tuple
        ``(ztz, ztX)``.
    atom : int

    Returns
    -------
    stats : tuple
        Copies, with the rows (and the column of ``ztz``) of ``atom`` zero.
    """
    ztz, ztX = (np.array(a) for a in stats)
    ztz[atom], ztz[:, atom], ztX[atom] = 0., 0., 0.
    return ztz, ztX
