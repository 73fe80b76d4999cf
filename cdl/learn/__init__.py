"""Dictionary learning: the one alternating loop and the encoders it runs
against (:class:`Encoder` states their protocol)."""
from .chunked_encoder import ChunkedEncoder
from .encoder import Encoder
from .local_encoder import LocalEncoder
from .loop import LMBD_MAX, apply_window, learn_dictionary

__all__ = ["LMBD_MAX", "ChunkedEncoder", "Encoder", "LocalEncoder",
           "apply_window", "learn_dictionary"]
