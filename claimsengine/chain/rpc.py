"""The JSON-RPC chain: the same ``Chain`` interface over any Ethereum node (anvil, geth, Besu).

It speaks plain JSON-RPC through web3's ``HTTPProvider`` (no contract middleware: that
layer costs more than the node does on a local chain). Transient transport failures
(refused or reset connections, timeouts, HTTP 5xx/429) are retried with exponential backoff
by ``retry_transient``; anything else is a ``ChainError`` that says what failed.

A real chain cannot roll back, so ``command()`` here is only a marker: what was mined stays
mined even if the command fails afterwards.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import requests
from eth_utils import to_checksum_address
from web3 import HTTPProvider

from claimsengine.chain.accounts import LocalSigner
from claimsengine.chain.base import (
    DEV_ALIASES,
    Chain,
    Log,
    Receipt,
    decode_revert_reason,
    iter_topic_filter,
)
from claimsengine.errors import ChainError, NonceTaken, RpcError, TransactionReverted

__all__ = ["RpcChain", "is_transient", "retry_transient"]

T = TypeVar("T")

_GAS_MARGIN_PERCENT = 20  # on top of eth_estimateGas, for state drift between estimate and mining
_DEFAULT_TIP = 10**9  # 1 gwei, when the node has no eth_maxPriorityFeePerGas
_BATCH_SIZE = 500  # requests per JSON-RPC batch
_REVERT_CODE = 3  # JSON-RPC error code nodes use for "execution reverted"
_NONCE_TRIES = 20  # sends of one transaction when other processes keep taking its nonce
_NONCE_BACKOFF = 0.02  # seconds, times the attempt: spreads out processes that collide
_DISPLACED_CHECK_SECONDS = 1.0  # how often a wait asks whether a transaction was displaced
_FEE_JITTER_WEI = 10**6  # see _sign
_NOW_FRESH_SECONDS = 0.5  # how long now() reuses the node's answer (see now())
_CLAIMS_NODE = "claimsengine/"  # how `claims node` names itself in web3_clientVersion
#: What nodes say when a transaction's nonce is not the account's next (anvil, geth, Besu,
#: claims node): another process used it first.
_NONCE_TAKEN = (
    "nonce too low",
    "replacement transaction underpriced",
    "nonce has already been used",
    "known transaction",
    "nonce too high",  # our count ran ahead (a transaction was dropped): ask the node again
)


# -- retries -------------------------------------------------------------------------------


def is_transient(error: BaseException) -> bool:
    """Whether trying again later may succeed: the node was unreachable, slow or overloaded."""
    if isinstance(error, requests.HTTPError):
        status = error.response.status_code if error.response is not None else 0
        return status >= 500 or status == 429
    return isinstance(
        error,
        requests.ConnectionError | requests.Timeout | ConnectionError | TimeoutError,
    )


def retry_transient(
    action: Callable[[], T],
    *,
    what: str,
    tries: int = 5,
    first_delay: float = 0.1,
    max_delay: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``action``; on a transient failure wait (0.1 s, 0.2 s, 0.4 s ...) and try again.

    After ``tries`` attempts, or at once on a failure that is not transient, raise
    ``ChainError`` naming ``what`` was being done. ``ChainError`` from ``action`` passes.
    """
    for attempt in range(1, tries + 1):
        try:
            return action()
        except ChainError:
            raise
        except Exception as error:
            if not is_transient(error):
                raise ChainError(f"{what} failed: {_describe(error)}") from error
            if attempt == tries:
                raise ChainError(
                    f"{what} failed after {tries} tries: {_describe(error)}",
                    hint="check that the node is running and the --rpc URL is right",
                ) from error
            sleep(min(max_delay, first_delay * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")  # pragma: no cover


def _describe(error: BaseException) -> str:
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code} {error.response.reason}"
    if isinstance(error, requests.ConnectionError):
        text = str(error)
        for marker in ("Connection refused", "Connection reset", "Name or service not known"):
            if marker in text:
                return marker.lower()
        return "connection failed"
    if isinstance(error, requests.Timeout):
        return "timed out"
    return f"{type(error).__name__}: {error}"


def _is_nonce_taken(error: RpcError) -> bool:
    message = error.rpc_message.lower()
    return any(marker in message for marker in _NONCE_TAKEN)


def _is_revert(error: RpcError) -> bool:
    return error.code == _REVERT_CODE or "revert" in error.rpc_message.lower()


def _revert_reason(error: RpcError) -> str:
    """The revert string a node's error carries: in its data, else in its message."""
    data = error.data
    if isinstance(data, dict):  # some nodes nest it: {"data": {"data": "0x..."}}
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return decode_revert_reason(bytes.fromhex(data[2:]))
    message = error.rpc_message
    for prefix in ("execution reverted: ", "execution reverted"):
        if message.startswith(prefix):
            return message[len(prefix) :] or "execution reverted"
    return message


# -- the chain ------------------------------------------------------------------------------


class RpcChain(Chain):
    """A chain reached over JSON-RPC.

    Aliases: with neither ``accounts`` nor ``keystore``, the node's own unlocked accounts
    (``eth_accounts``) in order: insurer, adjudicator, auditor, hospital-1 .. hospital-4.
    ``accounts`` names unlocked node accounts explicitly; ``keystore`` adds accounts whose
    keys are held here (``accounts.load_keystore_dir``), which are signed for locally.
    """

    def __init__(
        self,
        url: str,
        *,
        accounts: Mapping[str, str] | None = None,
        keystore: Mapping[str, LocalSigner] | None = None,
        request_timeout: float = 30.0,
        receipt_timeout: float = 120.0,
        retries: int = 5,
        fee_multiplier: int = 4,
    ) -> None:
        self.url = url
        self._session = requests.Session()
        self._provider = HTTPProvider(
            url,
            session=self._session,
            request_kwargs={"timeout": request_timeout},
            exception_retry_configuration=None,  # retry_transient does it, for every method
        )
        self._retries = retries
        self._receipt_timeout = receipt_timeout
        # Base fees climb while blocks are full (bulk sends): leave room so nothing stalls.
        self._fee_multiplier = fee_multiplier
        self._reasons: dict[bytes, str] = {}  # revert reasons of send_many, by tx hash
        self._gas_limit: int | None = None
        self._nonces: dict[str, int] = {}  # next nonce of each account we sign for
        # What we signed, by hash, to send again if another process's transaction displaces it.
        # The nonce is None for what the node signed: the node chose it.
        self._sent: dict[
            bytes, tuple[str, dict[str, Any], int | None, dict[str, str], int | None]
        ] = {}
        self._sizes_gas: bool | None = None  # see _node_sizes_gas
        self._now_cache: tuple[float, int] | None = None  # (monotonic time asked, now())
        signers = dict(keystore or {})
        try:
            self.chain_id = int(self._request("eth_chainId"), 16)
            if accounts is None and not signers:
                node_accounts = self._request("eth_accounts")
                accounts = dict(zip(DEV_ALIASES, node_accounts, strict=False))
        except BaseException:
            self._session.close()
            raise
        self.accounts = {alias: to_checksum_address(a) for alias, a in (accounts or {}).items()}
        self._signers: dict[str, LocalSigner] = {}
        for alias, signer in signers.items():
            self.accounts[alias] = signer.address
            self._signers[signer.address] = signer

    # -- plumbing -----------------------------------------------------------------------

    def _request(self, method: str, *params: Any) -> Any:
        response = retry_transient(
            lambda: self._provider.make_request(method, list(params)),  # type: ignore[arg-type]
            what=f"{method} to {self.url}",
            tries=self._retries,
        )
        if "error" in response and response["error"] is not None:
            raise RpcError(method, response["error"])
        return response.get("result")

    def _batch(self, method: str, params_list: Sequence[list[Any]]) -> list[Any]:
        """Read-only requests in JSON-RPC batches; results (or ``RpcError``) in order."""
        results: list[Any] = []
        for chunk in _iter_chunks(params_list, _BATCH_SIZE):
            requests_ = [(method, params) for params in chunk]

            def send_batch(requests_: list[tuple[str, list[Any]]] = requests_) -> Any:
                return self._provider.make_batch_request(requests_)  # type: ignore[arg-type]

            responses = retry_transient(
                send_batch,
                what=f"batch of {len(chunk)} {method} to {self.url}",
                tries=self._retries,
            )
            if not isinstance(responses, list):  # the whole batch was refused
                raise RpcError(method, responses.get("error") or {})
            for response in responses:
                error = response.get("error")
                results.append(RpcError(method, error) if error else response.get("result"))
        return results

    # -- transactions -------------------------------------------------------------------

    def send(self, sender: str, to: str | None, data: bytes, *, gas: int | None = None) -> Receipt:
        address = self.address_of(sender)
        call = self._call_object(address, to, data)
        if gas is None and address not in self._signers and self._node_sizes_gas():
            # `claims node` runs the transaction once, refusing it if it reverts: an
            # estimate first would run it twice more for nothing.
            (receipt,) = self._wait_for([self._submit(address, call, None, self._fees())])
            return receipt
        if gas is None:
            estimate = self.estimate_gas(address, to, data)
            gas = min(estimate * (100 + _GAS_MARGIN_PERCENT) // 100, self.block_gas_limit)
        tx_hash = self._submit(address, call, gas, self._fees())
        (receipt,) = self._wait_for([tx_hash])
        if receipt.status != 1:
            raise TransactionReverted(self._replay_failure(call, gas, receipt.block_number))
        return receipt

    def send_many(
        self, sender: str, calls: Sequence[tuple[str | None, bytes]], *, gas: int
    ) -> list[Receipt]:
        if not calls:
            return []
        if gas > self.block_gas_limit:
            raise ChainError(
                f"gas {gas} per transaction exceeds the block gas limit {self.block_gas_limit}",
                hint="send smaller batches",
            )
        address = self.address_of(sender)
        fees = self._fees()
        objects = [self._call_object(address, to, data) for to, data in calls]
        # One request per transaction, in nonce order. Not a JSON-RPC batch: anvil handles a
        # batch's requests concurrently, and in automine mode transactions that arrive out of
        # nonce order can stay "queued" forever (measured with anvil 1.7.1; foundry#10122).
        hashes = []
        for i, obj in enumerate(objects):
            try:
                hashes.append(self._submit(address, obj, gas, fees))
            except ChainError as error:
                raise ChainError(
                    f"transaction {i + 1} of {len(calls)} was not accepted: {error.message} "
                    f"({i} before it were accepted and will be mined)"
                ) from error
        receipts = self._wait_for(hashes)
        out: list[Receipt] = []
        for obj, receipt in zip(objects, receipts, strict=True):
            if receipt.status != 1:
                reason = self._replay_failure(obj, gas, receipt.block_number)
                self._reasons[receipt.tx_hash] = reason
                receipt = _with_reason(receipt, reason)
            out.append(receipt)
        return out

    def call(self, to: str, data: bytes, *, sender: str | None = None) -> bytes:
        call = self._call_object(self.address_of(sender) if sender else None, to, data)
        try:
            # "pending": the state and clock the next transaction would see, as embedded does.
            result = self._request("eth_call", call, "pending")
        except RpcError as error:
            if _is_revert(error):
                raise TransactionReverted(_revert_reason(error)) from None
            raise
        return bytes.fromhex(result[2:])

    def estimate_gas(self, sender: str, to: str | None, data: bytes) -> int:
        call = self._call_object(self.address_of(sender), to, data)
        try:
            return int(self._request("eth_estimateGas", call), 16)
        except RpcError as error:
            if _is_revert(error):
                raise TransactionReverted(_revert_reason(error)) from None
            raise

    # -- reading ------------------------------------------------------------------------

    def get_logs(
        self,
        address: str,
        topics: Sequence[bytes | None],
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[Log]:
        topic_filter: list[str | None] = [None] * len(topics)
        for position, topic in iter_topic_filter(topics):
            topic_filter[position] = "0x" + topic.hex()
        while topic_filter and topic_filter[-1] is None:
            topic_filter.pop()
        entries = self._request(
            "eth_getLogs",
            {
                "address": self.address_of(address),
                "topics": topic_filter,
                "fromBlock": hex(from_block),
                "toBlock": "latest" if to_block is None else hex(to_block),
            },
        )
        return [_log_from_json(entry) for entry in entries]

    def receipt(self, tx_hash: bytes) -> Receipt:
        raw = self._request("eth_getTransactionReceipt", "0x" + tx_hash.hex())
        if raw is None:
            raise ChainError(f"no mined transaction 0x{tx_hash.hex()} on {self.url}")
        receipt = _receipt_from_json(raw)
        reason = self._reasons.get(tx_hash)
        return _with_reason(receipt, reason) if reason else receipt

    def block_number(self) -> int:
        return int(self._request("eth_blockNumber"), 16)

    def balance(self, address: str) -> int:
        return int(self._request("eth_getBalance", self.address_of(address), "latest"), 16)

    def public_key_of(self, address: str, *, blocks: int = 10_000) -> bytes | None:
        """The secp256k1 public key (65 bytes, uncompressed) of an account, recovered from
        a typed transaction it signed in the last ``blocks`` blocks; None when there is none.
        """
        address = self.address_of(address)
        if int(self._request("eth_getTransactionCount", address, "latest"), 16) == 0:
            return None  # it has never signed a transaction
        latest = self.block_number()
        numbers = [[hex(n), True] for n in range(latest, max(-1, latest - blocks), -1)]
        for chunk in _iter_chunks(numbers, 100):
            for block in self._batch("eth_getBlockByNumber", chunk):
                if isinstance(block, RpcError) or block is None:
                    continue
                for tx in block.get("transactions", []):
                    if str(tx.get("from", "")).lower() == address.lower():
                        raw = self._request("eth_getRawTransactionByHash", tx["hash"])
                        key = _signer_public_key(bytes.fromhex(raw[2:])) if raw else None
                        if key is not None:
                            return key
        return None

    @property
    def block_gas_limit(self) -> int:
        if self._gas_limit is None:
            latest = self._request("eth_getBlockByNumber", "latest", False)
            self._gas_limit = int(latest["gasLimit"], 16)
        return self._gas_limit

    # -- time ---------------------------------------------------------------------------

    def now(self) -> int:
        """The next block's timestamp, as the node said it at most ``_NOW_FRESH_SECONDS``
        ago (and not before this client last sent or set the time). Commands ask it for
        every record; the chain's own clock, not this, decides what a transaction sees."""
        cached = self._now_cache
        if cached is not None and time.monotonic() - cached[0] < _NOW_FRESH_SECONDS:
            return cached[1]
        asked = time.monotonic()
        value = self._ask_now()
        self._now_cache = (asked, value)
        return value

    def _ask_now(self) -> int:
        # Both blocks in one round trip.
        latest, pending = self._batch(
            "eth_getBlockByNumber", [["latest", False], ["pending", False]]
        )
        if isinstance(latest, RpcError):
            raise latest
        latest_time = int(latest["timestamp"], 16)
        if isinstance(pending, RpcError) or pending is None:
            # Nodes without a pending block: assume one second later.
            return max(latest_time + 1, int(time.time()))
        return max(int(pending["timestamp"], 16), latest_time)

    def set_time(self, timestamp: int) -> None:
        current = self._ask_now()
        if timestamp < current:
            raise ChainError(
                f"cannot move the clock back: the next block is at {current}, "
                f"asked for {timestamp}",
                hint="time only moves forward",
            )
        self._now_cache = None
        try:
            self._request("evm_setNextBlockTimestamp", timestamp)
        except RpcError as error:
            raise ChainError(
                f"the node at {self.url} cannot set its clock ({error.rpc_message})",
                hint="time can only be moved on a dev node such as anvil",
            ) from error

    # -- lifecycle ----------------------------------------------------------------------

    rolls_back = False

    def command(self) -> contextlib.AbstractContextManager[None]:
        """A no-op: a real chain cannot roll back what it has mined."""
        return contextlib.nullcontext()

    def close(self) -> None:
        self._session.close()

    # -- internals ----------------------------------------------------------------------

    @staticmethod
    def _call_object(sender: str | None, to: str | None, data: bytes) -> dict[str, Any]:
        call: dict[str, Any] = {"data": "0x" + bytes(data).hex()}
        if sender is not None:
            call["from"] = sender
        if to is not None:
            call["to"] = to_checksum_address(to)
        return call

    def _fees(self) -> dict[str, str]:
        latest = self._request("eth_getBlockByNumber", "latest", False)
        base_fee = latest.get("baseFeePerGas")
        if base_fee is None:  # a pre-London chain: legacy pricing
            return {"gasPrice": self._request("eth_gasPrice")}
        try:
            tip = int(self._request("eth_maxPriorityFeePerGas"), 16)
        except RpcError:
            tip = _DEFAULT_TIP
        max_fee = int(base_fee, 16) * self._fee_multiplier + tip
        return {"maxFeePerGas": hex(max_fee), "maxPriorityFeePerGas": hex(tip)}

    def _sign(
        self, address: str, call: dict[str, Any], gas: int, fees: dict[str, str], nonce: int
    ) -> tuple[bytes, bytes]:
        transaction: dict[str, Any] = {
            "chainId": self.chain_id,
            "nonce": nonce,
            "gas": gas,
            "value": 0,
            "data": call["data"],
            **{name: int(value, 16) for name, value in fees.items()},
        }
        if transaction.get("maxFeePerGas"):
            # Two processes signing the same call as one account with the same nonce would
            # make byte-identical transactions, and the node would take the second for the
            # first: both would count it as theirs. A few wei more on the fee cap (never
            # charged: only the base fee and the tip are) keeps every transaction distinct.
            transaction["maxFeePerGas"] += random.randrange(1, _FEE_JITTER_WEI)
        if "to" in call:
            transaction["to"] = call["to"]
        return self._signers[address].sign_transaction(transaction)

    def _node_sizes_gas(self) -> bool:
        """Whether the node is `claims node`, which takes a transaction without a gas limit
        from its dev accounts, runs it once, and refuses it (a revert error) if it fails."""
        if self._sizes_gas is None:
            try:
                version = str(self._request("web3_clientVersion"))
            except RpcError:
                version = ""
            self._sizes_gas = version.startswith(_CLAIMS_NODE)
        return self._sizes_gas

    def _submit(
        self, address: str, call: dict[str, Any], gas: int | None, fees: dict[str, str]
    ) -> bytes:
        """Hand one transaction to the node: signed here if we hold the key, else by the node.

        Other processes may send as the same account at the same time. The node picks the
        nonce of what it signs; for what we sign, we keep the next nonce and, when another
        process took it first, take the next free one and sign again.
        """
        self._now_cache = None  # a new block moves the clock
        for attempt in range(1, _NONCE_TRIES + 1):
            try:
                if address in self._signers:
                    assert gas is not None, "a transaction signed here needs its gas limit"
                    return self._submit_signed(address, call, gas, fees)
                return self._submit_unsigned(address, call, gas, fees)
            except NonceTaken as taken:
                self._nonces.pop(address, None)
                if attempt == _NONCE_TRIES:
                    raise ChainError(
                        f"the node refused the transaction {_NONCE_TRIES} times: {taken}",
                        hint="many processes are sending as this account at once; try again",
                    ) from None
                time.sleep(random.uniform(0, _NONCE_BACKOFF * attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _submit_signed(
        self, address: str, call: dict[str, Any], gas: int, fees: dict[str, str]
    ) -> bytes:
        nonce = self._nonces.get(address)
        if nonce is None:  # first send, or after a clash: ask the node
            nonce = int(self._request("eth_getTransactionCount", address, "pending"), 16)
        raw, tx_hash = self._sign(address, call, gas, fees, nonce)
        try:
            self._request("eth_sendRawTransaction", "0x" + raw.hex())
        except RpcError as error:
            # A retried request may find the transaction already in the pool: fine.
            if "already known" not in error.rpc_message:
                # Our own transaction, mined before a lost answer and sent again by the
                # retry, also reads "nonce too low": it is sent, not taken.
                if _is_nonce_taken(error) and not self._is_known(tx_hash):
                    raise NonceTaken(error.rpc_message) from None
                if _is_nonce_taken(error):
                    self._nonces[address] = nonce + 1
                    return tx_hash
                message = f"the node refused the transaction: {error.rpc_message}"
                raise ChainError(message) from None
        self._nonces[address] = nonce + 1
        self._sent[tx_hash] = (address, call, gas, fees, nonce)
        return tx_hash

    def _is_known(self, tx_hash: bytes) -> bool:
        return self._request("eth_getTransactionByHash", "0x" + tx_hash.hex()) is not None

    def _submit_unsigned(
        self, address: str, call: dict[str, Any], gas: int | None, fees: dict[str, str]
    ) -> bytes:
        # No nonce: the node gives the next one. A node that gave one nonce to two processes
        # says so ("already imported", "underpriced"): ask again for another.
        request = {**call, **fees}
        if gas is not None:
            request["gas"] = hex(gas)
        try:
            sent = self._request("eth_sendTransaction", request)
        except RpcError as error:
            if gas is None and _is_revert(error):  # the node ran it and refused it
                raise TransactionReverted(_revert_reason(error)) from None
            message = error.rpc_message.lower()
            if (
                _is_nonce_taken(error)
                or "already imported" in message
                or "already known" in message
            ):
                raise NonceTaken(error.rpc_message) from None
            raise ChainError(f"the node refused the transaction: {error.rpc_message}") from None
        tx_hash = bytes.fromhex(sent[2:])
        self._sent[tx_hash] = (address, call, gas, fees, None)
        return tx_hash

    def _wait_for(self, hashes: list[bytes]) -> list[Receipt]:
        """The receipts of ``hashes``, in order. A transaction we signed that another
        process's transaction displaced (same nonce) is sent again with a fresh nonce."""
        hashes = list(hashes)
        found: dict[bytes, Receipt] = {}
        deadline = time.monotonic() + self._receipt_timeout
        next_check = time.monotonic() + _DISPLACED_CHECK_SECONDS
        delay = 0.005
        while True:
            missing = [h for h in hashes if h not in found]
            results = self._batch("eth_getTransactionReceipt", [["0x" + h.hex()] for h in missing])
            for tx_hash, result in zip(missing, results, strict=True):
                if isinstance(result, RpcError):
                    raise result
                if result is not None:
                    found[tx_hash] = _receipt_from_json(result)
            if len(found) == len(hashes):
                self._now_cache = None  # blocks were mined: the clock moved
                return [found[h] for h in hashes]
            if time.monotonic() > next_check:
                next_check = time.monotonic() + _DISPLACED_CHECK_SECONDS
                hashes = [self._resent_if_displaced(h) if h not in found else h for h in hashes]
            if time.monotonic() > deadline:
                first = next(h for h in hashes if h not in found)
                raise ChainError(
                    f"{len(hashes) - len(found)} transaction(s) not mined after "
                    f"{self._receipt_timeout:g} s (first: 0x{first.hex()})",
                    hint="the node may be stalled, or the fee too low for the network",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _resent_if_displaced(self, tx_hash: bytes) -> bytes:
        """``tx_hash``, or the hash of its resend when it can no longer be mined: another
        transaction took its nonce, or the node dropped it."""
        sent = self._sent.get(tx_hash)
        if sent is None:
            return tx_hash
        address, call, gas, fees, nonce = sent
        pooled = self._request("eth_getTransactionByHash", "0x" + tx_hash.hex())
        if pooled is not None:
            if pooled.get("blockNumber") is not None:
                return tx_hash  # mined: its receipt is on the way
            nonce = int(pooled["nonce"], 16)
            mined_count = int(self._request("eth_getTransactionCount", address, "latest"), 16)
            if mined_count <= nonce:
                return tx_hash  # still waiting its turn
        self._nonces.pop(address, None)
        return self._submit(address, call, gas, fees)

    def _replay_failure(self, call: dict[str, Any], gas: int, block_number: int) -> str:
        """Why a mined transaction failed: replay it on the state before its block."""
        try:
            self._request("eth_call", {**call, "gas": hex(gas)}, hex(max(block_number - 1, 0)))
        except RpcError as error:
            if _is_revert(error):
                return _revert_reason(error)
            return error.rpc_message
        return "execution reverted"  # passes on replay: an earlier tx in its block decided


def _signer_public_key(raw: bytes) -> bytes | None:
    """The public key that signed a typed (EIP-2718) transaction; None for a legacy one."""
    from eth_account.typed_transactions import TypedTransaction
    from eth_keys import keys
    from hexbytes import HexBytes

    if not raw or raw[0] >= 0x7F:
        return None
    transaction = TypedTransaction.from_bytes(HexBytes(raw))
    v, r, s = transaction.vrs()
    signature = keys.Signature(vrs=(v, r, s))
    public = signature.recover_public_key_from_msg_hash(transaction.hash())
    return b"\x04" + public.to_bytes()


def _with_reason(receipt: Receipt, reason: str | None) -> Receipt:
    return Receipt(
        tx_hash=receipt.tx_hash,
        status=receipt.status,
        gas_used=receipt.gas_used,
        block_number=receipt.block_number,
        logs=receipt.logs,
        contract_address=receipt.contract_address,
        revert_reason=reason,
    )


def _log_from_json(entry: Mapping[str, Any]) -> Log:
    return Log(
        address=to_checksum_address(entry["address"]),
        topics=tuple(bytes.fromhex(t[2:]) for t in entry["topics"]),
        data=bytes.fromhex(entry["data"][2:]),
        block_number=int(entry["blockNumber"], 16),
        tx_hash=bytes.fromhex(entry["transactionHash"][2:]),
        log_index=int(entry["logIndex"], 16),
    )


def _receipt_from_json(raw: Mapping[str, Any]) -> Receipt:
    contract = raw.get("contractAddress")
    return Receipt(
        tx_hash=bytes.fromhex(raw["transactionHash"][2:]),
        status=int(raw["status"], 16),
        gas_used=int(raw["gasUsed"], 16),
        block_number=int(raw["blockNumber"], 16),
        logs=tuple(_log_from_json(entry) for entry in raw.get("logs", [])),
        contract_address=to_checksum_address(contract) if contract else None,
    )


def _iter_chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
