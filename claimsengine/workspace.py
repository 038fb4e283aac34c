"""A workspace: one state folder and the chain it talks to.

The state folder (`--state`, default `./.claims`) holds the embedded chain (when no
`--rpc` is given), the addresses of the deployed engine per chain (deployments.py), the
journal of submitted records, the encrypted record vault, and, apart from the data, the key
file.
Everything a party needs to know about plans, providers and claims is read from the
chain's events, so any party can work against any node.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from claimsengine.deployments import Deployments
from claimsengine.errors import ChainError, ClaimsError, NotFound
from claimsengine.ids import bytes32_to_text, text_to_bytes32
from claimsengine.periods import BenefitPeriods
from claimsengine.privacy import KeyStore, member_pseudonym, record_commitment

# The engine, the chain backends, the journal, vault and roster are imported where they are
# used: a read-only command on the embedded chain (`claims eligibility`) reads the chain's
# file directly (chain/snapshot.py) and must not pay for py-evm, eth-abi or eth-utils.
if TYPE_CHECKING:
    from claimsengine.abi import DecodedEvent
    from claimsengine.chain.base import Chain
    from claimsengine.chain.snapshot import ChainSnapshot
    from claimsengine.engine import DevToken, Engine
    from claimsengine.journal import Journal
    from claimsengine.payer import Payer
    from claimsengine.records import TreatmentRecord
    from claimsengine.roster import Roster
    from claimsengine.vault import RecordVault

DEFAULT_STATE = Path(".claims")
#: The state folder's layout version, in ``state.json``. 2: members have a new pseudonym in
#: each benefit period. A folder without it was made when a member had one pseudonym per
#: plan; the two must not mix (on its chain, every enrolment is of the old kind).
STATE_VERSION = 2
STATE_FILE = "state.json"
#: What a state folder of an older version holds (any of it).
_STATE_CONTENT = ("chain", "deployments.json", "journal.sqlite", "vault", "keys")
#: Dev-chain supply minted to the insurer when the engine is set up: 1,000,000,000.00.
DEV_SUPPLY_CENTS = 100_000_000_000


@dataclass(frozen=True)
class PlanInfo:
    """A deployed plan, as its PlanCreated event and the engine's views describe it."""

    plan_id: str
    admin: str
    token: str
    token_scale: int
    effective_day: int
    benefit_period_days: int
    block_number: int


@dataclass(frozen=True)
class ProviderInfo:
    """A provider as the chain's events left it: ``account`` is its owner (first
    registered) account, ``accounts`` every account that submits for it now (the owner's
    first, then those the provider added)."""

    provider_id: str
    account: str
    payout: str
    active: bool
    accounts: tuple[str, ...] = ()

    def submits_from(self, address: str) -> bool:
        """Whether ``address`` is one of the accounts that submit for the provider now."""
        return address.lower() in (account.lower() for account in self.accounts)


class EngineReads(Protocol):
    """The engine's reads that a read-only answer needs (eligibility): ``Engine``'s view
    calls through the EVM, or ``EngineStorage``'s reads of the embedded chain's file."""

    def events(self, name: str, *topics: bytes | None) -> Sequence[DecodedEvent]: ...

    def member(self, plan_id: str, member: bytes) -> tuple[bool, int, int | None, int]: ...

    def accumulators(self, plan_id: str, member: bytes, period: int) -> tuple[int, int, int]: ...

    def units_used(self, plan_id: str, member: bytes, period: int, code: str) -> int: ...


class Workspace:
    """A state folder and an open chain. Use as a context manager.

    A workspace opened ``read_only`` on the embedded chain reads a snapshot of the chain's
    file (chain/snapshot.py) for ``reads`` and ``now()``, and opens the chain itself only if
    something asks for ``chain``."""

    def __init__(
        self,
        state_dir: Path,
        chain: Chain | None,
        chain_key: str,
        *,
        snapshot: ChainSnapshot | None = None,
        open_chain: Callable[[], Chain] | None = None,
    ) -> None:
        self.state_dir = state_dir
        if chain is not None:
            self.__dict__["chain"] = chain
        self.chain_key = chain_key
        self._snapshot = snapshot
        self._open_chain = open_chain
        #: The engine and dev token deployed in the open command, remembered in
        #: deployments.json only once the chain has committed them (see ``setup``).
        self._deployed: dict[str, str] | None = None
        self._commands = 0  # how deep in ``command`` blocks

    @cached_property
    def chain(self) -> Chain:
        """The chain (opened on first use by a read-only workspace)."""
        if self._open_chain is None:
            raise ChainError("this workspace has no chain")
        return self._open_chain()

    @classmethod
    def open(
        cls,
        state_dir: Path | str = DEFAULT_STATE,
        *,
        rpc: str | None = None,
        create: bool = False,
        on_wait: Callable[[], None] | None = None,
        read_only: bool = False,
    ) -> Workspace:
        """Open the embedded chain in `state_dir`, or the node at `rpc`.

        ``read_only``: for a command that only reads. On the embedded chain, ``reads`` and
        ``now()`` then come from a snapshot of the chain's last commit, read without py-evm
        and without the chain's lock (a writer may be at work meanwhile); the chain itself
        is opened only if the command asks for ``chain``."""
        state = Path(state_dir)
        check_state_version(state)
        if rpc:
            from claimsengine.chain.rpc import RpcChain

            mark_state_version(state)
            chain: Chain = RpcChain(rpc)
            return cls(state, chain, _rpc_chain_key(state, rpc, chain.chain_id))
        from claimsengine.chain.node import refuse_if_served

        refuse_if_served(state)
        if not create and not (state / "chain").exists():
            raise NotFound(
                f"no embedded chain in {state}", hint="run `claims init` first (or pass --state)"
            )
        mark_state_version(state)

        def open_chain() -> Chain:
            from claimsengine.chain.embedded import EmbeddedChain

            return EmbeddedChain.open(
                state / "chain", create=create, on_wait=on_wait, display_name=str(state)
            )

        if read_only:
            from claimsengine.chain.snapshot import ChainSnapshot

            snapshot = ChainSnapshot.open(state / "chain")
            if snapshot is not None:
                return cls(state, None, "embedded", snapshot=snapshot, open_chain=open_chain)
        return cls(state, open_chain(), "embedded")

    @classmethod
    @contextmanager
    def ephemeral(
        cls,
        *,
        rpc: str | None = None,
        clock: Callable[[], float] = time.time,
        in_memory: bool = True,
        prefix: str = "claims-",
    ) -> Iterator[Workspace]:
        """A workspace in a temporary folder, closed and removed on exit: its keys, journal
        and vault never touch the user's (not even CLAIMS_KEYS_DIR).

        The chain is a fresh embedded one (in memory, or on disk in the folder when
        ``in_memory`` is False; ``clock`` gives its time), or the node at ``rpc``."""
        with tempfile.TemporaryDirectory(prefix=prefix) as folder:
            state = Path(folder)
            chain: Chain
            if rpc:
                from claimsengine.chain.rpc import RpcChain

                chain = RpcChain(rpc)
                key = f"rpc:{chain.chain_id}"
            else:
                from claimsengine.chain.embedded import EmbeddedChain

                if in_memory:
                    chain = EmbeddedChain.memory(clock=clock)
                else:
                    chain = EmbeddedChain.open(
                        state / "chain", create=True, clock=clock, display_name=str(state)
                    )
                key = "embedded"
            workspace = cls(state, chain, key)
            workspace.keys = KeyStore(state / "keys")
            try:
                yield workspace
            finally:
                workspace.close()

    def close(self) -> None:
        if "chain" in self.__dict__:
            self.chain.close()
        if self._snapshot is not None:
            self._snapshot.close()
            self._snapshot = None
        if "journal" in self.__dict__:
            self.journal.close()
        if "roster" in self.__dict__:
            self.roster.close()
        if "vault" in self.__dict__:
            self.vault.close()  # so sqlite folds its write-ahead log back into the file

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def command(self) -> Iterator[None]:
        """One atomic command on the chain (embedded: commits whole or not at all). The
        journal records a claim as submitted, and deployments.json a newly deployed
        engine, only once the chain has committed it."""
        outermost, committed = self._commands == 0, False
        self._commands += 1
        try:
            with self.journal.after_commit(), self.chain.command():
                yield
            committed = True
        finally:
            self._commands -= 1
            if outermost and self._deployed is not None:
                if committed:
                    self.deployments.remember(**self._deployed)
                else:  # rolled back: the chain holds no such engine
                    self.__dict__.pop("engine", None)
                    self.__dict__.pop("dev_token", None)
                self._deployed = None

    # -- registry of deployed contracts -----------------------------------------------
    @cached_property
    def deployments(self) -> Deployments:
        """Where the engine and the dev token are on this chain (public facts, no secrets)."""
        return Deployments(self.state_dir, self.chain_key)

    def remember_payer(self, plan_id: str, payer: Payer) -> None:
        """Record a plan's payer block (off-chain metadata that remittance needs) beside
        the deployment, under ``payers`` of this chain's entry."""
        self.deployments.remember_payer(plan_id, payer)

    def recorded_payer(self, plan_id: str) -> Payer | None:
        """The payer block that `claims deploy` recorded here for the plan, if any."""
        return self.deployments.payer(plan_id)

    def deployed_engine(self) -> str | None:
        """The engine's address this state folder knows for the chain, if any."""
        return self.deployments.address("engine")

    def use_engine(self, address: str, plan_id: str) -> None:
        """Work with the engine at ``address`` from now on (a hospital's folder, from a key
        bundle), once it is known to hold the plan ``plan_id``."""
        from claimsengine.engine import Engine

        engine = Engine(self.chain, address)
        if not engine.events("PlanCreated", text_to_bytes32(plan_id)):
            raise NotFound(
                f"no plan {plan_id!r} on the engine at {address} on this chain",
                hint="check the --rpc URL: it must be the insurer's chain",
            )
        self.deployments.remember(engine=address)
        self.__dict__["engine"] = engine

    @property
    def has_engine(self) -> bool:
        return self._deployed is not None or "engine" in self.deployments.entry()

    @cached_property
    def engine(self) -> Engine:
        from claimsengine.engine import Engine

        return Engine(self.chain, self._engine_address())

    def _engine_address(self) -> str:
        address = self.deployments.address("engine")
        if not address:
            raise NotFound(
                "no claims engine is deployed on this chain",
                hint="run `claims init` (embedded) or `claims deploy PLAN.yaml` (--rpc)",
            )
        return address

    @cached_property
    def reads(self) -> EngineReads:
        """The engine's reads for read-only answers: from the snapshot of a read-only
        workspace on the embedded chain (engine_storage.py), else the engine's view calls.
        The two give the same values (tests/integration/test_engine_storage.py)."""
        if self._snapshot is not None and "engine" not in self.__dict__:
            from claimsengine.engine_storage import EngineStorage

            storage = EngineStorage.open(self._snapshot, self._engine_address())
            if storage is not None:
                return storage
        return self.engine

    def now(self) -> int:
        """The chain's now (the timestamp its next block would get)."""
        if self._snapshot is not None and "chain" not in self.__dict__:
            return self._snapshot.now()
        return self.chain.now()

    @cached_property
    def dev_token(self) -> DevToken:
        from claimsengine.engine import DevToken

        address = self.deployments.address("dev_token")
        if not address:
            raise NotFound("this chain has no dev token", hint="give the plan an ERC-20 address")
        return DevToken(self.chain, address)

    def engine_deployed(self) -> bool:
        """Whether the engine this folder names is on the chain (its chain's folder may have
        been deleted since, or a command that deployed it rolled back)."""
        return self.has_engine and self.engine.has_code()

    def setup(self, deployer: str = "insurer") -> Engine:
        """Deploy the engine and the dev token, and mint the insurer its dev supply.
        Does nothing when they are already deployed."""
        if self.engine_deployed():
            return self.engine
        from claimsengine.engine import DevToken, Engine

        token = DevToken.deploy(self.chain, deployer)
        engine = Engine.deploy(self.chain, deployer)
        assert isinstance(token, DevToken) and isinstance(engine, Engine)
        # The deployer owns the engine and is its first insurer (cli.md: `insurer add`).
        engine.set_insurer(deployer, self.chain.address_of(deployer), True)
        token.mint(deployer, self.chain.address_of("insurer"), DEV_SUPPLY_CENTS * 10**4)
        addresses = {"engine": engine.address, "dev_token": token.address}
        if self._commands and self.chain.rolls_back:
            # Remembered as the command commits (``command``): one that dies first leaves
            # no address of an engine the chain does not hold.
            self._deployed = addresses
        else:
            self.deployments.remember(**addresses)
        self.__dict__["engine"] = engine
        self.__dict__["dev_token"] = token
        return engine

    # -- keys, vault, journal ----------------------------------------------------------
    @cached_property
    def keys(self) -> KeyStore:
        folder = Path(os.environ.get("CLAIMS_KEYS_DIR") or self.state_dir / "keys")
        return KeyStore(folder)

    @cached_property
    def vault(self) -> RecordVault:
        from claimsengine.vault import RecordVault

        return RecordVault(self.state_dir / "vault", self.keys.vault_key())

    @cached_property
    def journal(self) -> Journal:
        from claimsengine.journal import Journal

        return Journal(self.state_dir / "journal.sqlite")

    @cached_property
    def roster(self) -> Roster:
        """The insurer's members per plan (encrypted), which `renew` enrols again."""
        from claimsengine.roster import Roster

        return Roster(self.state_dir, self.keys.vault_key())

    def pseudonym(
        self, plan_id: str, member_id: str, period: int, *, create: bool = False
    ) -> bytes:
        """The member's on-chain pseudonym in a benefit period, under the plan's key (pick
        the period of a service day with ``periods(plan_id).of(day)``). Only the insurer
        creates a plan's key (`create=True`, when deploying and enrolling): a hospital
        without it would make pseudonyms that match no enrolment, so that is an error here."""
        if not create and plan_id not in self.keys.plans():
            raise NotFound(
                f"this workspace has no pseudonym key for plan {plan_id}",
                hint=f"copy the plan's key from the insurer into {self.keys.path}",
            )
        return member_pseudonym(self.keys.pseudonym_key(plan_id), period, member_id)

    def pseudonym_on(self, plan_id: str, member_id: str, day: int) -> bytes:
        """The member's pseudonym in the benefit period that holds the service ``day``."""
        return self.pseudonym(plan_id, member_id, self.periods(plan_id).of(day))

    def periods(self, plan_id: str) -> BenefitPeriods:
        """The plan's benefit periods (its effective day and period length never change, so
        they are read from its PlanCreated event once)."""
        cache: dict[str, BenefitPeriods] = self.__dict__.setdefault("_periods", {})
        if plan_id not in cache:
            events = self.reads.events("PlanCreated", text_to_bytes32(plan_id))
            if not events:
                raise NotFound(
                    f"no plan {plan_id!r} on this chain", hint="deploy it with `claims deploy`"
                )
            args = events[0].args
            cache[plan_id] = BenefitPeriods(
                int(args["effective_day"]), int(args["benefit_period_days"])
            )
        return cache[plan_id]

    def record_salt(self, record: TreatmentRecord) -> bytes:
        """A salt that is secret (keyed) but deterministic for a record's content, so the
        same record always has the same commitment and is never submitted twice."""
        salt_key = hmac.new(
            self.keys.vault_key(), b"claimsengine record salt", hashlib.sha256
        ).digest()
        return hmac.new(salt_key, record.canonical_bytes(), hashlib.sha256).digest()

    def commitment(self, record: TreatmentRecord) -> tuple[bytes, bytes]:
        """(salt, commitment) of a record."""
        salt = self.record_salt(record)
        return salt, record_commitment(salt, record)

    # -- plans and providers, from events ---------------------------------------------
    def plan(self, plan_id: str) -> PlanInfo:
        events = self.engine.events("PlanCreated", text_to_bytes32(plan_id))
        if not events:
            raise NotFound(
                f"no plan {plan_id!r} on this chain", hint="deploy it with `claims deploy`"
            )
        event = events[0]
        token, scale = self.engine.token_of(plan_id)
        return PlanInfo(
            plan_id=plan_id,
            admin=self.engine.plan_admin(plan_id),
            token=token,
            token_scale=scale,
            effective_day=int(event.args["effective_day"]),
            benefit_period_days=int(event.args["benefit_period_days"]),
            block_number=event.block_number,
        )

    def plan_ids(self) -> list[str]:
        return [bytes32_to_text(e.args["plan_id"]) for e in self.engine.events("PlanCreated")]

    def providers(self, plan_id: str) -> dict[str, ProviderInfo]:
        """The plan's providers by provider id: the account is the provider's owner (first
        registered) account; payout, status and accounts as the latest events left them."""
        latest: dict[str, ProviderInfo] = {}
        names = ("ProviderRegistered", "ProviderAccountSet", "PayoutSet", "ProviderStatusSet")
        for event in self._provider_events(plan_id, names):
            provider_id = bytes32_to_text(event.args["provider_ref"])
            known = latest.get(provider_id)
            if event.name == "ProviderRegistered":
                if known is None:
                    account = str(event.args["account"])
                    latest[provider_id] = ProviderInfo(
                        provider_id, account, account, True, (account,)
                    )
            elif known is None:
                continue
            elif event.name == "ProviderAccountSet":
                account = str(event.args["account"])
                others = tuple(a for a in known.accounts if a != account)
                added = (account,) if event.args["added"] else ()
                latest[provider_id] = replace(known, accounts=others + added)
            elif event.name == "PayoutSet":
                latest[provider_id] = replace(known, payout=str(event.args["payout"]))
            else:
                latest[provider_id] = replace(known, active=bool(event.args["active"]))
        return latest

    def provider_ids_by_account(self, plan_id: str) -> dict[str, str]:
        """Every account that submits, or ever submitted, for one of the plan's providers,
        to its provider id (an account removed from a provider joins no other: its past
        claims stay that provider's)."""
        names = ("ProviderRegistered", "ProviderAccountSet")
        return {
            str(e.args["account"]): bytes32_to_text(e.args["provider_ref"])
            for e in self._provider_events(plan_id, names)
        }

    def _provider_events(self, plan_id: str, names: Sequence[str]) -> list[DecodedEvent]:
        """The plan's events of ``names``, in chain order."""
        topic = text_to_bytes32(plan_id)
        events = [e for name in names for e in self.engine.events(name, topic)]
        return sorted(events, key=lambda e: (e.block_number, e.log_index))

    def provider(self, plan_id: str, provider_id: str) -> ProviderInfo:
        providers = self.providers(plan_id)
        if provider_id not in providers:
            known = ", ".join(sorted(providers)) or "none"
            raise NotFound(
                f"provider {provider_id!r} is not registered for plan {plan_id}",
                hint=f"register it with `claims provider add`; registered: {known}",
            )
        return providers[provider_id]


def require_dev_chain(workspace: Workspace) -> None:
    if not workspace.has_engine:
        raise ChainError("the engine is not set up on this chain", hint="run `claims init`")


def check_state_version(state: Path) -> None:
    """Refuse a state folder made by an older version (one member pseudonym per plan)."""
    marker = state / STATE_FILE
    if marker.exists():
        try:
            version = json.loads(marker.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError, AttributeError):
            version = None
        if version == STATE_VERSION:
            return
        raise ClaimsError(
            f"{marker}: state folder version {version!r} is not this version's ({STATE_VERSION})",
            hint="use a state folder made by this version of claimsengine",
        )
    if any((state / name).exists() for name in _STATE_CONTENT):
        raise ClaimsError(
            f"the state folder {state} was made by an older claimsengine, which gave each "
            "member one pseudonym per plan; this version gives members a new pseudonym in "
            "each benefit period, and the two cannot be mixed",
            hint="start afresh: a new --state on a new chain (there is no migration)",
        )


def mark_state_version(state: Path) -> None:
    """Create the state folder if needed, and write its version when it has none."""
    state.mkdir(parents=True, exist_ok=True)
    marker = state / STATE_FILE
    if not marker.exists():
        with tempfile.NamedTemporaryFile("w", dir=state, delete=False, suffix=".tmp") as tmp:
            json.dump({"version": STATE_VERSION}, tmp)
            tmp.write("\n")
        os.replace(tmp.name, marker)


def _rpc_chain_key(state: Path, rpc: str, chain_id: int) -> str:
    """The deployments entry a node's chain is known by: ``rpc:<chain id>``; but the embedded
    chain's own (``embedded``) when the node at ``rpc`` is the `claims node` serving this
    very folder: its chain is the folder's chain, and what was deployed there before the node
    started (the engine, the plans' payer blocks) is still there."""
    from urllib.parse import urlsplit

    from claimsengine.chain.node import serving_url

    served = serving_url(state)
    if served is None:
        return f"rpc:{chain_id}"
    loopback = {"localhost": "127.0.0.1", "::1": "127.0.0.1"}

    def where(url: str) -> tuple[str, int | None]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        return loopback.get(host, host), parts.port

    return "embedded" if where(served) == where(rpc) else f"rpc:{chain_id}"
