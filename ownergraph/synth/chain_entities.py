"""The entities of the synthetic Bitcoin economy: coins, wallets, payment processors and
the payments owners make for their ads."""

from __future__ import annotations

from dataclasses import dataclass

from ownergraph.synth.chain_format import Addr


class Coin:
    __slots__ = ("txid", "vout", "sat", "addr", "created")

    def __init__(self, txid: str, vout: int, sat: int, addr: Addr, created: int) -> None:
        self.txid, self.vout, self.sat, self.addr, self.created = txid, vout, sat, addr, created


class Wallet:
    """A set of addresses controlled by one entity, with its unspent coins."""

    def __init__(self, wallet_id: str, entity: str, role: str, owner_id: str | None = None) -> None:
        self.id = wallet_id
        self.entity = entity
        self.role = role
        self.owner_id = owner_id
        self.receive: list[Addr] = []
        self.coins: list[Coin] = []
        self.reuse_change = False


@dataclass
class Processor:
    id: str
    spread: float
    weight: float
    wallet: Wallet
    cold: Addr
    next_sweep: int


@dataclass
class Payment:
    txid: str
    first_seen: int
    sat: int
    usd: float
    quoted_rate: float
    processor: str
    lag_s: int
    wallet_id: str
