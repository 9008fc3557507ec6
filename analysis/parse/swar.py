"""Read many decimal numbers out of a text buffer at once, 8 digits per uint64 ("SWAR").

The caller passes the offsets where numbers start (the regex has already checked that at most 18
digits follow, then a non-digit). Each number is read 8 bytes at a time through a sliding uint64
view of the buffer; a few integer operations per row find how many of those bytes are digits and
turn them into a value. No Python object per number, no per-digit loop.
"""
from __future__ import annotations

import numpy as np

PAD = b"\0" * 24        # after the text, so that 8-byte reads near its end stay inside the buffer
_U = np.uint64
_ZEROS = _U(0x3030303030303030)
_LOW7 = _U(0x7F7F7F7F7F7F7F7F)
_PLUS_118 = _U(0x7676767676767676)    # a byte value >= 10 + 0x76 sets the byte's high bit
_HIGH = _U(0x8080808080808080)
_POW10 = np.array([10**k for k in range(9)], dtype=np.uint64)


def word_view(padded: bytes) -> np.ndarray:
    """uint64 (little-endian) starting at every byte offset of padded (which ends with PAD)."""
    return np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, offset=0, strides=(1,))


def _leading_digits(x: np.ndarray) -> np.ndarray:
    """x: 8 bytes xor '0' per row (digits became 0..9). -> count of leading digit bytes (0..8)."""
    nondigit = (((x & _LOW7) + _PLUS_118) | x) & _HIGH
    lowest = nondigit & (~nondigit + _U(1))             # lowest set bit, 0 when all 8 are digits
    # lowest = 2**(8k+7) for k leading digits: read k from the float64 exponent (exact for 2**n)
    k = ((lowest.astype(np.float64).view(np.int64) >> 52) - (1023 + 7)) >> 3
    return np.where(lowest == 0, 8, k)


def _value8(x: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Value of the first `count` digit bytes of x (first digit in the lowest byte), count 0..8."""
    v = x << ((8 - np.maximum(count, 1).astype(np.uint64)) * _U(8))   # digits to the top bytes
    v = (v * _U(10) + (v >> _U(8))) & _U(0x00FF00FF00FF00FF)
    v = (v * _U(100) + (v >> _U(16))) & _U(0x0000FFFF0000FFFF)
    v = (v * _U(10000) + (v >> _U(32))) & _U(0xFFFFFFFF)
    return np.where(count > 0, v, _U(0))


def parse_uints(words: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers starting at byte offsets `start` -> (values int64, digit counts int64)."""
    x = words[start] ^ _ZEROS
    length = _leading_digits(x)
    value = _value8(x, length)
    more = np.flatnonzero(length == 8)  # 9 to 18 digits: rare, two more words at most
    while len(more):
        x = words[start[more] + length[more]] ^ _ZEROS
        count = _leading_digits(x)
        value[more] = value[more] * _POW10[count] + _value8(x, count)
        length[more] += count
        more = more[count == 8]
    return value.astype(np.int64), length
