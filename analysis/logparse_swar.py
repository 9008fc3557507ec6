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
    # log2 of a power of two is exact in float64; bit 8k+7 set -> k digits before it
    count = (np.log2(np.where(lowest == 0, 2.0**71, lowest.astype(np.float64))) - 7) / 8
    return count.astype(np.int64)


def _value8(x: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Value of the first `count` digit bytes of x (first digit in the lowest byte), count 1..8."""
    v = x << ((8 - count.astype(np.uint64)) * _U(8))      # digits to the top bytes, zeros in front
    v = (v * _U(10) + (v >> _U(8))) & _U(0x00FF00FF00FF00FF)
    v = (v * _U(100) + (v >> _U(16))) & _U(0x0000FFFF0000FFFF)
    return (v * _U(10000) + (v >> _U(32))) & _U(0xFFFFFFFF)


def parse_uints(words: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers starting at byte offsets `start` -> (values int64, digit counts int64)."""
    value = np.zeros(len(start), np.uint64)
    length = np.zeros(len(start), np.int64)
    rows = np.arange(len(start))
    for _ in range(3):  # 3 words hold the 18 digits the regex allows
        if not len(rows):
            break
        x = words[start[rows] + length[rows]] ^ _ZEROS
        count = _leading_digits(x)
        some = count > 0
        rows, x, count = rows[some], x[some], count[some]
        value[rows] = value[rows] * _POW10[count] + _value8(x, count)
        length[rows] += count
        rows = rows[count == 8]
    return value.astype(np.int64), length
