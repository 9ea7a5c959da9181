"""How the synthetic chain is written the way Bitcoin Core prints it: output descriptors
with their checksum (``addr(...)#checksum``), exact 8-decimal BTC amounts, and an
address's ``scriptPubKey`` object."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ownergraph.synth.chain_entities import Wallet

SAT = 100_000_000


_DESC_INPUT = (
    "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVW"
    'XYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#"\\ '
)
_DESC_POS = {ch: i for i, ch in enumerate(_DESC_INPUT)}
_DESC_OUT = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A, 0x644D626FFD)


def _poly_xor(c0: int) -> int:
    out = 0
    for k, g in enumerate(_GEN):
        if c0 >> k & 1:
            out ^= g
    return out


_POLY = tuple(_poly_xor(c0) for c0 in range(32))


def add_checksum(desc: str) -> str:
    """``desc#checksum`` as Bitcoin Core writes descriptors (BIP 380), table-driven.

    Same result as ``embit.descriptor.checksum.add_checksum``, several times faster.
    """
    c, cls, count = 1, 0, 0
    poly, pos = _POLY, _DESC_POS
    for ch in desc:
        p = pos[ch]
        c = ((c & 0x7FFFFFFFF) << 5) ^ (p & 31) ^ poly[c >> 35]
        cls = cls * 3 + (p >> 5)
        count += 1
        if count == 3:
            c = ((c & 0x7FFFFFFFF) << 5) ^ cls ^ poly[c >> 35]
            cls, count = 0, 0
    if count:
        c = ((c & 0x7FFFFFFFF) << 5) ^ cls ^ poly[c >> 35]
    for _ in range(8):
        c = ((c & 0x7FFFFFFFF) << 5) ^ poly[c >> 35]
    c ^= 1
    return desc + "#" + "".join(_DESC_OUT[(c >> (5 * (7 - j))) & 31] for j in range(8))


def btc_text(sat: int) -> str:
    """Satoshis as an exact 8-decimal BTC amount (``0.00012300``)."""
    if sat < 0:
        raise ValueError(f"negative amount {sat}")
    return f"{sat // SAT}.{sat % SAT:08d}"


class Addr:
    __slots__ = ("address", "h160", "type", "wallet", "_desc")

    def __init__(self, address: str, h160: str, typ: str, wallet: Wallet | None) -> None:
        self.address, self.h160, self.type, self.wallet = address, h160, typ, wallet
        self._desc: str | None = None

    def spk(self) -> dict[str, Any]:
        """The output's ``scriptPubKey`` object as Bitcoin Core prints it."""
        if self._desc is None:  # only the checksum is costly; keep just that
            self._desc = add_checksum(f"addr({self.address})")
        h = self.h160
        if self.type == "scripthash":
            asm, hexs = f"OP_HASH160 {h} OP_EQUAL", f"a914{h}87"
        else:
            asm, hexs = f"OP_DUP OP_HASH160 {h} OP_EQUALVERIFY OP_CHECKSIG", f"76a914{h}88ac"
        return {
            "asm": asm,
            "desc": self._desc,
            "hex": hexs,
            "address": self.address,
            "type": self.type,
        }
