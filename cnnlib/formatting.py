"""Turning computed numbers into text for the prose.

The chapters never type a result: they insert strings made here (with the
``{eval}`` role), and the claims audit writes its values with the same
functions, so that a value reads the same on both pages.
"""

from fractions import Fraction

__all__ = ["sci", "ratio_text", "percent", "tiny"]

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _mantissa_exponent(n, digits):
    if n == 0:
        return "0", 0
    exponent = len(str(abs(int(n)))) - 1 if float(n).is_integer() and abs(n) >= 1 else None
    if exponent is None:
        text = f"{float(n):.{digits - 1}e}"
        mantissa, exp = text.split("e")
        return mantissa, int(exp)
    mantissa = Fraction(int(n), 10**exponent)
    if mantissa.denominator == 1:
        return str(mantissa.numerator), exponent
    text = f"{float(mantissa):.{digits - 1}f}"
    if float(text) >= 10:  # rounding carried into the next power
        return f"{float(mantissa) / 10:.{digits - 1}f}", exponent + 1
    return text, exponent


def sci(n, digits=2):
    """``10**12 -> '10¹²'``, ``230400 -> '2.3 × 10⁵'``, ``7 -> '7'`` (plain text)."""
    mantissa, exponent = _mantissa_exponent(n, digits)
    if abs(exponent) < 3:
        return f"{int(n):,}" if float(n).is_integer() else f"{n:.{digits + 1}g}"
    power = "10" + str(exponent).translate(_SUPERSCRIPT)
    return power if mantissa == "1" else f"{mantissa} × {power}"


def ratio_text(a, b):
    """How many times ``a`` is larger than ``b``, as plain text: ``'10,000'`` or ``'2.4'``."""
    r = Fraction(a, b) if isinstance(a, int) and isinstance(b, int) else a / b
    if isinstance(r, Fraction) and r.denominator == 1:
        return f"{r.numerator:,}"
    r = float(r)
    return f"{r:,.0f}" if r >= 100 else f"{r:.3g}"


def percent(fraction, decimals=0):
    """A fraction as a percentage: ``0.774 -> '77 %'``, or ``'77.4 %'`` with ``decimals=1``."""
    return f"{100 * fraction:.{decimals}f} %"


def tiny(x, digits=2):
    """A floating-point error: ``'exactly 0'``, or ``'3.1 × 10⁻¹⁶'`` (:func:`sci`)."""
    return "exactly 0" if x == 0 else sci(float(x), digits)
