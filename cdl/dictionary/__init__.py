"""The d-step: updates of the atoms from the sufficient statistics, their
constraints, and the initial dictionaries."""
from .full_rank import update_D
from .init import init_dictionary
from .projections import UV_CONSTRAINTS, prox_D, prox_uv
from .rank1 import update_uv
from .step import make_update_d

__all__ = ["UV_CONSTRAINTS", "init_dictionary", "make_update_d", "prox_D",
           "prox_uv", "update_D", "update_uv"]
