"""Address keys and their vectorised encoding (the hot path of a chain load).

A parser does not format an address per output: it records a *key*, one byte of kind and
the hash it commits to (``KIND_P2PKH``/``KIND_P2SH`` + 20 bytes, ``KIND_WITNESS_V0`` + 20
or 32 bytes, ``KIND_WITNESS_V1`` + 32 bytes). ``encode_keys`` turns the distinct keys of a
whole batch into mainnet address strings at once: Base58Check by long division in
base 58^4 over all keys in numpy, bech32/bech32m checksums over all keys in numpy. The
result is the same as ``embit``'s (``tests/test_bitcoin_bulk.py`` checks it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pyarrow as pa

KIND_P2PKH, KIND_P2SH, KIND_WITNESS_V0, KIND_WITNESS_V1 = 0, 1, 2, 3
_VERSION_BYTE = {KIND_P2PKH: 0x00, KIND_P2SH: 0x05}
_B58 = np.frombuffer(b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", np.uint8)
_BECH32 = np.frombuffer(b"qpzry9x8gf2tvdw0s3jn54khce6mua7l", np.uint8)
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_POLY = np.array(
    [
        np.bitwise_xor.reduce([g for i, g in enumerate(_GEN) if (top >> i) & 1] or [0])
        for top in range(32)
    ],
    dtype=np.uint32,
)
_B58_4 = np.uint64(58**4)


def _base58check(version: int, progs: np.ndarray) -> pa.Array:
    """Base58Check of ``version`` + each row of ``progs`` (equal-length hashes), vectorised
    but for the checksums (two SHA-256 per row)."""
    m = len(progs)
    payload = np.empty((m, progs.shape[1] + 1), np.uint8)
    payload[:, 0] = version
    payload[:, 1:] = progs
    buf, w = payload.tobytes(), payload.shape[1]
    sha = hashlib.sha256
    chk = b"".join([sha(sha(buf[i : i + w]).digest()).digest()[:4] for i in range(0, len(buf), w)])
    rows = np.concatenate([payload, np.frombuffer(chk, np.uint8).reshape(m, 4)], axis=1)
    width = rows.shape[1]
    limbs = (width + 3) // 4  # big-endian 32-bit limbs, zero-padded in front
    padded = np.zeros((m, 4 * limbs), np.uint8)
    padded[:, 4 * limbs - width :] = rows
    num = padded.view(">u4").astype(np.uint64)
    n_digits = int(width * 8 / np.log2(58)) + 1
    passes = (n_digits + 3) // 4
    out = np.zeros((m, passes * 4), dtype=np.uint8)
    for p in range(passes):
        rem = np.zeros(m, dtype=np.uint64)
        for j in range(limbs):  # long division by 58^4: rem * 2^32 + limb < 2^56
            cur = (rem << np.uint64(32)) + num[:, j]
            num[:, j] = cur // _B58_4
            rem = cur - num[:, j] * np.uint64(_B58_4)
        col = passes * 4 - 4 * p
        for d in range(4):  # least significant digit last
            out[:, col - 1 - d] = (rem % 58).astype(np.uint8)
            rem //= np.uint64(58)
    # leading zero bytes become leading "1"s (digit 0) and the number's leading zero
    # digits are dropped: the text starts at (first non-zero digit - zero bytes)
    nonzero = rows != 0
    zeros = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), width)
    digits = out != 0
    lead = np.where(digits.any(axis=1), digits.argmax(axis=1), out.shape[1])
    start = lead - zeros
    chars = _B58[out]
    if (start < 0).any():  # more zero bytes than zero digits: never for 21+4 bytes
        text = chars.view(f"S{passes * 4}").ravel().tolist()
        return pa.array(
            [
                "1" * int(z) + t.lstrip(b"1").decode("ascii")
                for z, t in zip(zeros.tolist(), text, strict=True)
            ],
            pa.string(),
        )
    # each row's text is its digits from ``start`` on: one buffer, no Python strings
    keep = np.arange(chars.shape[1]) >= start[:, None]
    return _strings(chars[keep].tobytes(), chars.shape[1] - start)


def _strings(data: bytes, lengths: np.ndarray) -> pa.StringArray:
    """An Arrow string array from concatenated ASCII texts and their lengths."""
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(
        len(lengths), pa.py_buffer(offsets), pa.py_buffer(data)
    ).cast(pa.string())


def _hrp_values(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _bech32(hrp: str, version: int, raw: np.ndarray) -> pa.Array:
    """SegWit addresses of the rows of ``raw`` (equal-length programs), vectorised (bech32
    v0, bech32m v1+)."""
    width = raw.shape[1]
    k = (8 * width + 4) // 5
    bits = np.unpackbits(raw, axis=1)
    bits = np.pad(bits, ((0, 0), (0, 5 * k - 8 * width)))
    weights = np.array([16, 8, 4, 2, 1], dtype=np.uint8)
    data = (bits.reshape(len(raw), k, 5) * weights).sum(axis=2).astype(np.uint32)
    data = np.concatenate([np.full((len(raw), 1), version, np.uint32), data], axis=1)
    chk = np.ones(len(raw), dtype=np.uint32)
    for v in _hrp_values(hrp):
        chk = ((chk & 0x1FFFFFF) << 5) ^ np.uint32(v) ^ _POLY[chk >> 25]
    for j in range(data.shape[1]):
        chk = ((chk & 0x1FFFFFF) << 5) ^ data[:, j] ^ _POLY[chk >> 25]
    for _ in range(6):
        chk = ((chk & 0x1FFFFFF) << 5) ^ _POLY[chk >> 25]
    chk ^= np.uint32(1 if version == 0 else 0x2BC830A3)
    tail = np.stack([(chk >> (5 * (5 - i))) & 31 for i in range(6)], axis=1)
    symbols = np.concatenate([data, tail], axis=1)
    head = np.frombuffer((hrp + "1").encode("ascii"), np.uint8)
    text = np.concatenate([np.tile(head, (len(raw), 1)), _BECH32[symbols]], axis=1)
    return _strings(text.tobytes(), np.full(len(raw), text.shape[1], np.int64))


def encode_key_array(keys: list[bytes], hrp: str = "bc") -> pa.Array:
    """Address string of each key, in order, as an Arrow string array (mainnet unless
    ``hrp`` says otherwise for SegWit; Base58 version bytes are mainnet's). Keys are
    grouped by kind and length in Arrow/numpy, each group encoded as one matrix."""
    if not keys:
        return pa.array([], pa.string())
    arr = pa.array(keys, pa.large_binary())
    offsets = np.frombuffer(arr.buffers()[1], np.int64)[: len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets)
    group = data[starts].astype(np.int64) * 256 + lengths
    parts, where = [], []
    for g in np.unique(group).tolist():
        idx = np.flatnonzero(group == g)
        kind, n = divmod(g, 256)
        progs = data[starts[idx, None] + np.arange(1, n)]  # (keys, hash bytes)
        if kind in _VERSION_BYTE:
            parts.append(_base58check(_VERSION_BYTE[kind], progs))
        else:
            parts.append(_bech32(hrp, kind - KIND_WITNESS_V0, progs))
        where.append(idx)
    order = np.empty(len(keys), np.int64)
    order[np.concatenate(where)] = np.arange(len(keys))
    return pa.concat_arrays(parts).take(pa.array(order))


def encode_keys(keys: Iterable[bytes], hrp: str = "bc") -> dict[bytes, str]:
    """Address string of each distinct key (see ``encode_key_array``)."""
    distinct = list(set(keys))
    return dict(zip(distinct, encode_key_array(distinct, hrp).to_pylist(), strict=True))
