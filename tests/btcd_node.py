"""A real btcd node for tests: start/stop in regtest, mine, and spend with embit-signed
transactions (P2PKH, so the node checks real signatures)."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import time
from pathlib import Path

from embit import script
from embit.ec import PrivateKey
from embit.networks import NETWORKS
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from ownergraph.loaders.bitcoin_node import RpcClient, RpcEndpoint, RpcError

REGTEST = NETWORKS["regtest"]
USER, PASSWORD = "ogtest", "s3cret-never-printed"


def key(name: str) -> PrivateKey:
    return PrivateKey(hashlib.sha256(name.encode()).digest())


def p2pkh(k: PrivateKey) -> script.Script:
    return script.p2pkh(k.get_public_key())


def address(k: PrivateKey) -> str:
    return p2pkh(k).address(REGTEST)


def _push(data: bytes) -> bytes:
    return bytes([len(data)]) + data


def sign_p2pkh(
    coins: list[tuple[str, int, PrivateKey]], outputs: list[tuple[script.Script, int]]
) -> str:
    """A signed transaction spending P2PKH ``coins`` (txid, vout, key) to ``outputs``."""
    tx = Transaction(
        version=2,
        vin=[TransactionInput(bytes.fromhex(t), v) for t, v, _ in coins],
        vout=[TransactionOutput(sat, spk) for spk, sat in outputs],
    )
    for i, (_t, _v, k) in enumerate(coins):
        sig = k.sign(tx.sighash_legacy(i, p2pkh(k))).serialize() + b"\x01"
        tx.vin[i].script_sig = script.Script(_push(sig) + _push(k.get_public_key().sec()))
    return tx.serialize().hex()


def _free_port() -> int:
    """A loopback port the OS reports free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BtcdNode:
    def __init__(self, binary: Path, folder: Path) -> None:
        self.binary, self.folder = binary, folder
        # free ports unless set: a node left running by another run must never answer here
        self.rpc_port = int(os.environ.get("OWNERGRAPH_BTCD_RPC_PORT") or _free_port())
        self.p2p_port = int(os.environ.get("OWNERGRAPH_BTCD_P2P_PORT") or _free_port())
        self.url = f"http://127.0.0.1:{self.rpc_port}"
        self.miner = key("miner")
        self.proc: subprocess.Popen | None = None
        self.client = RpcClient(RpcEndpoint(self.url, f"{USER}:{PASSWORD}"))

    def start(self) -> None:
        args = [
            str(self.binary), "--regtest", "--notls", f"--rpcuser={USER}",
            f"--rpcpass={PASSWORD}", f"--rpclisten=127.0.0.1:{self.rpc_port}",
            f"--listen=127.0.0.1:{self.p2p_port}", "--nolisten", "--txindex",
            f"--datadir={self.folder / 'data'}", f"--logdir={self.folder / 'log'}",
            f"--miningaddr={address(self.miner)}",
        ]  # fmt: skip
        log = open(self.folder / "stdout.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.folder / "stdout.log").read_text()[-2000:])
            try:
                self.client.call("getblockcount")
                return
            except RpcError:
                time.sleep(0.3)
        raise RuntimeError("no RPC answer within 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def call(self, method: str, *params):
        return self.client.call(method, *params)

    def mine(self, n: int) -> list[str]:
        return self.call("generate", n)

    def coinbase(self, height: int) -> tuple[str, int]:
        """(txid, sat) of the coinbase of the block at ``height``."""
        block = self.call("getblock", self.call("getblockhash", height), 2)
        tx = (block.get("tx") or block["rawtx"])[0]
        return tx["txid"], round(tx["vout"][0]["value"] * 1e8)
