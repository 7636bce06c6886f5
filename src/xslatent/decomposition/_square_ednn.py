"""EDNN with leaky-ReLU activations and as many square weight matrices as possible."""

from __future__ import annotations

from .._validation import Interval
from ..io._registry import register_model
from ..nn._modules import EncoderDecoder, make_mlp
from ._ednn import EDNN

__all__ = ["SquareLReLUEDNN"]


@register_model()
class SquareLReLUEDNN(EDNN):
    """Bijective-activation EDNN built for layer-by-layer inversion (paper, Supplementary).

    Encoder hidden layers have the input width and decoder hidden layers the output width,
    so every weight matrix is square except the two around the bottleneck
    (``n_features → n_components`` and ``n_components → n_outputs``). Activations are leaky
    ReLU (bijective); the bottleneck and the output are linear.

    Parameters
    ----------
    n_components : int, default=1
        Bottleneck width.
    encoder_depth : int, default=2
        Number of square ``n_features × n_features`` hidden layers in the encoder (paper: 1–5).
    decoder_depth : int, default=2
        Number of hidden layers of width ``n_outputs`` in the decoder (paper: 1–5); the first
        is the non-square ``n_components → n_outputs`` map, the output layer is square.
    negative_slope : float, default=0.01
        Leaky-ReLU slope for negative inputs.
    alpha, learning_rate_init, batch_size, max_iter, early_stopping, validation_fraction, \
n_iter_no_change, tol, random_state, device, dtype, verbose
        As in :class:`xslatent.MLPEmulator`. ``dtype="float64"`` is recommended for inversion.

    Attributes
    ----------
    As :class:`xslatent.EDNN`.
    """

    _parameter_constraints = {
        **{k: v for k, v in EDNN._parameter_constraints.items()
           if k not in ("encoder_layer_sizes", "decoder_layer_sizes", "activation")},
        "encoder_depth": [Interval(int, 0, None)],
        "decoder_depth": [Interval(int, 1, None)],
        "negative_slope": [Interval(float, 0, None, closed="neither")],
    }

    def __init__(
        self,
        n_components=1,
        *,
        encoder_depth=2,
        decoder_depth=2,
        negative_slope=0.01,
        alpha=1e-4,
        learning_rate_init=1e-3,
        batch_size="auto",
        max_iter=200,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        device="cpu",
        dtype="float64",
        verbose=False,
    ):
        self.n_components = n_components
        self.encoder_depth = encoder_depth
        self.decoder_depth = decoder_depth
        self.negative_slope = negative_slope
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    def _build_module(self, n_features, n_outputs, for_loading=False):
        k = int(self.n_components)
        slope = float(self.negative_slope)
        encoder = make_mlp(n_features, (n_features,) * int(self.encoder_depth), k, "leaky_relu",
                           negative_slope=slope)
        decoder = make_mlp(k, (n_outputs,) * int(self.decoder_depth), n_outputs, "leaky_relu",
                           negative_slope=slope)
        return EncoderDecoder(encoder, decoder)
