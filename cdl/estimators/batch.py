"""BatchCDL: dictionary learning on all trials at each iteration."""
from cdl.utils.docs import fill_doc

from .base import _BaseCDL


@fill_doc
class BatchCDL(_BaseCDL):
    """Convolutional dictionary learning on all trials at each iteration.

    Parameters
    ----------
    %(cdl_params)s

    Attributes
    ----------
    %(cdl_attributes)s
    """
