"""Inexact z-steps: solve each z-step of learning only as precisely as the
learning needs.

Alternating minimisation does not need exact z-steps while the dictionary is
still far from its optimum: the next d-step changes the problem anyway. On
the EEG problem of ``benchmarks/bench_cdl.py`` every z-step ran LGCD to the
``max_iter`` cap of 1000 sweeps (coordinate descent zig-zags between
neighbouring shifts of smooth atoms); in a z-step of the tenth iteration the
last 800 of those sweeps lowered the objective by 0.7 (of 5.2e5), while each
learning iteration around it lowered it by several hundred.

The rule (``inexact_z=True`` in :func:`cdl.learn.learn_dictionary`; the
estimators' ``solver_z_kwargs['inexact']``, on by default): from the second
iteration on, each z-step also stops after the first block of
:data:`cdl.coding.solvers.CHECK_EVERY` (10) sweeps that lowers the objective
by less than ``RHO`` (1 %) of the decrease of the objective over the previous
learning iteration (its z-step and its d-step: ``pobj[-3] - pobj[-1]``, the
quantity of the ``eps`` stopping rule), shared evenly among the trials. The
user's ``tol`` and ``max_iter`` still end every z-step as before: they are
the precision the z-steps reach once learning has converged. As learning
converges its decrease per iteration goes to zero and the z-steps tighten
to ``tol``: when learning stops on ``eps`` (the decrease over an iteration
below ``eps * |pobj[-1]|``), the last z-step ran until a block of sweeps
gained less than ``RHO * eps * |pobj|``, or to ``tol`` or ``max_iter``.

The first z-step (no previous iteration) and every z-step after an
iteration that did not decrease the objective are exact (``tol``,
``max_iter``). When learning ends (``n_iter``, ``eps`` or the callback; not
on Ctrl-C) after a z-step that the rule cut, that z-step is run on to
``tol`` or ``max_iter`` (same dictionary and regularisation, warm-started),
so that the activations of the fit (``z_hat_``, what ``fit_transform``
returns) are as precise as with exact z-steps; ``pobj`` keeps the objective
of the cut z-step. Coordinate descent never increases the objective, so
``pobj`` still never increases. The rule reads only ``pobj``, which the
checkpoints hold: a resumed fit is bit-identical to an uninterrupted one.

It applies to the in-process z-step of :class:`cdl.learn.LocalEncoder` with
``solver_z='lgcd'`` or ``'gcd'`` in float64, in batch and greedy learning.
The other encoders (chunked, distributed DICOD, 2-D images) keep exact
z-steps (an encoder takes part by reading ``min_decrease``, see
:meth:`cdl.learn.Encoder.set_min_decrease`), and so do float32 fits (their
objective is too coarse to compare blocks of sweeps) and online learning on
batches of trials (there the z-step of one batch is revisited only every few
iterations: on a small simulation, inexact z-steps ended 0.5 % above exact
ones after 60 iterations, against 0.04 % in batch learning).

Measured with ``benchmarks/bench_cdl.py`` (30 iterations, same start as
alphacsc): see the user guide's "Speed, measured" page.
"""

#: Fraction of the previous learning iteration's decrease of the objective
#: below which a block of sweeps ends an inexact z-step.
RHO = 1e-2


def z_step_min_decrease(pobj, rho=None):
    """The decrease of the objective over a block of sweeps below which the
    next z-step stops (all encoded trials together), or None (exact).

    Parameters
    ----------
    pobj : list of float
        Objective after the start and after each z-step and d-step.
    rho : float | None
        Fraction of the last iteration's decrease (None: :data:`RHO`, read
        at each call).

    Returns
    -------
    min_decrease : float | None
        ``rho * (pobj[-3] - pobj[-1])``; None before the first iteration is
        complete or after an iteration that did not decrease the objective.
    """
    if len(pobj) < 3:
        return None
    decrease = pobj[-3] - pobj[-1]
    if not decrease > 0:
        return None
    return (RHO if rho is None else rho) * decrease
