"""Dictionary learning: the one alternating loop, the encoders it runs
against (:class:`Encoder` states their protocol) and atom revival
(:class:`Reviver`)."""
from .chunked_encoder import ChunkedEncoder
from .encoder import Encoder
from .local_encoder import LocalEncoder
from .loop import LMBD_MAX, apply_window, learn_dictionary
from .revival import Reviver

__all__ = ["LMBD_MAX", "ChunkedEncoder", "Encoder", "LocalEncoder", "Reviver",
           "apply_window", "learn_dictionary"]
