"""Output shapes of chosen layers, read by forward hooks during one pass (no gradients)."""

import torch


def output_shapes(model, layers, x):
    """Run ``model`` on ``x`` and return ``{name: (C, H, W)}``, the output shape of each
    ``(name, layer)`` of ``layers`` for one image. ``x``: a tensor, or a shape such as
    ``(1, 3, 224, 224)`` (zeros on the device of the model's parameters, else the CPU)."""
    if not isinstance(x, torch.Tensor):
        first = next(model.parameters(), None)
        x = torch.zeros(tuple(x), device=first.device if first is not None else "cpu")
    shapes = {}
    handles = [layer.register_forward_hook(
        lambda mod, inp, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:])))
        for name, layer in layers]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return shapes
