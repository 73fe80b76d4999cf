"""GreedyCDL: atoms added one by one where the residual is largest."""
from cdl.dictionary import init_dictionary
from cdl.utils.docs import fill_doc

from .base import _BaseCDL


@fill_doc
class GreedyCDL(_BaseCDL):
    """Dictionary learning that adds atoms one by one at the largest residual.

    The first atom comes from ``D_init``; each new atom is the residual window
    of largest energy (its rank-1 approximation when ``rank1``). Atoms are
    added evenly over ``n_iter`` iterations.

    Parameters
    ----------
    %(cdl_params)s

    Attributes
    ----------
    %(cdl_attributes)s
    """

    def _learning_schedule(self, rng):
        def new_atom(window):
            atom = init_dictionary(window[None], 1, self.n_times_atom,
                                   D_init="chunk", rank1=self.rank1,
                                   uv_constraint=self._uv_constraint(),
                                   window=self._window(), random_state=rng)
            return atom[0]
        return dict(new_atom=new_atom, n_atoms=self.n_atoms)

    def _n_atoms_at_start(self):
        return 1
