"""The Ethereum JSON-RPC methods `claims node` answers, over an ``EmbeddedChain``.

What standard clients (web3.py, ethers, foundry's cast) use: chain and block queries,
account state, calls and gas estimates, fees, raw transactions, receipts and logs, batches.
On this dev chain also ``eth_accounts``/``eth_sendTransaction`` for the dev accounts and the
clock methods `claims time` uses on anvil. Every method runs on the caller's thread: the
server (node.py) calls it from one worker thread only, so requests never overlap.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import rlp
from eth.abc import BlockAPI, SignedTransactionAPI
from eth_abi import encode as abi_encode
from eth_bloom import BloomFilter
from eth_utils import to_canonical_address, to_checksum_address

from claimsengine.chain.base import Log, Receipt
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.errors import ChainError, TransactionReverted
from claimsengine.errors import NodeRequestError as RpcFailure

__all__ = ["NodeApi"]

_PARSE_ERROR = -32700
_INVALID_REQUEST = -32600
_METHOD_NOT_FOUND = -32601
_INVALID_PARAMS = -32602
_INTERNAL_ERROR = -32603
_SERVER_ERROR = -32000
_REVERTED = 3
_ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
_log = logging.getLogger(__name__)


def _hex(value: int) -> str:
    return hex(int(value))


def _data(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _bytes(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcFailure(_INVALID_PARAMS, f"{name} must be a 0x-prefixed hex string")
    try:
        return bytes.fromhex(value[2:] if len(value) % 2 == 0 else "0" + value[2:])
    except ValueError:
        raise RpcFailure(_INVALID_PARAMS, f"{name} is not valid hex") from None


def _quantity(value: Any, name: str) -> int:
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcFailure(_INVALID_PARAMS, f"{name} must be a 0x-prefixed hex quantity")
    try:
        return int(value, 16)
    except ValueError:
        raise RpcFailure(_INVALID_PARAMS, f"{name} is not a hex quantity") from None


def _address(value: Any, name: str) -> str:
    try:
        return to_checksum_address(value)
    except (TypeError, ValueError):
        raise RpcFailure(_INVALID_PARAMS, f"{name} is not an address") from None


def _revert(error: TransactionReverted) -> RpcFailure:
    """A revert as nodes report it: code 3, the reason, and the Error(string) data."""
    reason = error.reason
    if reason == "execution reverted":
        return RpcFailure(_REVERTED, "execution reverted", "0x")
    if reason.startswith("execution reverted: 0x"):
        return RpcFailure(
            _REVERTED, "execution reverted", reason.removeprefix("execution reverted: ")
        )
    data = _ERROR_STRING_SELECTOR + abi_encode(["string"], [reason])
    return RpcFailure(_REVERTED, f"execution reverted: {reason}", _data(data))


def _client_version() -> str:
    try:
        return f"claimsengine/{version('claimsengine')}/py-evm"
    except PackageNotFoundError:  # pragma: no cover - a source checkout without metadata
        return "claimsengine/py-evm"


class NodeApi:
    """The JSON-RPC methods over one open embedded chain."""

    def __init__(self, chain: EmbeddedChain) -> None:
        self.chain = chain
        self._latest_json: tuple[bytes, dict[str, Any]] | None = None
        self._methods: dict[str, Callable[..., Any]] = {
            "web3_clientVersion": lambda: _client_version(),
            "net_version": lambda: str(chain.chain_id),
            "net_listening": lambda: True,
            "eth_chainId": lambda: _hex(chain.chain_id),
            "eth_syncing": lambda: False,
            "eth_accounts": lambda: list(chain.accounts.values()),
            "eth_blockNumber": lambda: _hex(chain.block_number()),
            "eth_gasPrice": self.gas_price,
            "eth_maxPriorityFeePerGas": lambda: "0x0",
            "eth_feeHistory": self.fee_history,
            "eth_getBlockByNumber": self.block_by_number,
            "eth_getBlockByHash": self.block_by_hash,
            "eth_getBalance": self.balance,
            "eth_getCode": self.code,
            "eth_getStorageAt": self.storage_at,
            "eth_getTransactionCount": self.transaction_count,
            "eth_call": self.call,
            "eth_estimateGas": self.estimate_gas,
            "eth_sendRawTransaction": self.send_raw_transaction,
            "eth_sendTransaction": self.send_transaction,
            "eth_getTransactionByHash": self.transaction_by_hash,
            "eth_getRawTransactionByHash": self.raw_transaction_by_hash,
            "eth_getTransactionReceipt": self.transaction_receipt,
            "eth_getLogs": self.logs,
            "evm_setNextBlockTimestamp": self.set_next_block_timestamp,
            "evm_increaseTime": self.increase_time,
        }

    # -- the envelope -------------------------------------------------------------------

    def handle_body(self, body: bytes) -> bytes | None:
        """One HTTP body (a request or a batch) in, the answer's bytes out (None: nothing)."""
        try:
            message = json.loads(body)
        except ValueError:
            return _encode(_response(None, error=RpcFailure(_PARSE_ERROR, "parse error")))
        if isinstance(message, list):
            if not message:
                return _encode(_response(None, error=RpcFailure(_INVALID_REQUEST, "empty batch")))
            answers = [a for a in (self.handle(m) for m in message) if a is not None]
            return _encode(answers) if answers else None
        answer = self.handle(message)
        return None if answer is None else _encode(answer)

    def handle(self, message: Any) -> dict[str, Any] | None:
        """One request object in, its response object out (None for a notification)."""
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            return _response(None, error=RpcFailure(_INVALID_REQUEST, "invalid request"))
        request_id = message.get("id")
        params = message.get("params", [])
        if not isinstance(params, list):
            return _response(request_id, error=RpcFailure(_INVALID_PARAMS, "params must be a list"))
        try:
            result = self.call_method(message["method"], params)
        except RpcFailure as failure:
            return _response(request_id, error=failure)
        if "id" not in message:
            return None
        return _response(request_id, result=result)

    def call_method(self, method: str, params: Sequence[Any]) -> Any:
        function = self._methods.get(method)
        if function is None:
            raise RpcFailure(_METHOD_NOT_FOUND, f"the method {method} does not exist here")
        try:
            return function(*params)
        except TypeError as error:
            raise RpcFailure(_INVALID_PARAMS, f"{method}: wrong parameters ({error})") from None
        except RpcFailure:
            raise
        except TransactionReverted as error:
            raise _revert(error) from None
        except ChainError as error:
            raise RpcFailure(_SERVER_ERROR, _node_message(error.message)) from None
        except Exception as error:  # a bug here must not take the node down: say it, go on
            _log.exception("%s failed", method)
            raise RpcFailure(
                _INTERNAL_ERROR, f"{method} failed: {type(error).__name__}: {error}"
            ) from None

    # -- blocks ---------------------------------------------------------------------------

    def _block_number(self, tag: Any) -> int:
        """A block tag or number; "pending" reads as the latest (each tx mines at once)."""
        latest = self.chain.block_number()
        if tag in (None, "latest", "pending", "safe", "finalized"):
            return latest
        if tag == "earliest":
            return 0
        if isinstance(tag, dict):  # EIP-1898: {"blockNumber": ...} or {"blockHash": ...}
            if "blockHash" in tag:
                block = self.chain.block_at(_bytes(tag["blockHash"], "blockHash"))
                if block is None:
                    raise RpcFailure(_SERVER_ERROR, "header not found")
                return int(block.number)
            tag = tag.get("blockNumber")
        number = _quantity(tag, "block")
        if number > latest:
            raise RpcFailure(_SERVER_ERROR, f"header not found (the latest block is {latest})")
        return number

    def block_by_number(self, tag: Any, full: bool = False) -> dict[str, Any] | None:
        if tag == "pending":
            return self._pending_block()
        number = self._block_number(tag)
        block = self.chain.block_at(number)
        return None if block is None else self._block_json(block, full)

    def block_by_hash(self, block_hash: Any, full: bool = False) -> dict[str, Any] | None:
        block = self.chain.block_at(_bytes(block_hash, "block hash"))
        return None if block is None else self._block_json(block, full)

    def _block_json(self, block: BlockAPI, full: bool) -> dict[str, Any]:
        if not full and self._latest_json is not None and self._latest_json[0] == block.hash:
            return dict(self._latest_json[1])  # clients ask for the latest block very often
        out = self._build_block_json(block, full)
        if not full:
            self._latest_json = (block.hash, out)
            return dict(out)
        return out

    def _build_block_json(self, block: BlockAPI, full: bool) -> dict[str, Any]:
        header = block.header
        txs: list[Any] = [
            self._tx_json(tx, block, index) if full else _data(tx.hash)
            for index, tx in enumerate(block.transactions)
        ]
        out: dict[str, Any] = {
            "number": _hex(header.block_number),
            "hash": _data(header.hash),
            "parentHash": _data(header.parent_hash),
            "nonce": _data(header.nonce),
            "sha3Uncles": _data(header.uncles_hash),
            "logsBloom": _data(int(header.bloom).to_bytes(256, "big")),
            "transactionsRoot": _data(header.transaction_root),
            "stateRoot": _data(header.state_root),
            "receiptsRoot": _data(header.receipt_root),
            "miner": to_checksum_address(header.coinbase),
            "difficulty": _hex(header.difficulty),
            "totalDifficulty": "0x0",
            "extraData": _data(header.extra_data),
            "size": _hex(len(rlp.encode(block))),
            "gasLimit": _hex(header.gas_limit),
            "gasUsed": _hex(header.gas_used),
            "timestamp": _hex(header.timestamp),
            "mixHash": _data(header.mix_hash),
            "baseFeePerGas": _hex(header.base_fee_per_gas or 0),
            "transactions": txs,
            "uncles": [],
            "withdrawals": [],
        }
        for field, name in (
            ("withdrawals_root", "withdrawalsRoot"),
            ("parent_beacon_block_root", "parentBeaconBlockRoot"),
            ("requests_hash", "requestsHash"),
        ):
            value = getattr(header, field, None)
            if value is not None:
                out[name] = _data(value)
        for field, name in (("blob_gas_used", "blobGasUsed"), ("excess_blob_gas", "excessBlobGas")):
            value = getattr(header, field, None)
            if value is not None:
                out[name] = _hex(value)
        return out

    def _pending_block(self) -> dict[str, Any]:
        latest = self.chain.block_at(self.chain.block_number())
        assert latest is not None
        pending = self._block_json(latest, False)
        pending.update(
            number=_hex(int(latest.number) + 1),
            hash=None,
            parentHash=_data(latest.hash),
            timestamp=_hex(self.chain.now()),
            gasUsed="0x0",
            transactions=[],
        )
        return pending

    # -- fees -----------------------------------------------------------------------------

    def _base_fee(self) -> int:
        latest = self.chain.block_at(self.chain.block_number())
        assert latest is not None
        return int(latest.header.base_fee_per_gas or 0)

    def gas_price(self) -> str:
        return _hex(self._base_fee())

    def fee_history(
        self, count: Any, newest: Any, percentiles: Sequence[float] | None = None
    ) -> dict[str, Any]:
        last = self._block_number(newest)
        first = max(0, last - max(1, min(_quantity(count, "blockCount"), 1024)) + 1)
        base_fees: list[str] = []
        ratios: list[float] = []
        for number in range(first, last + 1):
            block = self.chain.block_at(number)
            assert block is not None
            base_fees.append(_hex(block.header.base_fee_per_gas or 0))
            ratios.append(block.header.gas_used / block.header.gas_limit)
        base_fees.append(_hex(self._base_fee() if last == self.chain.block_number() else 0))
        history: dict[str, Any] = {
            "oldestBlock": _hex(first),
            "baseFeePerGas": base_fees,
            "gasUsedRatio": ratios,
        }
        if percentiles:
            history["reward"] = [["0x0"] * len(percentiles) for _ in ratios]
        return history

    # -- accounts -------------------------------------------------------------------------

    def balance(self, address: Any, tag: Any = "latest") -> str:
        state = self.chain.state_at(self._block_number(tag))
        return _hex(state.get_balance(to_canonical_address(_address(address, "address"))))

    def code(self, address: Any, tag: Any = "latest") -> str:
        state = self.chain.state_at(self._block_number(tag))
        return _data(state.get_code(to_canonical_address(_address(address, "address"))))

    def storage_at(self, address: Any, slot: Any, tag: Any = "latest") -> str:
        state = self.chain.state_at(self._block_number(tag))
        value = state.get_storage(
            to_canonical_address(_address(address, "address")), _quantity(slot, "slot")
        )
        return _data(int(value).to_bytes(32, "big"))

    def transaction_count(self, address: Any, tag: Any = "latest") -> str:
        state = self.chain.state_at(self._block_number(tag))
        return _hex(state.get_nonce(to_canonical_address(_address(address, "address"))))

    # -- calls ----------------------------------------------------------------------------

    def _call_fields(self, call: Any) -> tuple[str | None, str | None, bytes]:
        if not isinstance(call, dict):
            raise RpcFailure(_INVALID_PARAMS, "the call must be an object")
        if _quantity(call.get("value", "0x0"), "value"):
            raise RpcFailure(_INVALID_PARAMS, "this node does not move ether (value must be 0)")
        sender = _address(call["from"], "from") if call.get("from") else None
        to = _address(call["to"], "to") if call.get("to") else None
        data = _bytes(call.get("input") or call.get("data") or "0x", "data")
        return sender, to, data

    def call(self, call: Any, tag: Any = "latest", *_overrides: Any) -> str:
        sender, to, data = self._call_fields(call)
        block = None if tag in (None, "latest", "pending") else self._block_number(tag)
        return _data(self.chain.call(to, data, sender=sender, block=block))  # type: ignore[arg-type]

    def estimate_gas(self, call: Any, *_tag: Any) -> str:
        sender, to, data = self._call_fields(call)
        return _hex(self.chain.estimate_gas(sender or self.chain.accounts["insurer"], to, data))

    # -- transactions ---------------------------------------------------------------------

    def send_raw_transaction(self, raw: Any) -> str:
        receipt = self.chain.send_raw(_bytes(raw, "transaction"))
        return _data(receipt.tx_hash)

    def send_transaction(self, request: Any) -> str:
        """A transaction from a dev account, signed here (the node holds the dev keys)."""
        sender, to, data = self._call_fields(request)
        if sender is None or sender not in self.chain.accounts.values():
            raise RpcFailure(_SERVER_ERROR, f"no key here for the account {sender}")
        if "nonce" in request:
            expected = int(self.chain.state_at().get_nonce(to_canonical_address(sender)))
            given = _quantity(request["nonce"], "nonce")
            if given != expected:
                raise RpcFailure(_SERVER_ERROR, _nonce_message(expected, given))
        if "gas" not in request:
            # Run once with the block's gas: a revert is refused (code 3), nothing mined.
            return _data(self.chain.send(sender, to, data).tx_hash)
        gas = _quantity(request["gas"], "gas")
        (receipt,) = self.chain.send_many(sender, [(to, data)], gas=gas)
        return _data(receipt.tx_hash)

    def _located(self, tx_hash: Any) -> tuple[BlockAPI, int] | None:
        position = self.chain.transaction_position(_bytes(tx_hash, "transaction hash"))
        if position is None:
            return None
        block = self.chain.block_at(position[0])
        assert block is not None
        return block, position[1]

    def transaction_by_hash(self, tx_hash: Any) -> dict[str, Any] | None:
        found = self._located(tx_hash)
        return None if found is None else self._tx_json(found[0].transactions[found[1]], *found)

    def raw_transaction_by_hash(self, tx_hash: Any) -> str | None:
        found = self._located(tx_hash)
        return None if found is None else _data(_encoded(found[0].transactions[found[1]]))

    def _tx_json(self, tx: SignedTransactionAPI, block: BlockAPI, index: int) -> dict[str, Any]:
        base_fee = int(block.header.base_fee_per_gas or 0)
        out: dict[str, Any] = {
            "hash": _data(tx.hash),
            "blockHash": _data(block.hash),
            "blockNumber": _hex(block.number),
            "transactionIndex": _hex(index),
            "from": to_checksum_address(tx.sender),
            "to": to_checksum_address(tx.to) if tx.to else None,
            "nonce": _hex(tx.nonce),
            "gas": _hex(tx.gas),
            "value": _hex(tx.value),
            "input": _data(tx.data),
            "r": _hex(tx.r),
            "s": _hex(tx.s),
        }
        type_id = getattr(tx, "type_id", None)
        if type_id is None:  # legacy
            out.update(type="0x0", gasPrice=_hex(tx.gas_price), v=_hex(getattr(tx, "v", 0)))
            if tx.chain_id is not None:
                out["chainId"] = _hex(tx.chain_id)
            return out
        out.update(
            type=_hex(type_id),
            chainId=_hex(tx.chain_id or 0),
            v=_hex(tx.y_parity),
            yParity=_hex(tx.y_parity),
            accessList=[
                {
                    "address": to_checksum_address(a),
                    "storageKeys": [_data(k.to_bytes(32, "big")) for k in keys],
                }
                for a, keys in tx.access_list
            ],
        )
        if type_id == 1:
            out["gasPrice"] = _hex(tx.gas_price)
        else:
            tip = min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee)
            out.update(
                maxFeePerGas=_hex(tx.max_fee_per_gas),
                maxPriorityFeePerGas=_hex(tx.max_priority_fee_per_gas),
                gasPrice=_hex(base_fee + tip),
            )
        return out

    def transaction_receipt(self, tx_hash: Any) -> dict[str, Any] | None:
        found = self._located(tx_hash)
        if found is None:
            return None
        block, index = found
        receipt = self.chain.receipt(_bytes(tx_hash, "transaction hash"))
        tx = block.transactions[index]
        cumulative = (
            sum(
                self.chain.receipt(bytes(earlier.hash)).gas_used
                for earlier in block.transactions[:index]
            )
            + receipt.gas_used
        )
        transaction = self._tx_json(tx, block, index)
        return {
            "transactionHash": transaction["hash"],
            "transactionIndex": _hex(index),
            "blockHash": _data(block.hash),
            "blockNumber": _hex(block.number),
            "from": transaction["from"],
            "to": transaction["to"],
            "cumulativeGasUsed": _hex(cumulative),
            "gasUsed": _hex(receipt.gas_used),
            "effectiveGasPrice": transaction["gasPrice"],
            "contractAddress": receipt.contract_address,
            "logs": [self._log_json(log, block, index) for log in receipt.logs],
            "logsBloom": _data(_bloom(receipt).to_bytes(256, "big")),
            "status": _hex(receipt.status),
            "type": transaction["type"],
        }

    # -- logs -----------------------------------------------------------------------------

    def logs(self, query: Any) -> list[dict[str, Any]]:
        if not isinstance(query, dict):
            raise RpcFailure(_INVALID_PARAMS, "the filter must be an object")
        if query.get("blockHash"):
            block = self.chain.block_at(_bytes(query["blockHash"], "blockHash"))
            if block is None:
                raise RpcFailure(_SERVER_ERROR, "unknown block")
            first = last = int(block.number)
        else:
            first = self._block_number(query.get("fromBlock", "latest"))
            last = self._block_number(query.get("toBlock", "latest"))
        addresses = query.get("address")
        if not addresses:
            raise RpcFailure(
                _INVALID_PARAMS, "this node needs an address (or a list) in eth_getLogs"
            )
        if isinstance(addresses, str):
            addresses = [addresses]
        exact, alternatives = _topic_filter(query.get("topics") or [])
        found: list[Log] = []
        for address in addresses:
            found += self.chain.get_logs(_address(address, "address"), exact, first, last)
        found = [log for log in found if _matches(log, alternatives)]
        found.sort(key=lambda log: (log.block_number, log.log_index))
        blocks: dict[int, BlockAPI] = {}
        out = []
        for log in found:
            if log.block_number not in blocks:
                block = self.chain.block_at(log.block_number)
                assert block is not None
                blocks[log.block_number] = block
            position = self.chain.transaction_position(log.tx_hash)
            out.append(
                self._log_json(log, blocks[log.block_number], position[1] if position else 0)
            )
        return out

    @staticmethod
    def _log_json(log: Log, block: BlockAPI, tx_index: int) -> dict[str, Any]:
        return {
            "address": log.address,
            "topics": [_data(topic) for topic in log.topics],
            "data": _data(log.data),
            "blockNumber": _hex(log.block_number),
            "blockHash": _data(block.hash),
            "transactionHash": _data(log.tx_hash),
            "transactionIndex": _hex(tx_index),
            "logIndex": _hex(log.log_index),
            "removed": False,
        }

    # -- the clock ------------------------------------------------------------------------

    def set_next_block_timestamp(self, timestamp: Any) -> None:
        self.chain.set_time(_quantity(timestamp, "timestamp"))

    def increase_time(self, seconds: Any) -> str:
        self.chain.set_time(self.chain.now() + _quantity(seconds, "seconds"))
        return _hex(_quantity(seconds, "seconds"))


def _topic_filter(
    topics: Sequence[Any],
) -> tuple[list[bytes | None], list[set[bytes] | None]]:
    """Positional topics: single values go to the chain's index; OR-lists filter after."""
    if len(topics) > 4:
        raise RpcFailure(_INVALID_PARAMS, "a log has at most 4 topics")
    exact: list[bytes | None] = []
    alternatives: list[set[bytes] | None] = []
    for position, topic in enumerate(topics):
        if topic is None:
            exact.append(None)
            alternatives.append(None)
        elif isinstance(topic, list):
            exact.append(None)
            alternatives.append({_bytes(t, f"topic {position}") for t in topic} if topic else None)
        else:
            exact.append(_bytes(topic, f"topic {position}"))
            alternatives.append(None)
    return exact, alternatives


def _matches(log: Log, alternatives: Sequence[set[bytes] | None]) -> bool:
    for position, wanted in enumerate(alternatives):
        if wanted is not None and (
            position >= len(log.topics) or log.topics[position] not in wanted
        ):
            return False
    return True


def _bloom(receipt: Receipt) -> int:
    bloom = BloomFilter()
    for log in receipt.logs:
        bloom.add(to_canonical_address(log.address))
        for topic in log.topics:
            bloom.add(topic)
    return int(bloom)


def _encoded(tx: SignedTransactionAPI) -> bytes:
    if getattr(tx, "type_id", None) is None:
        return bytes(rlp.encode(tx))
    return bytes(tx.encode())


def _nonce_message(expected: int, given: int) -> str:
    kind = "too low" if given < expected else "too high"
    return f"nonce {kind}: the account's next nonce is {expected}, the transaction has {given}"


def _node_message(message: str) -> str:
    """py-evm's nonce complaint in the words nodes use, which clients recognise."""
    if "Invalid transaction nonce" in message:
        # "transaction rejected: Invalid transaction nonce: Expected 3, but got 2"
        try:
            expected_text, given_text = message.split("Expected", 1)[1].split(", but got")
            return _nonce_message(int(expected_text), int(given_text.strip(" .")))
        except ValueError:
            return "nonce too low: " + message
    return message


def _response(
    request_id: Any, *, result: Any = None, error: RpcFailure | None = None
) -> dict[str, Any]:
    if error is not None:
        return {"jsonrpc": "2.0", "id": request_id, "error": error.as_json()}
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def _encode(answer: Any) -> bytes:
    return json.dumps(answer, separators=(",", ":")).encode()
