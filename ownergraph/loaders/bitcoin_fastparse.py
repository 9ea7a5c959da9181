"""A serialized block's transactions read straight from the bytes (the bulk path).

``read_transactions`` walks the wire format (BIP144 SegWit included) with slices and
``int.from_bytes``, computing each txid from the stripped serialization, and gives per
transaction only what the tables need: inputs (previous outpoint, the address key the
scriptSig/witness proves) and outputs (value, script type, address key). Addresses are
encoded later for a whole batch at once (``ownergraph.loaders.bitcoin_addresses``). It is
about 10x faster than building ``embit`` objects; ``embit`` remains the reference
(``parser="embit"``), and ``tests/test_bitcoin_bulk.py`` checks that both give the same
tables on the real blocks and a synthetic chain. An input that spends an output parsed
before (``known``) is not hashed at all: its address comes from that output.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ownergraph.loaders.bitcoin_script import input_address_key, output_address_key

NULL_TXID = b"\x00" * 32

MAX_SAT = 21_000_000 * 100_000_000


@dataclass
class Columns:
    """A block's transactions column-wise (addresses as keys, or text for the rare
    non-template scripts)."""

    txid: list[str] = field(default_factory=list)
    hashes: list[bytes] = field(default_factory=list)  # txids in internal byte order
    coinbase: list[bool] = field(default_factory=list)
    n_inputs: list[int] = field(default_factory=list)
    n_outputs: list[int] = field(default_factory=list)
    # each non-coinbase input's previous outpoint, raw (txid in internal byte order + vout,
    # 4 bytes LE); input and output rows follow n_inputs / n_outputs in transaction order
    # (their txid, vin and vout are derived in bulk: ``Batch.frames``)
    in_outpoint: list[bytes] = field(default_factory=list)
    in_key: list[bytes | None] = field(default_factory=list)
    in_source: list[str | None] = field(default_factory=list)
    out_key: list[bytes | str | None] = field(default_factory=list)
    out_sat: list[int] = field(default_factory=list)
    out_kind: list[str] = field(default_factory=list)
    outpoints: set[bytes] = field(default_factory=set)  # this block's outputs (txid + vout)


_NO_WITNESS: list[bytes] = []
_VOUT_BYTES = [j.to_bytes(4, "little") for j in range(256)]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    size = 2 ** (first - 0xFC)
    return int.from_bytes(data[pos + 1 : pos + 1 + size], "little"), pos + 1 + size


def read_transactions(
    data: bytes,
    pos: int,
    count: int,
    base: int = 0,
    unit: str = "file offset",
    known: set[bytes] | frozenset[bytes] = frozenset(),
) -> tuple[Columns, int, bytes]:
    """``count`` transactions from ``data[pos:]``, column-wise (``Columns``), the end
    position and the first transaction's first scriptSig (the coinbase's, for BIP34).

    ``known``: outpoints (txid in internal byte order + vout, 4 bytes LE) of outputs loaded
    before; an input spending one of them, or an output earlier in this block, gets no
    address key from its script (the loader fills it from the spent output, which is what
    ``resolve_inputs`` would do anyway), which skips hashing its public key.
    ``Columns.outpoints`` lists this block's outputs, for the caller to add to ``known``
    once the block is accepted.

    Raises ValueError (``tx N: ...``) on truncation or impossible counts; positions in
    messages are ``base`` + the position in ``data``, in ``unit``.
    """
    end = len(data)
    c = Columns()
    t_id, t_cb, t_nin, t_nout, txids = c.txid, c.coinbase, c.n_inputs, c.n_outputs, c.hashes
    i_op, i_key, i_src = c.in_outpoint, c.in_key, c.in_source
    o_key, o_sat, o_kind = c.out_key, c.out_sat, c.out_kind
    local: set[bytes] = set()  # this block's outpoints so far
    frm = int.from_bytes
    sha = hashlib.sha256
    vouts = _VOUT_BYTES
    first_script = b""
    n_done = 0
    try:
        for n_done in range(count):  # noqa: B007 - n_done names the failing tx
            start = pos
            pos += 4
            segwit = data[pos] == 0 and data[pos + 1] == 1
            if segwit:
                pos += 2
            body = pos
            n_in = data[pos]
            if n_in < 0xFD:
                pos += 1
            else:
                n_in, pos = _varint(data, pos)
            if n_in * 41 > end - pos:
                raise ValueError(f"implausible input count {n_in}")
            raw_in = []
            for _ in range(n_in):
                outpoint = data[pos : pos + 36]
                pos += 36
                size = data[pos]
                if size < 0xFD:
                    pos += 1
                else:
                    size, pos = _varint(data, pos)
                raw_in.append((outpoint, data[pos : pos + size]))
                pos += size + 4
            n_out = data[pos]
            if n_out < 0xFD:
                pos += 1
            else:
                n_out, pos = _varint(data, pos)
            if n_out * 9 > end - pos:
                raise ValueError(f"implausible output count {n_out}")
            out_rows = []
            for j in range(n_out):
                value = frm(data[pos : pos + 8], "little")
                pos += 8
                size = data[pos]
                if size < 0xFD:
                    pos += 1
                else:
                    size, pos = _varint(data, pos)
                script = data[pos : pos + size]
                pos += size
                if len(script) != size:
                    raise EOFError
                if value > MAX_SAT:
                    raise ValueError(f"vout[{j}].value {value} sat is outside 0..21e6 BTC")
                out_rows.append((value, script))
            body_end = pos
            witnesses: list[list[bytes]] = []
            if segwit:
                for _ in range(n_in):
                    n_items = data[pos]
                    if n_items < 0xFD:
                        pos += 1
                    else:
                        n_items, pos = _varint(data, pos)
                    items = []
                    for _ in range(n_items):
                        size = data[pos]
                        if size < 0xFD:
                            pos += 1
                        else:
                            size, pos = _varint(data, pos)
                        items.append(data[pos : pos + size])
                        pos += size
                    witnesses.append(items)
            pos += 4
            if pos > end:
                raise EOFError
            if segwit:
                stripped = data[start : start + 4] + data[body:body_end] + data[pos - 4 : pos]
            else:
                stripped = data[start:pos]
            txid = sha(sha(stripped).digest()).digest()
            coinbase = (
                n_in == 1 and raw_in[0][0][:32] == NULL_TXID and raw_in[0][0][32:] == b"\xff" * 4
            )
            if not t_id and raw_in:
                first_script = raw_in[0][1]
            txids.append(txid)
            t_id.append(txid[::-1].hex())
            t_cb.append(coinbase)
            t_nout.append(n_out)
            if coinbase:
                t_nin.append(0)
            else:
                t_nin.append(n_in)
                for i, (outpoint, script_sig) in enumerate(raw_in):
                    i_op.append(outpoint)
                    if outpoint in known or outpoint in local:
                        i_key.append(None)  # filled from the spent output
                        i_src.append(None)
                    else:
                        key, source = input_address_key(
                            script_sig, witnesses[i] if segwit else _NO_WITNESS
                        )
                        i_key.append(key)
                        i_src.append(source)
            for j, (value, script) in enumerate(out_rows):
                kind, key, address = output_address_key(script)
                o_key.append(key if key is not None else address)
                o_sat.append(value)
                o_kind.append(kind)
                local.add(txid + (vouts[j] if j < 256 else j.to_bytes(4, "little")))
    except (IndexError, EOFError):
        at = base + min(pos, end)
        raise ValueError(
            f"tx {n_done}: truncated: the transaction runs past the end of the block "
            f"(read up to {unit} {at})"
        ) from None
    except ValueError as exc:
        raise ValueError(f"tx {n_done}: {exc}") from None
    c.outpoints = local
    return c, pos, first_script
