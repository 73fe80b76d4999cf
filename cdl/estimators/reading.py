"""Reading a model file back into a fitted estimator."""
from .batch import BatchCDL
from .distributed import DiCoDiLe
from .greedy import GreedyCDL
from .online import OnlineCDL
from .persistence import read_estimator

ESTIMATORS = {cls.__name__: cls for cls in (BatchCDL, OnlineCDL, GreedyCDL,
                                            DiCoDiLe)}


def read_model(fname):
    """Read a model written by the ``save`` method of a CDL estimator.

    Parameters
    ----------
    fname : path-like
        A ``.npz`` model file.

    Returns
    -------
    model : BatchCDL | OnlineCDL | GreedyCDL | DiCoDiLe
        Fitted estimator with the saved parameters and attributes.
    """
    return read_estimator(fname, ESTIMATORS)
