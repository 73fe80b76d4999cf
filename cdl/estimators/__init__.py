"""BatchCDL, OnlineCDL, GreedyCDL and DiCoDiLe: scikit-learn style estimators.

``__init__`` only stores the parameters; ``fit`` checks them
(:mod:`.checks`), prepares the data, builds the encoder (:mod:`.encoders`,
the one place that reaches :mod:`dicod`) and runs the learning loop of
:mod:`cdl.learn` (:mod:`.fitting`).
"""
from .batch import BatchCDL
from .distributed import DiCoDiLe
from .greedy import GreedyCDL
from .online import OnlineCDL
from .reading import read_model

__all__ = ["BatchCDL", "DiCoDiLe", "GreedyCDL", "OnlineCDL", "read_model"]
