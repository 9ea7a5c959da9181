"""Bitcoin script classification and mainnet address derivation (shared by all loaders).

Output scripts: P2PKH, P2SH, P2WPKH, P2WSH and P2TR get their standard address (embit).
A bare P2PK output gets the P2PKH address of its public key, as Bitcoin Core before v22
reported it in ``scriptPubKey.addresses`` (same key, same owner); ``script_type`` stays
``"p2pk"`` so that the two can be told apart. Bare multisig, OP_RETURN, unknown witness
versions and non-standard scripts have no address (``None``).

Input scripts (used only when the spent output is not in the loaded data): the address
is derived where the spending script proves it, because it must hash to the spent
output's script: a P2PKH spend (``<sig> <pubkey>``), a P2SH spend (redeem script as the
last push: nested SegWit ``0014``/``0020`` programs and ``OP_0 <sigs> <multisig>``), a
P2WPKH spend (witness ``<sig> <33-byte pubkey>``) and a P2WSH multisig spend (witness
script ending in ``OP_CHECKMULTISIG``). Anything else (P2PK, Taproot, other scripts)
stays unresolved rather than guessed.
"""

from __future__ import annotations

import hashlib

from embit import base58, bech32
from embit.networks import NETWORKS
from embit.script import Script

MAIN = NETWORKS["main"]

# Bitcoin Core's scriptPubKey.type names -> ours (the same names the raw parser gives).
RPC_TYPES = {
    "pubkeyhash": "p2pkh",
    "scripthash": "p2sh",
    "witness_v0_keyhash": "p2wpkh",
    "witness_v0_scripthash": "p2wsh",
    "witness_v1_taproot": "p2tr",
    "pubkey": "p2pk",
    "multisig": "multisig",
    "nulldata": "op_return",
    "nonstandard": "nonstandard",
    "witness_unknown": "witness_unknown",
    "anchor": "anchor",
}
SCRIPT_TYPES = tuple(sorted(set(RPC_TYPES.values())))

OP_0, OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHDATA4 = 0x00, 0x4C, 0x4D, 0x4E
OP_RETURN, OP_CHECKSIG, OP_CHECKMULTISIG = 0x6A, 0xAC, 0xAE


def hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


def p2pkh_address(h160: bytes) -> str:
    return base58.encode_check(MAIN["p2pkh"] + h160)


def p2sh_address(h160: bytes) -> str:
    return base58.encode_check(MAIN["p2sh"] + h160)


def segwit_address(version: int, program: bytes) -> str:
    return bech32.encode(MAIN["bech32"], version, program)


def is_pubkey(data: bytes) -> bool:
    """A serialized secp256k1 public key (compressed 33 bytes or uncompressed 65 bytes)."""
    return (len(data) == 33 and data[0] in (2, 3)) or (len(data) == 65 and data[0] == 4)


def classify_output(script: bytes) -> tuple[str, str | None]:
    """``(script_type, address or None)`` of an output script (mainnet)."""
    s = Script(script)
    kind = s.script_type()
    if kind is not None:
        return kind, s.address(MAIN)
    n = len(script)
    if n in (35, 67) and script[0] == n - 2 and script[-1] == OP_CHECKSIG:
        key = script[1:-1]
        if is_pubkey(key):
            return "p2pk", p2pkh_address(hash160(key))
    if n >= 1 and script[0] == OP_RETURN:
        return "op_return", None
    if n >= 4 and script[-1] == OP_CHECKMULTISIG and 0x51 <= script[0] <= 0x60:
        return "multisig", None
    if 4 <= n <= 42 and 0x51 <= script[0] <= 0x60 and script[1] == n - 2:
        return "witness_unknown", None
    return "nonstandard", None


def pushes(script: bytes) -> list[bytes] | None:
    """The data pushes of a push-only script, or ``None`` if it holds other opcodes."""
    out: list[bytes] = []
    i, n = 0, len(script)
    while i < n:
        op = script[i]
        i += 1
        if op == OP_0:
            out.append(b"")
            continue
        if op < OP_PUSHDATA1:
            size = op
        elif op == OP_PUSHDATA1 and i + 1 <= n:
            size, i = script[i], i + 1
        elif op == OP_PUSHDATA2 and i + 2 <= n:
            size, i = int.from_bytes(script[i : i + 2], "little"), i + 2
        elif op == OP_PUSHDATA4 and i + 4 <= n:
            size, i = int.from_bytes(script[i : i + 4], "little"), i + 4
        else:
            return None
        if i + size > n:
            return None
        out.append(script[i : i + size])
        i += size
    return out


def _is_der_sig(data: bytes) -> bool:
    return 9 <= len(data) <= 73 and data[0] == 0x30


def input_address(script_sig: bytes, witness: list[bytes]) -> tuple[str | None, str | None]:
    """``(address, source)`` proven by an input's scriptSig/witness, else ``(None, None)``.

    ``source`` is ``"scriptsig"`` or ``"witness"``: how the address was obtained.
    """
    items = pushes(script_sig) if script_sig else []
    if items is None:
        return None, None
    if len(items) == 2 and _is_der_sig(items[0]) and is_pubkey(items[1]):
        return p2pkh_address(hash160(items[1])), "scriptsig"
    if len(items) == 1 and len(items[0]) in (22, 34):
        prog = items[0]
        if prog[0] == OP_0 and prog[1] == len(prog) - 2:  # nested P2WPKH / P2WSH
            return p2sh_address(hash160(prog)), "scriptsig"
    if len(items) >= 3 and items[0] == b"" and items[-1] and items[-1][-1] == OP_CHECKMULTISIG:
        return p2sh_address(hash160(items[-1])), "scriptsig"
    if not items and witness:
        if len(witness) == 2 and _is_der_sig(witness[0]) and len(witness[1]) == 33:
            if is_pubkey(witness[1]):
                return segwit_address(0, hash160(witness[1])), "witness"
        last = witness[-1]
        if len(witness) >= 3 and witness[0] == b"" and last and last[-1] == OP_CHECKMULTISIG:
            return segwit_address(0, hashlib.sha256(last).digest()), "witness"
    return None, None


def address_type(address: str) -> str:
    """The output type an address stands for: p2pkh, p2sh, p2wpkh, p2wsh, p2tr (mainnet,
    testnet and regtest forms), else ``"unknown"``."""
    first = address[:1]
    if first in ("1", "m", "n"):
        return "p2pkh"
    if first in ("3", "2"):
        return "p2sh"
    low = address.lower()
    for hrp in ("bc1", "tb1", "bcrt1"):
        if low.startswith(hrp):
            rest = low[len(hrp) :]
            if rest[:1] == "q":
                return "p2wpkh" if len(rest) == 39 else "p2wsh"
            if rest[:1] == "p":
                return "p2tr"
    return "unknown"
