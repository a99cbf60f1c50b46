"""The output-size rule of convolution and pooling, and the padding that 'same' means.

Per spatial axis, input size N, kernel (window) F, stride S, dilation D, padding P_before
and P_after (the lecture's (N − F + 2P)/S + 1, generalized):

    F_eff = (F − 1)·D + 1                         the span of a dilated kernel
    out   = ⌊(N + P_before + P_after − F_eff) / S⌋ + 1

padding:
    'valid'   no padding.
    'same'    TensorFlow's rule, for every stride and dilation: out = ⌈N / S⌉ and
              P_total = max((out − 1)·S + F_eff − N, 0), P_before = ⌊P_total / 2⌋, the odd
              pixel after (PyTorch refuses padding='same' for strides > 1).
    int       that many on both sides.
    (b, a)    explicit, possibly asymmetric.

When (N + P − F_eff)/S is not a whole number the output size is floored (Keras and
PyTorch do the same) and `warn_if_not_whole` warns, naming the layer and the input
positions at the end that no kernel position ever sees (the lecture's 7x7 input, 3x3
filter, stride 3: (7 − 3)/3 + 1 = 2.33, row and column 6 are never seen).

    >>> resolve_padding("same", 112, 3, 2, 1)
    (0, 1)
    >>> output_size(112, 3, 2, 1, (0, 1))
    56
    >>> output_size(7, 3, 3)
    2
"""

from __future__ import annotations

import warnings

_AXIS_NAMES = {1: ("positions",), 2: ("rows", "columns"), 3: ("slices", "rows", "columns")}


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """The span (F − 1)·D + 1 of a kernel of size F with dilation D."""
    return (int(kernel) - 1) * int(dilation) + 1


def resolve_padding(padding, input_size: int, kernel: int, stride: int = 1,
                    dilation: int = 1) -> tuple[int, int]:
    """(before, after) padding of one spatial axis for 'valid', 'same', an int or a pair."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0)
        if mode == "same":
            out = -(-int(input_size) // int(stride))
            total = max((out - 1) * int(stride) + effective_kernel(kernel, dilation)
                        - int(input_size), 0)
            return (total // 2, total - total // 2)
        raise ValueError(f"padding must be 'valid', 'same', an int or (before, after), "
                         f"got {padding!r}")
    if isinstance(padding, int) or hasattr(padding, "__index__"):
        return (int(padding), int(padding))
    before, after = padding
    return (int(before), int(after))


def output_size(input_size: int, kernel: int, stride: int = 1, dilation: int = 1,
                padding=(0, 0)) -> int:
    """⌊(N + P_before + P_after − F_eff) / S⌋ + 1 (may be ≤ 0 if the kernel does not fit)."""
    before, after = (padding if not isinstance(padding, (str, int))
                     else resolve_padding(padding, input_size, kernel, stride, dilation))
    span = int(input_size) + int(before) + int(after) - effective_kernel(kernel, dilation)
    return span // int(stride) + 1


def unseen_positions(input_size: int, kernel: int, stride: int = 1, dilation: int = 1,
                     padding=(0, 0)) -> list[int]:
    """Input indices at the end of the axis that no kernel position reaches."""
    before, after = padding
    out = output_size(input_size, kernel, stride, dilation, (before, after))
    if out <= 0:
        return list(range(int(input_size)))
    last = (out - 1) * int(stride) - int(before) + effective_kernel(kernel, dilation) - 1
    return list(range(max(last + 1, 0), int(input_size)))


def warn_if_not_whole(label: str, axis: int, input_size: int, kernel: int, stride: int = 1,
                      dilation: int = 1, padding=(0, 0), ndim: int | None = None) -> bool:
    """Warn (UserWarning naming `label`) when (N + P − F_eff)/S + 1 is not whole; returns
    whether it warned. `axis` is the spatial axis index; `ndim` (1/2/3 spatial axes) lets
    the message say rows/columns."""
    before, after = padding
    span = int(input_size) + int(before) + int(after) - effective_kernel(kernel, dilation)
    if span < 0 or span % int(stride) == 0:
        return False
    out = span // int(stride) + 1
    names = _AXIS_NAMES.get(ndim or 0)
    what = names[axis] if names and axis < len(names) else f"positions of spatial axis {axis}"
    unseen = unseen_positions(input_size, kernel, stride, dilation, (before, after))
    if not unseen:  # only padding is dropped: every input position is still seen
        return False
    warnings.warn(
        f"{label}: (N + P − F)/S + 1 = ({input_size} + {before + after} − "
        f"{effective_kernel(kernel, dilation)})/{stride} + 1 = {span / stride + 1:.2f} is not "
        f"a whole number on spatial axis {axis}; the output is floored to {out} and input "
        f"{what} {unseen} are never seen by any kernel position",
        UserWarning, stacklevel=3)
    return True
