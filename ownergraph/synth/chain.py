"""The synthetic Bitcoin economy, written as Bitcoin Core ``getblock <hash> 2`` JSON.

Entities: exchanges (they receive the block rewards and fund everyone else, paying out
in peel chains), owners' wallets (several receiving addresses, change to a new address
of the same wallet), payment processors (a fresh invoice address per payment, swept
periodically into one cold address), noise wallets (unrelated payments, some to
processors with ad-like amounts) and CoinJoin-like transactions (many equal outputs,
inputs from many wallets).

Time rules that keep the files consistent: a transaction spends only outputs created
strictly before its first-seen time; a block at time B holds every pending transaction
first seen before B, in first-seen order (so parents precede children); blocks are mined
lazily, ``HORIZON_S`` behind the simulation clock, and every new transaction is first
seen after the last mined block.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import deque
from pathlib import Path
from random import Random
from typing import Any, TextIO

from embit.base58 import encode_check

from ownergraph.loaders.bitcoin_raw import dsha256, merkle_root, mine_header
from ownergraph.synth.chain_entities import Coin, Payment, Processor, Wallet
from ownergraph.synth.chain_format import SAT, Addr, add_checksum, btc_text
from ownergraph.synth.config import WorldConfig
from ownergraph.synth.rates import RateWalk

SYNTH_BITS = "207fffff"  # regtest proof-of-work: a nonce is found in ~2 tries

DUST = 546
BLOCK_S = 600
HORIZON_S = 2 * 3600
MATURITY_S = 100 * BLOCK_S
HALVING = 210_000
SEQ_FINAL = 4294967295
_VALUE = re.compile(r'"@@(\d+)@@"')


class Chain:
    def __init__(
        self,
        seed: str,
        cfg: WorldConfig,
        rates: RateWalk,
        out_dir: Path,
        start_ts: int,
        n_noise_wallets: int,
    ) -> None:
        self.cfg = cfg
        self.rng = Random(f"{seed}/chain")
        self.rates = rates
        btc = out_dir / "bitcoin"
        btc.mkdir(parents=True, exist_ok=True)
        truth = out_dir / "truth"
        truth.mkdir(parents=True, exist_ok=True)
        self._files: list[TextIO] = []
        self.f_blocks = self._open(btc / "blocks.jsonl")
        self.f_mempool = self._open(btc / "mempool_first_seen.csv")
        self.f_mempool.write("txid,first_seen\n")
        self.f_proc = self._open(btc / "processor_addresses.txt")
        self.w_addr = csv.writer(self._open(truth / "addresses.csv"), lineterminator="\n")
        self.w_addr.writerow(["address", "wallet_id", "owner_id", "entity", "role"])
        self.w_tx = csv.writer(self._open(truth / "txs.csv"), lineterminator="\n")
        self.w_tx.writerow(["txid", "kind", "first_seen", "n_inputs", "n_outputs", "fee_sat"])

        self.mempool: list[tuple[int, int, dict[str, Any]]] = []
        self.seq = 0
        self.height = cfg.start_height
        self.prev_hash = "0" * 16 + self.rng.randbytes(24).hex()
        self.chainwork = 0x0000000000000000000000000000000000000000001A1F0C3B1D2E3F4A5B6C7D
        self.recent_times: deque[int] = deque(maxlen=11)
        self.held: dict[str, Any] | None = None
        self.mined_until = start_ts - (MATURITY_S + 50 * BLOCK_S)
        self.next_block_ts = self.mined_until + BLOCK_S
        self.counts = {
            "blocks": 0,
            "txs": 0,
            "payments": 0,
            "decoys": 0,
            "noise": 0,
            "coinjoins": 0,
            "sweeps": 0,
            "fundings": 0,
            "addresses": 0,
            "unpaid_no_funds": 0,
        }

        self.exchanges = [Wallet(f"ex{k}", f"ex{k}", "exchange") for k in range(5)]
        for ex in self.exchanges:
            ex.receive = [self._addr(ex) for _ in range(3)]
        weights = [1.0 / (k + 1) for k in range(cfg.n_processors)]
        self.processors = []
        for k in range(cfg.n_processors):
            w = Wallet(f"proc{k}", f"proc{k}", "processor_invoice")
            vault = Wallet(f"proc{k}", f"proc{k}", "processor_cold")  # never spends here
            cold = self._addr(vault)
            self.processors.append(
                Processor(
                    id=f"proc{k}",
                    spread=self.rng.uniform(0.0, cfg.processor_spread_max),
                    weight=weights[k],
                    wallet=w,
                    cold=cold,
                    next_sweep=start_ts + self._sweep_gap(),
                )
            )
        self.noise = []
        for k in range(n_noise_wallets):
            w = Wallet(f"nw{k}", f"nw{k}", "noise")
            w.receive = [self._addr(w) for _ in range(self.rng.randint(1, 4))]
            w.reuse_change = self.rng.random() < 0.3
            self.noise.append(w)
        # The chain before the world starts: block rewards the exchanges can spend.
        while self.next_block_ts < start_ts:
            self._mine(self.next_block_ts)

    def _open(self, path: Path) -> TextIO:
        f = path.open("w", encoding="utf-8", newline="")
        self._files.append(f)
        return f

    # ---- addresses and transactions ----

    def _addr(self, wallet: Wallet | None, *, role: str | None = None, p2sh: bool = False) -> Addr:
        h = self.rng.randbytes(20)
        version = b"\x05" if p2sh else b"\x00"
        address = encode_check(version + h)
        addr = Addr(address, h.hex(), "scripthash" if p2sh else "pubkeyhash", wallet)
        role = role or (wallet.role if wallet else "external")
        if wallet is None:
            self.w_addr.writerow([address, "", "", "external", role])
        else:
            wid = wallet.id if wallet.owner_id else ""
            self.w_addr.writerow([address, wid, wallet.owner_id or "", wallet.entity, role])
        if role == "processor_invoice":
            self.f_proc.write(address + "\n")
        self.counts["addresses"] += 1
        return addr

    def owner_wallet(self, owner: Any) -> Wallet:
        """One of the owner's wallets (created on first use, up to ``owner.n_wallets``)."""
        rng = self.rng
        if len(owner.wallets) < max(owner.n_wallets, 1) and (
            not owner.wallets or rng.random() < 0.3
        ):
            k = len(owner.wallets)
            w = Wallet(f"w{owner.idx:07d}-{k}", f"w{owner.idx:07d}-{k}", "owner", owner.id)
            w.receive = [self._addr(w) for _ in range(rng.randint(2, 5))]
            owner.wallets.append(w)
            return w
        return rng.choice(owner.wallets)

    @staticmethod
    def _nulldata(data: str) -> dict[str, Any]:
        script = f"6a{len(data) // 2:02x}{data}"
        return {
            "asm": f"OP_RETURN {data}",
            "desc": add_checksum(f"raw({script})"),
            "hex": script,
            "type": "nulldata",
        }

    def _script_sig(self) -> dict[str, str]:
        rb = self.rng.randbytes
        sig = "3044022046" + rb(31).hex() + "0220" + rb(32).hex()
        pub = ("02" if self.rng.random() < 0.5 else "03") + rb(32).hex()
        return {"asm": f"{sig}[ALL] {pub}", "hex": f"{len(sig) // 2 + 1:02x}{sig}0121{pub}"}

    @staticmethod
    def tx_size(n_in: int, n_out: int) -> int:
        return 10 + 148 * n_in + 34 * n_out

    def _fee(self, n_in: int, n_out: int) -> int:
        rate = min(max(math.exp(self.rng.gauss(math.log(60.0), 0.4)), 10.0), 300.0)
        return int(self.tx_size(n_in, n_out) * rate)

    def _tx(
        self,
        kind: str,
        inputs: list[Coin],
        outputs: list[tuple[Addr | None, int]],
        fs: int,
    ) -> tuple[str, list[Coin]]:
        if fs <= self.mined_until:
            raise AssertionError(
                f"{kind} tx first seen {fs} not after mined block {self.mined_until}"
            )
        for c in inputs:
            if c.created >= fs:
                raise AssertionError(f"{kind} tx at {fs} spends a coin created at {c.created}")
        fee = sum(c.sat for c in inputs) - sum(s for _, s in outputs)
        if fee < 0:
            raise AssertionError(f"{kind} tx pays more than its inputs ({fee})")
        txid = self.rng.randbytes(32).hex()
        vin = [
            {"txid": c.txid, "vout": c.vout, "scriptSig": self._script_sig(), "sequence": SEQ_FINAL}
            for c in inputs
        ]
        vout = []
        coins = []
        for n, (addr, sat) in enumerate(outputs):
            if addr is None:
                spk = self._nulldata(self.rng.randbytes(20).hex())
            else:
                spk = addr.spk()
                coin = Coin(txid, n, sat, addr, fs)
                coins.append(coin)
                if addr.wallet is not None:
                    addr.wallet.coins.append(coin)
            vout.append({"value": f"@@{sat}@@", "n": n, "scriptPubKey": spk})
        size = self.tx_size(len(inputs), len(outputs))
        tx = {
            "txid": txid,
            "hash": txid,
            "version": 1,
            "size": size,
            "vsize": size,
            "weight": 4 * size,
            "locktime": 0,
            "vin": vin,
            "vout": vout,
            "fee": f"@@{fee}@@",
        }
        self.seq += 1
        self.mempool.append((fs, self.seq, tx))
        self.w_tx.writerow([txid, kind, fs, len(inputs), len(outputs), fee])
        self.counts["txs"] += 1
        return txid, coins

    @staticmethod
    def _take(wallet: Wallet, picked: list[Coin]) -> None:
        ids = {id(c) for c in picked}
        wallet.coins = [c for c in wallet.coins if id(c) not in ids]

    def _select(self, wallet: Wallet, need: int, ts: int, n_out: int = 2) -> list[Coin] | None:
        """Coins created before ``ts`` covering ``need`` plus a fee: largest first, or
        (one time in three) oldest first, which also spends the small change that piles up.
        """
        avail = [c for c in wallet.coins if c.created < ts]
        if self.rng.random() < 0.33:
            avail.sort(key=lambda c: c.created)
        else:
            avail.sort(key=lambda c: -c.sat)
        picked: list[Coin] = []
        total = 0
        for c in avail:
            picked.append(c)
            total += c.sat
            if total >= need + self.tx_size(len(picked), n_out) * 300:
                self._take(wallet, picked)
                return picked
        return None

    def _fund(self, wallet: Wallet, sat: int, lo: int, hi: int) -> bool:
        """An exchange pays ``sat`` to one of the wallet's addresses at a time in [lo, hi]."""
        lo = max(lo, self.mined_until + 1)
        if hi <= lo:
            return False
        f = self.rng.randint(lo, hi)
        start = self.rng.randrange(len(self.exchanges))
        for k in range(len(self.exchanges)):
            ex = self.exchanges[(start + k) % len(self.exchanges)]
            fee = self._fee(1, 2)
            for i in range(len(ex.coins) - 1, -1, -1):  # newest first: peel chains
                c = ex.coins[i]
                if c.created < f and c.sat >= sat + fee + DUST:
                    ex.coins.pop(i)
                    change = self._addr(ex)
                    dest = self.rng.choice(wallet.receive) if wallet.receive else self._addr(wallet)
                    outs = [(dest, sat), (change, c.sat - sat - fee)]
                    self.rng.shuffle(outs)
                    self._tx("funding", [c], outs, f)
                    self.counts["fundings"] += 1
                    return True
        return False

    def _change_addr(self, wallet: Wallet, inputs: list[Coin]) -> Addr:
        if wallet.reuse_change and inputs:
            return inputs[0].addr
        return self._addr(wallet)

    def _spend(
        self,
        kind: str,
        wallet: Wallet,
        pay: list[tuple[Addr | None, int]],
        ts: int,
        fund_usd: float,
    ) -> str | None:
        """Pay outputs from a wallet at ``ts`` (funding it first when it lacks coins)."""
        need = sum(s for _, s in pay)
        coins = self._select(wallet, need, ts, len(pay) + 1)
        if coins is None:
            fund_sat = int(fund_usd / self.rates.at(ts) * SAT) + need
            parts = 1 if self.rng.random() < 0.6 else 2
            ok = True
            for _ in range(parts):
                ok = self._fund(wallet, fund_sat // parts + DUST, ts - 3 * 3600, ts - 60) and ok
            coins = self._select(wallet, need, ts, len(pay) + 1) if ok else None
            if coins is None:
                return None
        total = sum(c.sat for c in coins)
        fee = self._fee(len(coins), len(pay) + 1)
        change = total - need - fee
        outs = list(pay)
        if change >= DUST:
            outs.append((self._change_addr(wallet, coins), change))
            self.rng.shuffle(outs)
        txid, _ = self._tx(kind, coins, outs, ts)
        return txid

    # ---- the economy ----

    def _processor(self) -> Processor:
        return self.rng.choices(self.processors, weights=[p.weight for p in self.processors])[0]

    def quote(self, proc: Processor, usd: float, fs: int) -> tuple[int, float]:
        """Invoice amount (sat, rounded up by the processor) and the rate it quoted."""
        invoice_ts = fs - self.rng.randint(20, max(self.cfg.invoice_delay_max_s, 21))
        rate = self.rates.at(invoice_ts) * (1.0 - proc.spread)
        r = self.cfg.processor_rounding_sat
        sat = math.ceil(usd / rate * SAT / r) * r
        return sat, rate

    def lag(self) -> int:
        cfg = self.cfg
        v = cfg.lag_median_s * math.exp(self.rng.gauss(0.0, 0.6))
        return int(min(max(v, cfg.lag_min_s), cfg.lag_max_s))

    def pay_for_ad(self, owner: Any, usd: float, ad_ts: int) -> Payment | None:
        """The owner's BTC payment for an ad posted at ``ad_ts`` (None if unfunded)."""
        wallet = self.owner_wallet(owner)
        lag = self.lag()
        fs = ad_ts - lag
        proc = self._processor()
        sat, rate = self.quote(proc, usd, fs)
        invoice = self._addr(proc.wallet)
        budget = (
            self.rng.uniform(150, 1500) if owner.kind == "operation" else self.rng.uniform(40, 300)
        )
        txid = self._spend("payment", wallet, [(invoice, sat)], fs, budget)
        if txid is None:
            self.counts["unpaid_no_funds"] += 1
            return None
        self.counts["payments"] += 1
        if self.rng.random() < self.cfg.decoy_near_payment_rate:
            self.decoy(fs, usd)
        for _ in range(self._poisson(self.cfg.noise_tx_per_payment)):
            self.noise_tx(ad_ts)
        return Payment(txid, fs, sat, usd, rate, proc.id, lag, wallet.id)

    def _poisson(self, lam: float) -> int:
        # Knuth's method; lam is small
        limit, k, p = math.exp(-lam), 0, self.rng.random()
        while p > limit:
            k += 1
            p *= self.rng.random()
        return k

    def decoy(self, fs: int, usd: float) -> None:
        """An unrelated processor payment of a similar USD amount close in time."""
        ts = max(fs + self.rng.randint(-120, 120), self.mined_until + 2)
        usd2 = usd if self.rng.random() < 0.5 else usd * self.rng.uniform(0.97, 1.03)
        proc = self._processor()
        sat, _ = self.quote(proc, usd2, ts)
        w = self.rng.choice(self.noise)
        if self._spend("decoy", w, [(self._addr(proc.wallet), sat)], ts, 300.0):
            self.counts["decoys"] += 1

    def noise_tx(self, clock: int) -> None:
        """An unrelated transaction shortly before ``clock``."""
        rng = self.rng
        ts = max(clock - rng.randint(0, 600), self.mined_until + 2)
        w = rng.choice(self.noise)
        r = rng.random()
        if r < 0.15:  # another merchant's customer paying the same processors
            proc = self._processor()
            usd = rng.choice((6.0, 9.0, 12.0, 18.0, 24.0, 35.0, 47.0, 50.0, 100.0))
            sat, _ = self.quote(proc, usd, ts)
            pay = [(self._addr(proc.wallet), sat)]
        else:
            sat = int(min(max(math.exp(rng.gauss(math.log(0.05), 1.5)), 0.0001), 20.0) * SAT)
            if r < 0.65:
                dest_w = rng.choice(self.noise)
                dest = rng.choice(dest_w.receive) if rng.random() < 0.5 else self._addr(dest_w)
            else:
                dest = self._addr(None, p2sh=rng.random() < 0.3)
            pay = [(dest, sat)]
            if r > 0.97:
                pay.append((None, 0))  # OP_RETURN data output
        usd_fund = max(sum(s for _, s in pay) / SAT * self.rates.at(ts) * 2, 200.0)
        if self._spend("noise", w, pay, ts, usd_fund):
            self.counts["noise"] += 1

    def coinjoin(self, clock: int, owner_wallet: Wallet | None) -> None:
        """Many wallets each put in coins and get one equal output plus change."""
        rng = self.rng
        ts = clock
        denom = rng.choice((1_000_000, 5_000_000, 10_000_000))
        parts = rng.sample(self.noise, min(len(self.noise), rng.randint(4, 11)))
        if owner_wallet is not None:
            parts.append(owner_wallet)
        inputs: list[Coin] = []
        outs: list[tuple[Addr | None, int]] = []
        fee_each = self._fee(2, 2)
        for w in parts:
            need = denom + fee_each
            coins = self._select(w, need, ts, 2)
            if coins is None:
                usd = (need / SAT) * self.rates.at(ts) * 1.5 + 50.0
                if not self._fund(w, int(usd / self.rates.at(ts) * SAT), ts - 3 * 3600, ts - 60):
                    continue
                coins = self._select(w, need, ts, 2)
                if coins is None:
                    continue
            inputs.extend(coins)
            outs.append((self._addr(w), denom))
            change = sum(c.sat for c in coins) - denom - fee_each
            if change >= DUST:
                outs.append((self._addr(w), change))
        if len(outs) < 4:
            for c in inputs:  # too few joined: give the coins back
                c.addr.wallet.coins.append(c)  # type: ignore[union-attr]
            return
        rng.shuffle(inputs)
        rng.shuffle(outs)
        self._tx("coinjoin", inputs, outs, ts)
        self.counts["coinjoins"] += 1

    def _sweep_gap(self) -> int:
        return int(self.cfg.sweep_hours * 3600 * self.rng.uniform(0.7, 1.3))

    def sweep_due(self, clock: int) -> None:
        """Processors whose sweep time has come consolidate their invoice coins."""
        for proc in self.processors:
            while proc.next_sweep <= clock:
                ts = max(proc.next_sweep, self.mined_until + 2)
                coins = [c for c in proc.wallet.coins if c.created < ts]
                coins.sort(key=lambda c: c.created)
                for i in range(0, len(coins), 300):
                    chunk = coins[i : i + 300]
                    fee = self._fee(len(chunk), 1)
                    total = sum(c.sat for c in chunk)
                    if total - fee < DUST:
                        continue
                    self._take(proc.wallet, chunk)
                    self._tx("sweep", chunk, [(proc.cold, total - fee)], ts)
                    self.counts["sweeps"] += 1
                proc.next_sweep += self._sweep_gap()

    # ---- blocks ----

    def advance(self, clock: int) -> None:
        """Mine every block that is at least ``HORIZON_S`` behind the clock."""
        while self.next_block_ts + HORIZON_S <= clock:
            self._mine(self.next_block_ts)

    def _mine(self, bt: int) -> None:
        rng = self.rng
        ready = [e for e in self.mempool if e[0] < bt]
        self.mempool = [e for e in self.mempool if e[0] >= bt]
        ready.sort(key=lambda e: (e[0], e[1]))
        fees = 0
        for _, _, tx in ready:
            fees += int(tx["fee"][2:-2])
        subsidy = (50 * SAT) >> (self.height // HALVING)
        ex = self.exchanges[self.height % len(self.exchanges)]
        cb_id = rng.randbytes(32).hex()
        cb_addr = rng.choice(ex.receive)
        reward = subsidy + fees
        ex.coins.append(Coin(cb_id, 0, reward, cb_addr, bt + MATURITY_S))
        height_push = self.height.to_bytes(3, "little").hex()
        coinbase = {
            "txid": cb_id,
            "hash": cb_id,
            "version": 1,
            "size": 180,
            "vsize": 180,
            "weight": 720,
            "locktime": 0,
            "vin": [
                {"coinbase": f"03{height_push}" + rng.randbytes(20).hex(), "sequence": SEQ_FINAL}
            ],
            "vout": [{"value": f"@@{reward}@@", "n": 0, "scriptPubKey": cb_addr.spk()}],
        }
        self.w_tx.writerow([cb_id, "coinbase", "", 0, 1, 0])
        txs = [coinbase] + [tx for _, _, tx in ready]
        for fs, _, tx in ready:
            if rng.random() >= self.cfg.mempool_missing_rate:
                self.f_mempool.write(f"{tx['txid']},{fs}\n")
        self.recent_times.append(bt)
        difficulty = 163491654908.9593
        self.chainwork += int(difficulty * 2**32)
        size = 80 + sum(tx["size"] for tx in txs)
        # A header a loader can check: the true merkle root of the txids, regtest bits
        # (mainnet work cannot be mined here) and a mined nonce; the draws stay as they
        # were so that the rest of the world keeps its random stream.
        rng.randbytes(23)
        rng.randbytes(32)
        nonce_start = rng.randrange(2**32)
        root = merkle_root([bytes.fromhex(tx["txid"])[::-1] for tx in txs])
        head76 = (
            (536870912).to_bytes(4, "little")
            + bytes.fromhex(self.prev_hash)[::-1]
            + root
            + bt.to_bytes(4, "little")
            + bytes.fromhex(SYNTH_BITS)[::-1]
        )
        header = mine_header(head76, nonce_start)
        block_hash = dsha256(header)[::-1].hex()
        block: dict[str, Any] = {
            "hash": block_hash,
            "height": self.height,
            "version": 536870912,
            "versionHex": "20000000",
            "merkleroot": root[::-1].hex(),
            "time": bt,
            "mediantime": sorted(self.recent_times)[len(self.recent_times) // 2],
            "nonce": int.from_bytes(header[76:80], "little"),
            "bits": SYNTH_BITS,
            "difficulty": difficulty,
            "chainwork": f"{self.chainwork:064x}",
            "nTx": len(txs),
            "previousblockhash": self.prev_hash,
            "nextblockhash": None,
            "strippedsize": size,
            "size": size,
            "weight": 4 * size,
            "tx": txs,
        }
        self._emit(block)
        self.prev_hash = block_hash
        self.height += 1
        self.counts["blocks"] += 1
        self.mined_until = bt
        self.next_block_ts = bt + max(1, int(rng.expovariate(1.0 / BLOCK_S)))

    def _emit(self, block: dict[str, Any]) -> None:
        if self.held is not None:
            self.held["nextblockhash"] = block["hash"]
            self._write(self.held)
        self.held = block

    def _write(self, block: dict[str, Any]) -> None:
        if block.get("nextblockhash") is None:
            del block["nextblockhash"]
        line = json.dumps(block, separators=(",", ":"))
        self.f_blocks.write(_VALUE.sub(lambda m: btc_text(int(m.group(1))), line) + "\n")

    def finish(self) -> None:
        """Mine until nothing is pending, write the tip block, close the files."""
        while self.mempool:
            self._mine(max(self.next_block_ts, self.mined_until + 1))
        if self.held is not None:
            self._write(self.held)
            self.held = None
        for f in self._files:
            f.close()
