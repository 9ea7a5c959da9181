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

import functools
import hashlib

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


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_PAIRS = [a + b for a in _B58 for b in _B58]  # two digits per divmod by 58^2
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
# the generator terms selected by the 5 bits shifted out of the checksum, precomputed
_POLY = []
for _top in range(32):
    _v = 0
    for _i, _g in enumerate(_GEN):
        if (_top >> _i) & 1:
            _v ^= _g
    _POLY.append(_v)


def base58check(payload: bytes) -> str:
    """Base58Check of ``payload`` (same result as ``embit.base58.encode_check``)."""
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(data, "big")
    out = []
    while n >= 3364:
        n, r = divmod(n, 3364)
        out.append(_B58_PAIRS[r])
    text = "".join(reversed(out))
    if n:
        text = (_B58[n] if n < 58 else _B58_PAIRS[n]) + text
    text = text.lstrip("1")
    pad = len(data) - len(data.lstrip(b"\x00"))
    return "1" * pad + text


def _polymod(chk: int, values: list[int]) -> int:
    poly = _POLY
    for v in values:
        chk = ((chk & 0x1FFFFFF) << 5) ^ v ^ poly[chk >> 25]
    return chk


@functools.cache
def _hrp_state(hrp: str) -> int:
    return _polymod(1, [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp])


def bech32_address(hrp: str, version: int, program: bytes) -> str:
    """A SegWit address (BIP173 bech32 for v0, BIP350 bech32m from v1), as embit gives."""
    nbits = 8 * len(program)
    k = (nbits + 4) // 5
    n = int.from_bytes(program, "big") << (5 * k - nbits)
    data = [version] + [(n >> (5 * (k - 1 - i))) & 31 for i in range(k)]
    chk = _polymod(_hrp_state(hrp), data + [0] * 6)
    chk ^= 1 if version == 0 else 0x2BC830A3
    alphabet = _BECH32
    tail = "".join([alphabet[(chk >> 5 * (5 - i)) & 31] for i in range(6)])
    return hrp + "1" + "".join([alphabet[d] for d in data]) + tail


def p2pkh_address(h160: bytes) -> str:
    return base58check(MAIN["p2pkh"] + h160)


def p2sh_address(h160: bytes) -> str:
    return base58check(MAIN["p2sh"] + h160)


def segwit_address(version: int, program: bytes) -> str:
    return bech32_address(MAIN["bech32"], version, program)


def is_pubkey(data: bytes) -> bool:
    """A serialized secp256k1 public key (compressed 33 bytes or uncompressed 65 bytes)."""
    return (len(data) == 33 and data[0] in (2, 3)) or (len(data) == 65 and data[0] == 4)


def classify_output(script: bytes) -> tuple[str, str | None]:
    """``(script_type, address or None)`` of an output script (mainnet)."""
    n = len(script)
    # the standard templates, without building a Script (the hot path of a chain load)
    if n == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        return "p2pkh", p2pkh_address(script[3:23])
    if n == 23 and script[:2] == b"\xa9\x14" and script[22] == 0x87:
        return "p2sh", p2sh_address(script[2:22])
    if n == 22 and script[:2] == b"\x00\x14":
        return "p2wpkh", segwit_address(0, script[2:])
    if n == 34 and script[:2] == b"\x00\x20":
        return "p2wsh", segwit_address(0, script[2:])
    if n == 34 and script[:2] == b"\x51\x20":
        return "p2tr", segwit_address(1, script[2:])
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


def input_address_key(script_sig: bytes, witness: list[bytes]) -> tuple[bytes | None, str | None]:
    """``(address key, source)`` proven by an input's scriptSig/witness, else
    ``(None, None)``; a key is a kind byte + hash (``ownergraph.loaders.bitcoin_addresses``).

    ``source`` is ``"scriptsig"`` or ``"witness"``: how the address was obtained.
    """
    # the common shapes first, without splitting the script into pushes
    n = len(script_sig)
    if n > 70 and 9 <= script_sig[0] <= 73 and script_sig[1] == 0x30:  # <sig> <pubkey>
        k = script_sig[0] + 1
        if k < n and script_sig[k] in (33, 65) and n == k + 1 + script_sig[k]:
            pub = script_sig[k + 1 :]
            if is_pubkey(pub):
                return b"\x00" + hash160(pub), "scriptsig"
    elif n == 0 and len(witness) == 2 and len(witness[1]) == 33 and _is_der_sig(witness[0]):
        if is_pubkey(witness[1]):
            return b"\x02" + hash160(witness[1]), "witness"
    items = pushes(script_sig) if script_sig else []
    if items is None:
        return None, None
    if len(items) == 2 and _is_der_sig(items[0]) and is_pubkey(items[1]):
        return b"\x00" + hash160(items[1]), "scriptsig"
    if len(items) == 1 and len(items[0]) in (22, 34):
        prog = items[0]
        if prog[0] == OP_0 and prog[1] == len(prog) - 2:  # nested P2WPKH / P2WSH
            return b"\x01" + hash160(prog), "scriptsig"
    if len(items) >= 3 and items[0] == b"" and items[-1] and items[-1][-1] == OP_CHECKMULTISIG:
        return b"\x01" + hash160(items[-1]), "scriptsig"
    if not items and witness:
        if len(witness) == 2 and _is_der_sig(witness[0]) and len(witness[1]) == 33:
            if is_pubkey(witness[1]):
                return b"\x02" + hash160(witness[1]), "witness"
        last = witness[-1]
        if len(witness) >= 3 and witness[0] == b"" and last and last[-1] == OP_CHECKMULTISIG:
            return b"\x02" + hashlib.sha256(last).digest(), "witness"
    return None, None


def key_address(key: bytes) -> str:
    """The mainnet address of one address key."""
    kind, prog = key[0], key[1:]
    if kind == 0:
        return p2pkh_address(prog)
    if kind == 1:
        return p2sh_address(prog)
    return segwit_address(kind - 2, prog)


def output_address_key(script: bytes) -> tuple[str, bytes | None, str | None]:
    """``(script_type, address key, address)`` of an output script: a key for the
    standard templates (encoded later, in bulk), else the address (or None) itself."""
    n = len(script)
    if n == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        return "p2pkh", b"\x00" + script[3:23], None
    if n == 23 and script[:2] == b"\xa9\x14" and script[22] == 0x87:
        return "p2sh", b"\x01" + script[2:22], None
    if n == 22 and script[:2] == b"\x00\x14":
        return "p2wpkh", b"\x02" + script[2:], None
    if n == 34 and script[:2] == b"\x00\x20":
        return "p2wsh", b"\x02" + script[2:], None
    if n == 34 and script[:2] == b"\x51\x20":
        return "p2tr", b"\x03" + script[2:], None
    kind, address = classify_output(script)
    return kind, None, address


def input_address(script_sig: bytes, witness: list[bytes]) -> tuple[str | None, str | None]:
    """``(address, source)`` proven by an input's scriptSig/witness, else ``(None, None)``.

    ``source`` is ``"scriptsig"`` or ``"witness"``: how the address was obtained.
    """
    key, source = input_address_key(script_sig, witness)
    return (key_address(key), source) if key is not None else (None, None)


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
