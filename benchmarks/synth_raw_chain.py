"""A synthetic chain in Bitcoin Core's ``blk*.dat`` format, for load benchmarks.

Blocks of ``txs_per_block`` transactions (regtest magic and difficulty, mined headers,
true merkle roots): each transaction spends 1-3 earlier outputs (P2PKH spends with a
DER-shaped signature and a public key in the scriptSig, or P2WPKH spends with them in the
witness, so the loader derives input addresses as on mainnet) and pays 2 outputs (P2PKH,
P2WPKH or P2SH). Keys are random bytes of the right shape: nothing is signed, which the
loader does not check. Seeded: the same arguments give the same bytes.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from ownergraph.loaders.bitcoin_raw import merkle_root, mine_header
from ownergraph.loaders.bitcoin_script import hash160

REGTEST_MAGIC = bytes.fromhex("fabfb5da")
BITS = bytes.fromhex("ffff7f20")


def _varint(n: int) -> bytes:
    return bytes([n]) if n < 0xFD else b"\xfd" + n.to_bytes(2, "little")


def _push(data: bytes) -> bytes:
    return bytes([len(data)]) + data


def _dsha(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def write_chain(path: Path, n_blocks: int, txs_per_block: int = 2000, seed: int = 1) -> int:
    """Write ``n_blocks`` blocks to ``path``; returns the number of transactions."""
    rng = random.Random(seed)
    utxos: list[tuple[bytes, int, bytes, bool, int]] = []  # txid, vout, pubkey, segwit, sat
    prev_hash = b"\x00" * 32
    n_tx = 0
    with open(path, "wb") as fh:
        for height in range(1, n_blocks + 1):
            txs: list[bytes] = []
            txids: list[bytes] = []
            pub = b"\x02" + rng.randbytes(32)
            cb_in = b"\x00" * 32 + b"\xff\xff\xff\xff" + _push(_push(height.to_bytes(3, "little")))
            cb_out = (50 * 10**8).to_bytes(8, "little") + _push(
                b"\x76\xa9\x14" + hash160(pub) + b"\x88\xac"
            )
            cb = (1).to_bytes(4, "little") + b"\x01" + cb_in + b"\xff\xff\xff\xff" + b"\x01"
            cb += cb_out + b"\x00\x00\x00\x00"
            txs.append(cb)
            txids.append(_dsha(cb))
            utxos.append((txids[0], 0, pub, False, 50 * 10**8))
            for _ in range(txs_per_block - 1):
                k = min(len(utxos), rng.choice((1, 1, 1, 2, 2, 3)))
                spent = [utxos.pop(rng.randrange(len(utxos))) for _ in range(k)]
                segwit = any(s[3] for s in spent)
                ins, wit = b"", b""
                for txid, vout, key, sw, _sat in spent:
                    sig = b"\x30" + rng.randbytes(70) + b"\x01"
                    script = b"" if sw else _push(sig) + _push(key)
                    ins += txid + vout.to_bytes(4, "little") + _push(script) + b"\xff" * 4
                    wit += (b"\x02" + _push(sig) + _push(key)) if sw else b"\x00"
                outs = b""
                made = []
                left = sum(s[4] for s in spent) - 1_000  # fee 1,000 sat
                for vout in range(2):
                    key = b"\x03" + rng.randbytes(32)
                    kind = rng.random()
                    sw = kind < 0.4
                    if sw:
                        spk = b"\x00\x14" + hash160(key)
                    elif kind < 0.9:
                        spk = b"\x76\xa9\x14" + hash160(key) + b"\x88\xac"
                    else:
                        spk = b"\xa9\x14" + hash160(key) + b"\x87"
                    value = rng.randrange(left // 4, left // 2) if vout == 0 else left
                    left -= value
                    outs += value.to_bytes(8, "little") + _push(spk)
                    made.append((vout, key, sw, kind >= 0.9, value))
                body = _varint(k) + ins + b"\x02" + outs
                version, lock = (2).to_bytes(4, "little"), b"\x00\x00\x00\x00"
                stripped = version + body + lock
                raw = version + b"\x00\x01" + body + wit + lock if segwit else stripped
                txid = _dsha(stripped)
                txs.append(raw)
                txids.append(txid)
                for vout, key, sw, p2sh, value in made:
                    if not p2sh and value > 10_000:  # P2SH: no redeem script here, unspent
                        utxos.append((txid, vout, key, sw, value))
            root = merkle_root(txids)
            header = mine_header(
                (4).to_bytes(4, "little")
                + prev_hash
                + root
                + (1_600_000_000 + 600 * height).to_bytes(4, "little")
                + BITS
            )
            prev_hash = _dsha(header)
            block = header + _varint(len(txs)) + b"".join(txs)
            fh.write(REGTEST_MAGIC + len(block).to_bytes(4, "little") + block)
            n_tx += len(txs)
    return n_tx
